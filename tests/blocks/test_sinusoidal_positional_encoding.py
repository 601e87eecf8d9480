import math

import pytest
import torch

from pyg_ext.blocks.sinusoidal_positional_encoding import SinusoidalPositionalEncoding


@pytest.mark.parametrize('channels', [6, 7])
def test_table_is_the_vaswani_formula(channels):
    pe = SinusoidalPositionalEncoding(channels, max_len=20)
    for t in range(20):
        for c in range(channels):
            i = c // 2  # PE(t, 2i) = sin(t / 10000^(2i/d)), PE(t, 2i+1) = cos(...)
            angle = t / 10000 ** (2 * i / channels)
            expected = math.sin(angle) if c % 2 == 0 else math.cos(angle)
            assert pe.pe[t, c].item() == pytest.approx(expected, abs=1e-6)


def test_buffers_not_parameters_and_added_along_dim(sequence, spatiotemporal):
    pe = SinusoidalPositionalEncoding(5, max_len=32)
    assert list(pe.parameters()) == [] and 'pe' in dict(pe.named_buffers())
    assert 'pe' not in pe.state_dict()  # rebuilt, never saved
    torch.testing.assert_close(pe(sequence), sequence + pe.pe[:11])  # [B, T, F], dim=1
    over_time = SinusoidalPositionalEncoding(3, dim=1)  # [B, T, N, F]: same code per node
    out = over_time(spatiotemporal)
    for t in range(6):
        torch.testing.assert_close(out[:, t], spatiotemporal[:, t] + over_time.pe[t])
    over_nodes = SinusoidalPositionalEncoding(3, dim=-2)
    out = over_nodes(spatiotemporal)
    for n in range(7):
        torch.testing.assert_close(out[:, :, n], spatiotemporal[:, :, n] + over_nodes.pe[n])


def test_gradient_save_load_repr_and_reset(tmp_path, sequence, graph_breaks):
    pe = SinusoidalPositionalEncoding(5, max_len=16)
    assert str(pe) == 'SinusoidalPositionalEncoding(5, max_len=16, dim=1)'
    x = sequence.clone().requires_grad_()
    pe(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))
    torch.save(pe, tmp_path / 'pe.pt')
    loaded = torch.load(tmp_path / 'pe.pt', weights_only=False)
    torch.testing.assert_close(loaded(sequence), pe(sequence))
    table = pe.pe.clone()
    pe.pe.zero_()
    pe.reset_parameters()
    torch.testing.assert_close(pe.pe, table)
    count, why = graph_breaks(pe, sequence)
    assert count == 0, why


def test_errors_name_the_fix(sequence):
    with pytest.raises(ValueError, match='build it with max_len>=11'):
        SinusoidalPositionalEncoding(5, max_len=10)(sequence)
    with pytest.raises(ValueError, match='build it with channels=5'):
        SinusoidalPositionalEncoding(4)(sequence)
    with pytest.raises(ValueError, match='the last axis holds the features'):
        SinusoidalPositionalEncoding(5, dim=2)(sequence)
