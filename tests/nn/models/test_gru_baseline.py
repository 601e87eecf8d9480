import pytest
import torch
from torch import nn

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.nn.models.gru_baseline import GRUBaseline


def _copy_from_torch(model: GRUBaseline, gru: nn.GRU) -> None:
    for i, cell in enumerate(model.rnn.cells):
        cell.load_state_dict(GRUCell.from_torch(gru, layer=i).state_dict())


@pytest.mark.parametrize('num_layers', [1, 2])
def test_matches_torch_gru_per_node(spatiotemporal, num_layers):
    x = spatiotemporal  # [B=2, T=6, N=7, F=3]
    model = GRUBaseline(3, 2, hidden_channels=5, horizon=4, num_layers=num_layers).eval()
    gru = nn.GRU(3, 5, num_layers=num_layers, batch_first=True)
    _copy_from_torch(model, gru)
    out = model(x)
    assert out.shape == (2, 4, 7, 2)
    # Reference: every node's series through torch's GRU, then the readout.
    B, T, N, F = x.shape
    _, h = gru(x.permute(0, 2, 1, 3).reshape(B * N, T, F))  # h: [L, B * N, H]
    ref = model.readout(h[-1]).view(B, N, 4, 2).permute(0, 2, 1, 3)
    torch.testing.assert_close(out, ref)


def test_graph_is_ignored_and_nodes_are_independent(spatiotemporal, directed_graph):
    edge_index, edge_weight, _ = directed_graph
    model = GRUBaseline(3, 1, hidden_channels=8, horizon=3).eval()
    out = model(spatiotemporal, edge_index, edge_weight)
    torch.testing.assert_close(out, model(spatiotemporal))
    perm = torch.randperm(7)
    torch.testing.assert_close(model(spatiotemporal[:, :, perm]), out[:, :, perm])
    torch.testing.assert_close(model(spatiotemporal[1:]), out[1:])  # batch invariance


def test_repr_reset_and_gradients(spatiotemporal):
    model = GRUBaseline(3, 1, hidden_channels=8, horizon=3)
    assert repr(model) == 'GRUBaseline(3, 1, hidden_channels=8, horizon=3)'
    assert repr(GRUBaseline(3, 1, 8, 3, num_layers=2)) == \
        'GRUBaseline(3, 1, hidden_channels=8, horizon=3, num_layers=2)'
    assert GRUBaseline.supports_teacher_forcing is False
    model(spatiotemporal).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    assert all(not torch.equal(a, p) for a, p in zip(before, model.parameters()))


def test_save_load_round_trip(tmp_path, spatiotemporal):
    model = GRUBaseline(3, 2, hidden_channels=4, horizon=2, num_layers=2).eval()
    torch.save(model, tmp_path / 'model.pt')
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    torch.testing.assert_close(loaded(spatiotemporal), model(spatiotemporal))
    other = GRUBaseline(3, 2, hidden_channels=4, horizon=2, num_layers=2).eval()
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other(spatiotemporal), model(spatiotemporal))


def test_compiles_without_graph_breaks(spatiotemporal, graph_breaks):
    model = GRUBaseline(3, 1, hidden_channels=8, horizon=3).eval()
    count, why = graph_breaks(model, spatiotemporal)
    assert count == 0, why


def test_errors_name_the_fix(spatiotemporal):
    model = GRUBaseline(3, 1, hidden_channels=8, horizon=3)
    with pytest.raises(ValueError, match=r'expected \[B, T_in, N, F_in\]'):
        model(spatiotemporal[0])
    with pytest.raises(ValueError, match='in_channels=4'):
        model(torch.randn(2, 6, 7, 4))
    with pytest.raises(ValueError, match='at least 1'):
        GRUBaseline(3, 1, horizon=0)
