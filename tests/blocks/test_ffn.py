import pytest
import torch
from torch import nn

from pyg_ext.blocks.activation import SquaredReLU
from pyg_ext.blocks.ffn import FFN


def reference(ffn: FFN, act: nn.Module) -> nn.Sequential:
    ref = nn.Sequential(nn.Linear(ffn.in_channels, ffn.hidden_channels), act,
                        nn.Linear(ffn.hidden_channels, ffn.out_channels))
    ref.load_state_dict({'0.weight': ffn.lin1.weight, '0.bias': ffn.lin1.bias,
                         '2.weight': ffn.lin2.weight, '2.bias': ffn.lin2.bias})
    return ref


@pytest.mark.parametrize('act,ref_act', [
    ('relu', nn.ReLU()), ('gelu', nn.GELU()), ('silu', nn.SiLU()),
    ('squared_relu', SquaredReLU()), ('tanh', nn.Tanh()),
])
def test_matches_hand_built_sequential(act, ref_act, spatiotemporal):
    ffn = FFN(3, 10, 4, act=act)
    ref = reference(ffn, ref_act)
    out = ffn(spatiotemporal)
    assert out.shape == (2, 6, 7, 4)
    torch.testing.assert_close(out, ref(spatiotemporal))
    # Position-wise: each slice of [B, T, N, F] is the same as on the flat [B*T*N, F] input.
    flat = ffn(spatiotemporal.reshape(-1, 3)).reshape(2, 6, 7, 4)
    torch.testing.assert_close(out, flat)


def test_matches_transformer_encoder_layer_feed_forward(sequence):
    torch_layer = nn.TransformerEncoderLayer(5, 1, dim_feedforward=12, dropout=0.0,
                                             activation='gelu', batch_first=True)
    ffn = FFN(5, 12)
    ffn.lin1.load_state_dict(torch_layer.linear1.state_dict())
    ffn.lin2.load_state_dict(torch_layer.linear2.state_dict())
    torch.testing.assert_close(ffn(sequence), torch_layer._ff_block(sequence))


def test_defaults_repr_and_module_activation():
    ffn = FFN(16)
    assert (ffn.hidden_channels, ffn.out_channels) == (64, 16)
    assert str(ffn) == "FFN(16, 64, 16, act='gelu')"
    prelu = nn.PReLU()
    ffn = FFN(4, 8, 2, act=prelu, dropout=0.1, bias=False)
    assert str(ffn) == "FFN(4, 8, 2, act='PReLU', dropout=0.1, bias=False)"
    assert ffn.act is prelu and ffn.lin1.bias is None and ffn.lin2.bias is None
    with torch.no_grad():
        prelu.weight.fill_(0.7)
    ffn.reset_parameters()
    assert prelu.weight.item() == pytest.approx(0.25)


def test_reset_parameters_redraws_weights():
    ffn = FFN(4, 8)
    before = [p.clone() for p in ffn.parameters()]
    ffn.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, ffn.parameters()))


def test_dropout_only_in_training():
    ffn = FFN(6, 32, dropout=0.5)
    x = torch.randn(40, 6)
    ffn.eval()
    torch.testing.assert_close(ffn(x), ffn(x))
    ffn.train()
    assert not torch.allclose(ffn(x), ffn(x))


def test_errors_name_the_fix():
    ffn = FFN(4, 8)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        ffn(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r'dropout must lie in \[0, 1\)'):
        FFN(4, dropout=1.0)
    with pytest.raises(ValueError, match='Unknown activation'):
        FFN(4, act='nope')


def test_gradients_reach_every_parameter():
    ffn = FFN(4, 8, 3, act='squared_relu')
    ffn(torch.randn(10, 4)).square().sum().backward()
    for name, p in ffn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_save_load_round_trip(tmp_path):
    ffn = FFN(4, 8, 3, act='silu').eval()
    x = torch.randn(5, 4)
    path = tmp_path / 'ffn.pt'
    torch.save(ffn, path)
    loaded = torch.load(path, weights_only=False)
    torch.testing.assert_close(loaded(x), ffn(x))
    other = FFN(4, 8, 3, act='silu').eval()
    other.load_state_dict(ffn.state_dict())
    torch.testing.assert_close(other(x), ffn(x))


def test_compiles_without_graph_breaks(graph_breaks):
    ffn = FFN(4, 8, act='squared_relu', dropout=0.1)
    count, why = graph_breaks(ffn, torch.randn(2, 3, 4))
    assert count == 0, why
