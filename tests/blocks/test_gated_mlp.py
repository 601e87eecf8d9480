import pytest
import torch
from torch import nn

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.gated_mlp import GatedMLP
from pyg_ext.blocks.residual import Residual
from pyg_ext.blocks.spatial_gating_unit import SpatialGatingUnit


def test_identity_spatial_unit_reduces_to_residual_ffn(sequence):
    block = GatedMLP(5, 12, seq_len=11, spatial_unit=nn.Identity())
    assert (block.proj_in.out_features, block.proj_out.in_features) == (12, 12)
    with torch.no_grad():
        for p in block.parameters():
            p.normal_()
    reference = Residual(nn.Sequential(nn.LayerNorm(5), FFN(5, 12, 5, act='gelu')))
    norm, ffn = reference.module
    norm.load_state_dict(block.norm.state_dict())
    ffn.lin1.load_state_dict(block.proj_in.state_dict())
    ffn.lin2.load_state_dict(block.proj_out.state_dict())
    torch.testing.assert_close(block(sequence), reference(sequence))


def test_default_block_matches_hand_formula():
    x = torch.randn(2, 6, 7, 3, dtype=torch.float64)  # [B, T, N, F], gating across time
    block = GatedMLP(3, 8, seq_len=6, dim=1).double()
    with torch.no_grad():
        for p in block.parameters():
            p.normal_()
    sgu = block.spatial_unit
    assert isinstance(sgu, SpatialGatingUnit) and block.proj_out.in_features == 4

    h = nn.functional.layer_norm(x, (3,), block.norm.weight, block.norm.bias)
    h = h @ block.proj_in.weight.t() + block.proj_in.bias
    h = 0.5 * h * (1 + torch.erf(h / 2 ** 0.5))
    z1, z2 = h[..., :4], h[..., 4:]
    z2 = nn.functional.layer_norm(z2, (4,), sgu.norm.weight, sgu.norm.bias)
    z2 = torch.einsum('ij,bjnc->binc', sgu.weight, z2) + sgu.bias[:, None, None]
    expected = x + (z1 * z2) @ block.proj_out.weight.t() + block.proj_out.bias
    torch.testing.assert_close(block(x), expected)


def test_fresh_block_runs_on_sequences(sequence):
    block = GatedMLP(5, 16, seq_len=11)
    out = block(sequence)
    assert out.shape == sequence.shape


def test_causal_spatial_unit_is_injected():
    block = GatedMLP(4, 8, seq_len=9, spatial_unit=SpatialGatingUnit(8, 9, causal=True))
    with torch.no_grad():
        block.spatial_unit.weight.normal_()
    x = torch.randn(2, 9, 4)
    future = x.clone()
    future[:, 6:] = torch.randn(2, 3, 4)
    torch.testing.assert_close(block(future)[:, :6], block(x)[:, :6])
    assert not torch.allclose(block(future)[:, 6:], block(x)[:, 6:])


def test_repr():
    block = GatedMLP(8, 16, seq_len=10)
    assert str(block) == ('GatedMLP(8, 16, seq_len=10, '
                          'spatial_unit=SpatialGatingUnit(16, seq_len=10, dim=-2))')
    block = GatedMLP(8, 16, seq_len=10, spatial_unit=nn.Identity())
    assert str(block) == 'GatedMLP(8, 16, seq_len=10, spatial_unit=Identity())'


def test_errors_name_the_fix():
    block = GatedMLP(4, 8, seq_len=5)
    with pytest.raises(ValueError, match='build the layer with in_channels=3'):
        block(torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match='build it with seq_len=6'):
        block(torch.randn(2, 6, 4))
    with pytest.raises(ValueError, match="give the unit an 'out_channels' attribute equal to"):
        GatedMLP(4, 8, seq_len=5, spatial_unit=nn.Linear(8, 3))(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match='even number of channels'):
        GatedMLP(4, 7, seq_len=5)


def test_reset_parameters_resets_the_spatial_unit():
    block = GatedMLP(4, 8, seq_len=5)
    with torch.no_grad():
        for p in block.parameters():
            p.normal_()
    block.reset_parameters()
    torch.testing.assert_close(block.spatial_unit.bias, torch.ones(5))
    torch.testing.assert_close(block.norm.weight, torch.ones(4))
    assert block.spatial_unit.weight.abs().max() <= 1e-3 / 5


def test_gradients_reach_every_parameter():
    block = GatedMLP(4, 8, seq_len=5)
    block(torch.randn(3, 5, 4)).square().sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_save_load_round_trip(tmp_path):
    block = GatedMLP(4, 8, seq_len=5)
    x = torch.randn(3, 5, 4)
    path = tmp_path / 'gmlp.pt'
    torch.save(block, path)
    torch.testing.assert_close(torch.load(path, weights_only=False)(x), block(x))


def test_compiles_without_graph_breaks(graph_breaks):
    block = GatedMLP(4, 8, seq_len=6, dim=1)
    count, why = graph_breaks(block, torch.randn(2, 6, 3, 4))
    assert count == 0, why
