import pytest
import torch
from torch.testing import assert_close

from pyg_ext.nn.conv.node_adaptive_conv import NodeAdaptiveConv
from pyg_ext.nn.conv.node_filters import NodeFilters

TOL = dict(atol=1e-5, rtol=1e-5)
N, D = 6, 4


def agcrn_reference(conv, x, adj, emb):
    """AGCRN's AVWGCN, written as in the authors' code: stacked supports [I, A, 2A^2 - I, ...],
    node weights einsum('nd,dkio->nkio'), x_g einsum('knm,bmc->bknc')."""
    supports = [torch.eye(adj.size(0)), adj]
    for _ in range(2, conv.K):
        supports.append(2 * adj @ supports[-1] - supports[-2])
    supports = torch.stack(supports[:conv.K])  # [K, N, N]
    weights = torch.einsum('nd,dkio->nkio', emb, conv.weight_pool)
    bias = emb @ conv.bias_pool
    x_g = torch.einsum('knm,bmc->bknc', supports, x).permute(0, 2, 1, 3)  # [B, N, K, C]
    return torch.einsum('bnki,nkio->bno', x_g, weights) + bias


def inputs(B=3, F=5):
    adj = torch.relu(torch.randn(N, N)).softmax(dim=1)
    return torch.randn(B, N, F), adj, torch.randn(N, D)


def test_repr_and_parameters():
    conv = NodeAdaptiveConv(5, 8, K=2, embedding_dim=D)
    assert str(conv) == 'NodeAdaptiveConv(5, 8, K=2, embedding_dim=4)'
    assert conv.weight_pool.shape == (D, 2, 5, 8) and conv.bias_pool.shape == (D, 8)
    assert NodeAdaptiveConv(5, 8, 2, D, bias=False).bias_pool is None


@pytest.mark.parametrize('K', [1, 2, 3])
@pytest.mark.parametrize('F', [5, 40])  # K F <= STACK_MAX (stacked polynomials) or above
def test_equals_agcrn_formula(K, F):
    conv = NodeAdaptiveConv(F, 8, K, D)
    torch.nn.init.normal_(conv.bias_pool)
    x, adj, emb = inputs(F=F)
    assert_close(conv(x, adj, emb), agcrn_reference(conv, x, adj, emb), **TOL)


@pytest.mark.parametrize('K', [2, 3])
@pytest.mark.parametrize('bias', [True, False])
def test_stacked_polynomials_equal_one_product_per_polynomial(K, bias, monkeypatch):
    # Few input features take one matmul over the stacked polynomials: same output and
    # same gradients (parameters, graph, embeddings) as the per-polynomial products.
    assert 5 * K <= NodeAdaptiveConv.STACK_MAX  # the first pass takes the stacked path
    conv = NodeAdaptiveConv(5, 8, K, D, bias=bias)
    x, adj, emb = inputs()
    adj.requires_grad_()
    emb.requires_grad_()
    grad = torch.randn(3, N, 8)
    results = []
    for stack_max in (NodeAdaptiveConv.STACK_MAX, 0):
        monkeypatch.setattr(NodeAdaptiveConv, 'STACK_MAX', stack_max)
        out = conv(x, adj, NodeFilters(emb))
        tensors = [adj, emb, *conv.parameters()]
        results.append((out, torch.autograd.grad(out, tensors, grad)))
    (out_s, grads_s), (out_p, grads_p) = results
    assert_close(out_s, out_p, **TOL)
    for g_s, g_p in zip(grads_s, grads_p):
        assert_close(g_s, g_p, **TOL)


def test_every_node_has_its_own_filter():
    # Same features on two nodes, no graph: outputs differ because the embeddings differ.
    conv = NodeAdaptiveConv(5, 8, K=1, embedding_dim=D)
    x = torch.randn(1, 5).expand(N, 5)
    out = conv(x, torch.eye(N), torch.randn(N, D))
    assert not torch.allclose(out[0], out[1])


def test_leading_dimensions_and_layout():
    conv = NodeAdaptiveConv(5, 8, K=3, embedding_dim=D)
    x, adj, emb = inputs()
    x = torch.randn(2, 4, N, 5)  # [B, T, N, F]
    out = conv(x, adj, emb)
    assert out.shape == (2, 4, N, 8)
    assert out.movedim(-2, 0).is_contiguous()  # nodes first in memory
    for t in range(4):
        assert_close(out[:, t], conv(x[:, t], adj, emb), **TOL)
    assert_close(conv(x[0, 0], adj, emb), out[0, 0], **TOL)  # [N, F]


