import pytest
import torch

from pyg_ext.blocks.spatial_gating_unit import SpatialGatingUnit


def randomise(unit: SpatialGatingUnit) -> None:
    with torch.no_grad():
        for p in unit.parameters():
            p.normal_()


def hand_sgu(unit: SpatialGatingUnit, z: torch.Tensor, dim: int) -> torch.Tensor:
    half = z.size(-1) // 2
    z1, z2 = z[..., :half], z[..., half:]
    mean = z2.mean(-1, keepdim=True)
    var = ((z2 - mean) ** 2).mean(-1, keepdim=True)
    z2 = (z2 - mean) / torch.sqrt(var + 1e-5) * unit.norm.weight + unit.norm.bias
    w = unit.weight.detach().clone()
    if unit.causal:
        n = w.size(0)
        w = w * (torch.arange(n)[:, None] >= torch.arange(n)[None, :])  # W_ij = 0 for j > i
    z2 = z2.movedim(dim, 0)  # spatial axis first: [T, ...]
    mixed = torch.einsum('ij,j...->i...', w, z2)
    bias = unit.bias.reshape(-1, *([1] * (z2.dim() - 1)))
    return z1 * (mixed + bias).movedim(0, dim)


def test_formula_by_hand():
    z = torch.randn(3, 11, 8)
    unit = SpatialGatingUnit(8, seq_len=11)
    randomise(unit)
    out = unit(z)
    assert out.shape == (3, 11, 4)
    torch.testing.assert_close(out, hand_sgu(unit, z, dim=1))


@pytest.mark.parametrize('dim,axis,length', [(1, 1, 6), (-2, 2, 7), (-3, 1, 6), (0, 0, 2)])
def test_any_spatial_axis_of_spatiotemporal_input(dim, axis, length):
    z = torch.randn(2, 6, 7, 4, dtype=torch.float64)  # [B, T, N, F]
    unit = SpatialGatingUnit(4, seq_len=length, dim=dim).double()
    randomise(unit)
    out = unit(z)
    assert out.shape == (2, 6, 7, 2)
    torch.testing.assert_close(out, hand_sgu(unit, z, dim=axis))


def test_fresh_unit_is_close_to_first_half():
    unit = SpatialGatingUnit(16, seq_len=10)
    assert unit.weight.abs().max() <= 1e-3 / 10
    torch.testing.assert_close(unit.bias, torch.ones(10))
    z = torch.randn(4, 10, 16)
    torch.testing.assert_close(unit(z), z[..., :8], atol=1e-2, rtol=1e-2)


def test_causal_unit_ignores_the_future():
    unit = SpatialGatingUnit(6, seq_len=9, causal=True)
    randomise(unit)
    z = torch.randn(2, 9, 6)
    out = unit(z)
    torch.testing.assert_close(out, hand_sgu(unit, z, dim=1))
    future = z.clone()
    future[:, 5:] = torch.randn(2, 4, 6)
    changed = unit(future)
    torch.testing.assert_close(changed[:, :5], out[:, :5])
    assert not torch.allclose(changed[:, 5:], out[:, 5:])
    # The non-causal unit does read the future.
    unit.causal, unit.mask = False, None
    assert not torch.allclose(unit(future)[:, :5], unit(z)[:, :5])


def test_repr():
    assert str(SpatialGatingUnit(8, 12)) == 'SpatialGatingUnit(8, seq_len=12, dim=-2)'
    assert (str(SpatialGatingUnit(8, 12, dim=1, causal=True))
            == 'SpatialGatingUnit(8, seq_len=12, dim=1, causal=True)')
    assert SpatialGatingUnit(8, 12).out_channels == 4


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match=r'with an even number of channels \(e.g. 8'):
        SpatialGatingUnit(7, 5)
    unit = SpatialGatingUnit(4, 5)
    with pytest.raises(ValueError, match='build it with seq_len=6 or pad/crop the sequence to 5'):
        unit(torch.randn(2, 6, 4))
    with pytest.raises(ValueError, match='build the layer with in_channels=6'):
        unit(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match='does not name a spatial axis'):
        SpatialGatingUnit(4, 4, dim=-1)(torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match='does not name a spatial axis'):
        SpatialGatingUnit(4, 4, dim=2)(torch.randn(2, 4, 4))


def test_reset_parameters():
    unit = SpatialGatingUnit(4, 5)
    randomise(unit)
    unit.reset_parameters()
    assert unit.weight.abs().max() <= 1e-3 / 5
    torch.testing.assert_close(unit.bias, torch.ones(5))
    torch.testing.assert_close(unit.norm.weight, torch.ones(2))


def test_gradients_reach_every_parameter():
    unit = SpatialGatingUnit(4, 5, causal=True)
    unit(torch.randn(3, 5, 4)).square().sum().backward()
    for name, p in unit.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert (unit.weight.grad.triu(1) == 0).all()  # masked weights get no gradient


def test_save_load_round_trip(tmp_path):
    unit = SpatialGatingUnit(4, 5, causal=True)
    randomise(unit)
    z = torch.randn(3, 5, 4)
    path = tmp_path / 'sgu.pt'
    torch.save(unit, path)
    torch.testing.assert_close(torch.load(path, weights_only=False)(z), unit(z))
    other = SpatialGatingUnit(4, 5, causal=True)
    other.load_state_dict(unit.state_dict())
    torch.testing.assert_close(other(z), unit(z))


@pytest.mark.parametrize('causal', [False, True])
def test_compiles_without_graph_breaks(causal, graph_breaks):
    unit = SpatialGatingUnit(4, 6, dim=1, causal=causal)
    count, why = graph_breaks(unit, torch.randn(2, 6, 3, 4))
    assert count == 0, why
