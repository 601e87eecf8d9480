import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.residual import Residual


class WithExtra(nn.Module):
    # A branch that returns (out, extra), like MoE's (out, aux_loss).
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x), x.square().mean()


def test_identity_shortcut_matches_formula(spatiotemporal):
    block = Residual(FFN(3, 8))
    out = block(spatiotemporal)
    torch.testing.assert_close(out, spatiotemporal + block.module(spatiotemporal))
    assert block.projection is None


def test_extra_arguments_reach_the_module(directed_graph):
    edge_index, edge_weight, num_nodes = directed_graph
    x = torch.randn(num_nodes, 4)
    block = Residual(GCNConv(4, 4))
    out = block(x, edge_index, edge_weight=edge_weight)
    torch.testing.assert_close(out, x + block.module(x, edge_index, edge_weight))


def test_linear_projection_from_channels():
    block = Residual(FFN(4, 8, 6), in_channels=4, out_channels=6)
    assert isinstance(block.projection, nn.Linear) and block.projection.bias is None
    x = torch.randn(2, 5, 4)
    expected = x @ block.projection.weight.t() + block.module(x)
    torch.testing.assert_close(block(x), expected)
    # Equal channel counts keep the identity shortcut.
    assert Residual(FFN(4), in_channels=4, out_channels=4).projection is None


def test_given_projection_is_used():
    proj = nn.Linear(4, 6)
    block = Residual(FFN(4, 8, 6), projection=proj)
    assert block.projection is proj
    x = torch.randn(7, 4)
    torch.testing.assert_close(block(x), proj(x) + block.module(x))


def test_tuple_branch_keeps_its_extras():
    block = Residual(WithExtra())
    x = torch.randn(5, 3)
    out, extra = block(x)
    torch.testing.assert_close(out, x + block.module.lin(x))
    torch.testing.assert_close(extra, x.square().mean())


def test_dropout_on_the_branch_only_in_training():
    block = Residual(FFN(4, 16), dropout=0.5)
    x = torch.randn(200, 4)
    block.eval()
    branch = block.module(x)
    torch.testing.assert_close(block(x), x + branch)
    block.train()
    delta = block(x) - x  # either 0 or branch / (1 - p)
    dropped = delta.abs() < 1e-7
    assert 0.3 < dropped.float().mean() < 0.7
    torch.testing.assert_close(delta[~dropped], 2 * branch[~dropped])


def test_repr():
    assert str(Residual(FFN(4))) == "Residual(FFN(4, 16, 4, act='gelu'))"
    block = Residual(FFN(4, 8, 6), dropout=0.1, in_channels=4, out_channels=6)
    assert str(block) == ("Residual(FFN(4, 8, 6, act='gelu'), projection=Linear(in_features=4, "
                          "out_features=6, bias=False), dropout=0.1)")


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='pass projection=<module mapping the input'):
        Residual(FFN(4, 8, 6))(torch.randn(3, 4))
    with pytest.raises(ValueError, match='in_channels=4, out_channels=6'):
        Residual(FFN(4, 8, 6))(torch.randn(3, 4))
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        Residual(FFN(4), in_channels=4)(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r'dropout must lie in \[0, 1\)'):
        Residual(FFN(4), dropout=-0.1)


def test_reset_parameters_resets_branch_and_projection():
    block = Residual(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), in_channels=4, out_channels=6)
    before = [p.clone() for p in block.parameters()]
    block.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, block.parameters()))


def test_gradients_reach_every_parameter():
    block = Residual(FFN(4, 8, 6), in_channels=4, out_channels=6)
    block(torch.randn(10, 4)).square().sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_save_load_round_trip(tmp_path):
    block = Residual(FFN(4, 8, 6), in_channels=4, out_channels=6).eval()
    x = torch.randn(5, 4)
    path = tmp_path / 'residual.pt'
    torch.save(block, path)
    torch.testing.assert_close(torch.load(path, weights_only=False)(x), block(x))


def test_compiles_without_graph_breaks(graph_breaks):
    block = Residual(FFN(4, 8, 6), dropout=0.1, in_channels=4, out_channels=6)
    count, why = graph_breaks(block, torch.randn(2, 3, 4))
    assert count == 0, why