def test_gradients_and_save_load(reloaded):
    conv = NodeAdaptiveConv(5, 8, K=2, embedding_dim=D)
    x, adj, emb = inputs()
    adj.requires_grad_()
    emb.requires_grad_()
    conv(x, adj, emb).pow(2).sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert adj.grad.abs().sum() > 0 and emb.grad.abs().sum() > 0
    assert_close(reloaded(conv)(x, adj, emb), conv(x, adj, emb))


def test_generated_filters_have_glorot_scale():
    conv = NodeAdaptiveConv(64, 64, K=2, embedding_dim=10)
    weight = torch.randn(500, 10) @ conv.weight_pool.view(10, -1)
    bound = (6.0 / (2 * 64 + 64)) ** 0.5
    assert abs(weight.std().item() - bound / 3 ** 0.5) < 0.1 * bound


def test_compiles_without_graph_breaks(graph_breaks):
    conv = NodeAdaptiveConv(5, 8, K=3, embedding_dim=D)
    count, why = graph_breaks(conv, *inputs())
    assert count == 0, why


def test_errors():
    with pytest.raises(ValueError, match='must be >= 1'):
        NodeAdaptiveConv(5, 8, K=0, embedding_dim=D)
    conv = NodeAdaptiveConv(5, 8, K=2, embedding_dim=D)
    x, adj, emb = inputs()
    with pytest.raises(ValueError, match='in_channels=3'):
        conv(torch.randn(2, N, 3), adj, emb)
    with pytest.raises(ValueError, match=r'dense \[N, N\]'):
        conv(x, adj[:-1], emb)
    with pytest.raises(ValueError, match='one embedding per node'):
        conv(x, adj, emb[:, :2])
    with pytest.raises(ValueError, match='add a feature dimension'):
        conv(torch.randn(N), adj, emb)


def test_filters_are_generated_from_the_pools():
    conv = NodeAdaptiveConv(5, 8, K=3, embedding_dim=D)
    torch.nn.init.normal_(conv.bias_pool)
    emb = torch.randn(N, D)
    weights, bias = conv.filters(emb)
    expected = torch.einsum('nd,dkio->nkio', emb, conv.weight_pool)
    assert len(weights) == 3
    for k in range(3):
        assert weights[k].shape == (N, 5, 8) and weights[k].mT.is_contiguous()
        assert_close(weights[k], expected[:, k], **TOL)
    assert_close(bias, emb @ conv.bias_pool)
    assert NodeAdaptiveConv(5, 8, 2, D, bias=False).filters(emb)[1] is None


@pytest.mark.parametrize('bias', [True, False])
def test_node_filters_equal_node_embeddings(bias):
    conv = NodeAdaptiveConv(5, 8, K=3, embedding_dim=D, bias=bias)
    x, adj, emb = inputs()
    nf = NodeFilters(emb)
    assert torch.equal(conv(x, adj, nf), conv(x, adj, emb))
    assert torch.equal(conv(x[0], adj, nf), conv(x[0], adj, emb))  # reused: still equal
    assert len(nf) == 1


def test_no_zero_filled_filter_gradients():
    # The backward of slicing the filters (weight[:, k]) zero-fills a gradient of all K
    # filters per slice: no fill_ of that size may appear.
    conv = NodeAdaptiveConv(5, 8, K=3, embedding_dim=D)
    x, adj, emb = inputs()
    emb.requires_grad_()
    out = conv(x, adj, emb)
    with torch.profiler.profile(record_shapes=True) as prof:
        out.square().sum().backward()
    fills = [e.input_shapes for e in prof.events() if e.name in ('aten::fill_', 'aten::zero_')]
    assert [N, 3, 5, 8] not in [s[0] for s in fills if s]


def test_compiles_without_graph_breaks_with_node_filters(graph_breaks):
    conv = NodeAdaptiveConv(5, 8, K=2, embedding_dim=D)

    def two_steps(x, adj, emb):
        nf = NodeFilters(emb)
        return conv(torch.tanh(conv(x, adj, nf)[..., :5]), adj, nf)

    x, adj, emb = inputs()
    count, why = graph_breaks(two_steps, x, adj, emb)
    assert count == 0, why
    assert_close(torch.compile(two_steps, backend='eager')(x, adj, emb),
                 two_steps(x, adj, emb))


def test_node_filters_errors():
    conv = NodeAdaptiveConv(5, 8, K=2, embedding_dim=D)
    x, adj, emb = inputs()
    with pytest.raises(ValueError, match='one embedding per node'):
        conv(x, adj, NodeFilters(emb[:-1]))
