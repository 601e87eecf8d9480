import pytest
import torch
from torch import nn

from pyg_ext.blocks.relative_positional_encoding import RelativePositionalEncoding
from pyg_ext.blocks.transformer_layer import TransformerLayer

B, L, C, H = 3, 7, 16, 4


def copy_from_torch(layer: TransformerLayer, ref: nn.TransformerEncoderLayer):
    with torch.no_grad():
        layer.attn.in_proj.weight.copy_(ref.self_attn.in_proj_weight)
        layer.attn.in_proj.bias.copy_(ref.self_attn.in_proj_bias)
        layer.attn.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
        layer.ffn.lin1.load_state_dict(ref.linear1.state_dict())
        layer.ffn.lin2.load_state_dict(ref.linear2.state_dict())
        layer.norm1.load_state_dict(ref.norm1.state_dict())
        layer.norm2.load_state_dict(ref.norm2.state_dict())


@pytest.mark.parametrize('train', [False, True])
@pytest.mark.parametrize('norm_first', [False, True])
def test_matches_torch_encoder_layer(norm_first, train):
    ref = nn.TransformerEncoderLayer(C, H, dim_feedforward=24, dropout=0.0, activation='gelu',
                                     batch_first=True, norm_first=norm_first)
    layer = TransformerLayer(C, H, ffn_channels=24, norm_first=norm_first)
    copy_from_torch(layer, ref)
    with torch.no_grad():  # non-trivial norms
        for norm in (ref.norm1, ref.norm2):
            norm.weight.normal_()
            norm.bias.normal_()
    copy_from_torch(layer, ref)
    ref.train(train)
    layer.train(train)
    x = torch.randn(B, L, C)
    torch.testing.assert_close(layer(x), ref(x))
    kpm = torch.zeros(B, L, dtype=torch.bool)
    kpm[0, -2:] = True
    causal = torch.ones(L, L, dtype=torch.bool).triu(1)
    torch.testing.assert_close(layer(x, key_padding_mask=kpm, is_causal=True),
                               ref(x, src_mask=causal, src_key_padding_mask=kpm, is_causal=True))


def test_primer_with_identity_conv_equals_squared_relu_layer():
    primer = TransformerLayer(C, H, primer=True)
    assert primer.ffn.act_name == 'squared_relu'
    plain = TransformerLayer(C, H, act='squared_relu')
    plain.load_state_dict(primer.state_dict(), strict=False)
    x = torch.randn(B, L, C)
    assert not torch.allclose(primer(x, is_causal=True), plain(x, is_causal=True))
    conv = primer.attn.qkv_conv
    assert conv.weight.shape == (3 * C, 1, 3)  # depthwise: one kernel per Q, K, V channel
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :, -1] = 1.0  # causal kernel: the last tap is the current step
        conv.bias.zero_()
    torch.testing.assert_close(primer(x, is_causal=True), plain(x, is_causal=True))


@pytest.mark.parametrize('kwargs', [dict(), dict(primer=True), dict(norm_first=False)])
def test_causal_output_ignores_the_future(kwargs):
    layer = TransformerLayer(C, H, **kwargs)
    x = torch.randn(B, L, C, requires_grad=True)
    out = layer(x, is_causal=True) @ torch.randn(C)  # a projection: a LayerNorm sums to 0
    for t in range(L):
        grad, = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        assert grad[:, t + 1:].abs().sum() == 0
        assert grad[:, :t + 1].abs().sum() > 0
    # Without the mask, attention sees the future.
    grad, = torch.autograd.grad((layer(x)[:, 0] @ torch.randn(C)).sum(), x)
    assert grad[:, 1:].abs().sum() > 0


def test_attention_over_nodes_equals_folding(spatiotemporal):
    layer = TransformerLayer(8, 2, dim=2)
    x = torch.randn(2, 6, 5, 8)  # [B, T, N, F]
    folded = TransformerLayer(8, 2, dim=1)
    folded.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x), folded(x.reshape(12, 5, 8)).view(2, 6, 5, 8))


@pytest.mark.parametrize('kwargs', [dict(primer=True), dict(score='additive'), dict(
    positional=RelativePositionalEncoding(4, 2), norm_first=False)])
def test_gradients_reach_every_parameter(kwargs):
    layer = TransformerLayer(C, H, **kwargs)
    layer(torch.randn(B, L, C), is_causal=True).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dropout_reset_repr_and_save_load(tmp_path):
    layer = TransformerLayer(C, H, dropout=0.2, primer=True)
    assert str(layer) == ("TransformerLayer(16, heads=4, ffn_channels=64, dropout=0.2, "
                          "act='squared_relu', primer=True)")
    assert str(TransformerLayer(C, H, norm_first=False, dim=2)) == \
        "TransformerLayer(16, heads=4, ffn_channels=64, norm_first=False, act='gelu', dim=2)"
    x = torch.randn(B, L, C)
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    torch.save(layer, tmp_path / 'layer.pt')
    loaded = torch.load(tmp_path / 'layer.pt', weights_only=False)
    torch.testing.assert_close(loaded(x, is_causal=True), layer(x, is_causal=True))
    before = [p.detach().clone() for p in layer.parameters()]
    layer.reset_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(before, layer.parameters()) if a.dim() > 1]
    assert all(changed)


def test_compiles_without_graph_breaks(graph_breaks):
    x = torch.randn(B, L, C)
    for layer in (TransformerLayer(C, H, dropout=0.1), TransformerLayer(C, H, primer=True)):
        count, why = graph_breaks(layer, x, is_causal=True)
        assert count == 0, why


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='must be divisible by heads=3'):
        TransformerLayer(C, 3)
    with pytest.raises(ValueError, match='Unknown activation'):
        TransformerLayer(C, H, act='nope')
    with pytest.raises(ValueError, match='build the layer with in_channels=8'):
        TransformerLayer(C, H)(torch.randn(B, L, 8))
