import pytest
import torch

from pyg_ext.blocks.attention_patterns import sliding_window_pattern
from pyg_ext.nn.temporal.sparse_time_attention import SparseTimeAttention
from pyg_ext.nn.temporal.st_transformer_layer import STTransformerLayer


def test_composition_and_mask():
    layer = STTransformerLayer(8, heads=2).double().eval()
    x = torch.randn(2, 5, 4, 8, dtype=torch.double)
    mask = torch.ones(4, 4, dtype=torch.bool).triu(1)  # node i sees nodes j <= i
    out = layer(x, mask)
    expected = layer.nodes(layer.time(x), attn_mask=mask)
    assert torch.allclose(out, expected)
    x = x.requires_grad_()
    grad, = torch.autograd.grad(layer(x, mask)[:, :, 1].sum(), x)
    assert grad[:, :, 2:].abs().sum() == 0 and grad[:, :, :2].abs().sum() > 0
    assert str(layer) == 'STTransformerLayer(8, heads=2)'


def test_sparse_pattern_equals_dense_with_full_window():
    dense = STTransformerLayer(8, heads=2).double().eval()
    sparse = STTransformerLayer(8, heads=2, pattern=sliding_window_pattern(6)).double().eval()
    assert isinstance(sparse.time.attn, SparseTimeAttention)
    sparse.nodes.load_state_dict(dense.nodes.state_dict())
    with torch.no_grad():
        for name in ('ffn', 'norm1', 'norm2'):
            getattr(sparse.time, name).load_state_dict(getattr(dense.time, name).state_dict())
        sparse.time.attn.qkv.weight.copy_(dense.time.attn.in_proj.weight)
        sparse.time.attn.qkv.bias.copy_(dense.time.attn.in_proj.bias)
        sparse.time.attn.out.weight.copy_(dense.time.attn.out_proj.weight)
        sparse.time.attn.out.bias.copy_(dense.time.attn.out_proj.bias)
    x = torch.randn(2, 6, 3, 8, dtype=torch.double)
    assert torch.allclose(sparse(x), dense(x))
    with pytest.raises(ValueError, match='causal=True'):
        sparse.time.attn(x, is_causal=True)


def test_gradients_save_load(reloaded):
    layer = STTransformerLayer(8, heads=2, causal=True)
    x = torch.randn(2, 5, 4, 8)
    layer(x).square().sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert torch.allclose(reloaded(layer)(x), layer(x))
