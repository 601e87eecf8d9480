import pytest
import torch

from pyg_ext.blocks.learned_positional_encoding import LearnedPositionalEncoding


def test_adds_one_learned_vector_per_position(sequence, spatiotemporal):
    pe = LearnedPositionalEncoding(5, max_len=16)
    assert pe.weight.shape == (16, 5)
    torch.testing.assert_close(pe(sequence), sequence + pe.weight[:11])
    over_time = LearnedPositionalEncoding(3, max_len=6, dim=1)  # [B, T, N, F]
    out = over_time(spatiotemporal)
    for t in range(6):
        torch.testing.assert_close(out[:, t], spatiotemporal[:, t] + over_time.weight[t])
    over_nodes = LearnedPositionalEncoding(3, max_len=7, dim=2)
    out = over_nodes(spatiotemporal)
    for n in range(7):
        torch.testing.assert_close(out[:, :, n], spatiotemporal[:, :, n] + over_nodes.weight[n])


def test_gradients_reset_save_load_and_repr(tmp_path, sequence, graph_breaks):
    pe = LearnedPositionalEncoding(5, max_len=16)
    assert str(pe) == 'LearnedPositionalEncoding(5, max_len=16, dim=1)'
    pe(sequence).square().sum().backward()
    assert pe.weight.grad[:11].abs().sum(-1).gt(0).all()
    assert pe.weight.grad[11:].abs().sum() == 0  # positions not seen get no gradient
    before = pe.weight.detach().clone()
    pe.reset_parameters()
    assert not torch.equal(before, pe.weight)
    assert pe.weight.std().item() == pytest.approx(0.02, rel=0.5)
    torch.save(pe, tmp_path / 'pe.pt')
    loaded = torch.load(tmp_path / 'pe.pt', weights_only=False)
    torch.testing.assert_close(loaded(sequence), pe(sequence))
    count, why = graph_breaks(pe, sequence)
    assert count == 0, why


def test_errors_name_the_fix(sequence):
    with pytest.raises(ValueError, match='build the encoding with max_len>=11'):
        LearnedPositionalEncoding(5, max_len=10)(sequence)
    with pytest.raises(ValueError, match='build it with channels=5'):
        LearnedPositionalEncoding(3, max_len=16)(sequence)
    with pytest.raises(ValueError, match='must be positive'):
        LearnedPositionalEncoding(3, max_len=0)
