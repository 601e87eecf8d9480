import math

import pytest
import torch
import torch_geometric.typing
from torch_geometric import EdgeIndex
from torch_geometric.nn import GATConv, GATv2Conv, Sequential, TransformerConv
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.blocks.additive_score import AdditiveScore
from pyg_ext.blocks.bilinear_score import BilinearScore
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')

TRANSFORMER = dict(score='scaled_dot', add_self_loops=False, value_weight=True,
                   root_weight=True, proj_bias=True, bias=False)


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` plus a self-loop 3 -> 3 (GAT drops it and adds its own) and an
    isolated node 7: (edge_index [2, E], edge_attr [E, 3], N)."""
    edge_index, _, num_nodes = directed_graph
    edge_index = torch.cat([edge_index, torch.tensor([[3], [3]])], dim=1)
    return edge_index, torch.randn(edge_index.size(1), 3), num_nodes + 1


def copy_gat(gat: GATConv, conv: GraphAttentionConv):
    """GATConv's weights into GraphAttentionConv; lin_edge then att_edge is one map F_E -> H."""
    H, D = gat.heads, gat.out_channels
    with torch.no_grad():
        if gat.lin is not None:
            conv.lin_key.weight.copy_(gat.lin.weight)
        else:
            conv.lin_key.weight.copy_(gat.lin_src.weight)
            conv.lin_query.weight.copy_(gat.lin_dst.weight)
        conv.score.att_query.copy_(gat.att_dst[0])
        conv.score.att_key.copy_(gat.att_src[0])
        if gat.lin_edge is not None:
            w = gat.lin_edge.weight.view(H, D, -1) * gat.att_edge.view(H, D, 1)
            conv.lin_edge.weight.copy_(w.sum(dim=1))
        if gat.res is not None:
            conv.lin_skip.weight.copy_(gat.res.weight)
        conv.bias.copy_(gat.bias)


def dense_reference(conv, x, edge_index, score_fn, self_loops=True):
    """softmax_j(score(q_i, k_j)) v_j over j -> i edges (and i itself), computed densely."""
    N, H, D = x.size(0), conv.heads, conv.out_channels
    allowed = torch.zeros(N, N, dtype=torch.bool)
    allowed[edge_index[1], edge_index[0]] = True
    if self_loops:
        allowed |= torch.eye(N, dtype=torch.bool)
    q = (x @ conv.lin_query.weight.t()).view(N, H, D).transpose(0, 1)  # [H, N, D]
    k = (x @ conv.lin_key.weight.t()).view(N, H, D).transpose(0, 1)  # [H, N, D]
    scores = score_fn(q, k).masked_fill(~allowed, float('-inf'))  # [H, N, N]
    attn = torch.nan_to_num(scores.softmax(dim=-1))  # isolated nodes: 0
    out = (attn @ k).transpose(0, 1).reshape(N, H * D)  # values = keys
    return out + conv.bias


def test_repr():
    assert str(GraphAttentionConv(16, 32, heads=2)) == \
        "GraphAttentionConv(16, 32, heads=2, score='additive')"
    assert str(GraphAttentionConv((16, 8), 4, score='scaled_dot', concat=False, edge_dim=3)) == \
        "GraphAttentionConv((16, 8), 4, heads=1, score='scaled_dot', concat=False, edge_dim=3)"
    assert str(GraphAttentionConv(8, 4, 2, score=BilinearScore(4, 2))) == \
        'GraphAttentionConv(8, 4, heads=2, score=BilinearScore(4, heads=2))'


@pytest.mark.parametrize('heads', [1, 3])
@pytest.mark.parametrize('concat', [True, False])
@pytest.mark.parametrize('edge_dim', [None, 3])
def test_additive_equals_gatconv(graph, heads, concat, edge_dim):
    edge_index, edge_attr, N = graph
    edge_attr = edge_attr if edge_dim else None
    gat = GATConv(5, 4, heads=heads, concat=concat, edge_dim=edge_dim, residual=True)
    torch.nn.init.normal_(gat.bias)
    conv = GraphAttentionConv(5, 4, heads, concat=concat, edge_dim=edge_dim, root_weight=True,
                              share_weights=True)
    copy_gat(gat, conv)
    x = torch.randn(N, 5)
    assert torch.allclose(conv(x, edge_index, edge_attr), gat(x, edge_index, edge_attr),
                          atol=1e-5)



def test_additive_gradients_equal_gatconv(graph):
    # The graph's own loop 3 -> 3 is masked by an additive -inf (GATConv drops it): the
    # gradients, of edge_attr too (0 at the old loop), must still be GATConv's.
    edge_index, edge_attr, N = graph
    gat = GATConv(5, 4, heads=2, edge_dim=3, residual=True)
    conv = GraphAttentionConv(5, 4, 2, edge_dim=3, root_weight=True, share_weights=True)
    copy_gat(gat, conv)
    x = torch.randn(N, 5)
    grads = []
    for model in (conv, gat):
        xg, ag = x.clone().requires_grad_(), edge_attr.clone().requires_grad_()
        model(xg, edge_index, ag).square().sum().backward()
        grads.append((xg.grad, ag.grad))
    (x_ours, attr_ours), (x_gat, attr_gat) = grads
    assert torch.allclose(x_ours, x_gat, atol=1e-5)
    assert torch.allclose(attr_ours, attr_gat, atol=1e-5)
    assert torch.equal(attr_ours[-1], torch.zeros(3))  # the old loop
    assert torch.allclose(conv.lin_key.weight.grad, gat.lin.weight.grad, atol=1e-5)
    assert torch.allclose(conv.score.att_query.grad, gat.att_dst.grad[0], atol=1e-5)
    assert torch.allclose(conv.score.att_key.grad, gat.att_src.grad[0], atol=1e-5)
    assert torch.allclose(conv.bias.grad, gat.bias.grad, atol=1e-5)


def saved_for_backward(model, *args):
    """The tensors autograd keeps for backward in one forward, one entry per storage."""
    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(*args)
    return list(saved.values())


def test_saves_no_more_for_backward_than_gatconv(graph):
    # The old-loop mask must not be kept until backward (masked_fill would keep [E + N]
    # bools); without loops in the graph the layer keeps exactly what GATConv keeps.
    edge_index, _, N = graph
    gat = GATConv(5, 4, heads=2)
    conv = GraphAttentionConv(5, 4, 2, share_weights=True)
    x = torch.randn(N, 5, requires_grad=True)
    assert all(t.dtype != torch.bool for t in saved_for_backward(conv, x, edge_index))
    no_loops = edge_index[:, edge_index[0] != edge_index[1]]
    ours, theirs = (sum(t.untyped_storage().nbytes() for t in saved_for_backward(m, x, no_loops))
                    for m in (conv, gat))
    assert ours <= theirs


@pytest.mark.parametrize('fill_value', ['add', 'max', 'min', 1.5])
def test_additive_equals_gatconv_bipartite_and_fill_values(graph, fill_value):
    edge_index, edge_attr, N = graph
    gat = GATConv((5, 6), 4, heads=2, edge_dim=3, fill_value=fill_value)
    conv = GraphAttentionConv((5, 6), 4, 2, edge_dim=3, fill_value=fill_value)
    copy_gat(gat, conv)
    x_src, x_dst = torch.randn(N, 5), torch.randn(N - 2, 6)  # loops on nodes 0..N-3
    keep = edge_index[1] < N - 2
    args = (edge_index[:, keep], edge_attr[keep])
    assert torch.allclose(conv((x_src, x_dst), *args), gat((x_src, x_dst), *args), atol=1e-5)


@pytest.mark.parametrize('concat', [True, False])
@pytest.mark.parametrize('edge_dim', [None, 3])
@pytest.mark.parametrize('beta', [False, True])
def test_scaled_dot_equals_transformerconv(graph, concat, edge_dim, beta):
    edge_index, edge_attr, N = graph
    edge_attr = edge_attr if edge_dim else None
    ref = TransformerConv(5, 4, heads=2, concat=concat, beta=beta, edge_dim=edge_dim)
    conv = GraphAttentionConv(5, 4, 2, concat=concat, beta=beta, edge_dim=edge_dim,
                              **TRANSFORMER)
    conv.load_state_dict(ref.state_dict())  # same parameter names
    x = torch.randn(N, 5)
    assert torch.allclose(conv(x, edge_index, edge_attr), ref(x, edge_index, edge_attr),
                          atol=1e-5)
    # Bipartite inputs.
    ref, conv = TransformerConv((5, 6), 4, heads=2), GraphAttentionConv((5, 6), 4, 2, **TRANSFORMER)
    conv.load_state_dict(ref.state_dict())
    x_pair = (torch.randn(N, 5), torch.randn(N - 1, 6))
    keep = edge_index[1] < N - 1
    assert torch.allclose(conv(x_pair, edge_index[:, keep]), ref(x_pair, edge_index[:, keep]),
                          atol=1e-5)


def test_full_additive_score_equals_gatv2(graph):
    # The block's full additive score with identity W_Q, W_K and LeakyReLU is GATv2's score.
    edge_index, edge_attr, N = graph
    ref = GATv2Conv(5, 4, heads=2, edge_dim=3)
    torch.nn.init.normal_(ref.bias)
    score = AdditiveScore(4, 2, act='leaky_relu')
    conv = GraphAttentionConv(5, 4, 2, score=score, edge_dim=3, proj_bias=True)
    with torch.no_grad():
        conv.lin_key.load_state_dict(ref.lin_l.state_dict())
        conv.lin_query.load_state_dict(ref.lin_r.state_dict())
        conv.lin_edge.weight.copy_(ref.lin_edge.weight)
        score.weight_query.copy_(torch.eye(4).expand(2, 4, 4))
        score.weight_key.copy_(torch.eye(4).expand(2, 4, 4))
        score.att.copy_(ref.att[0])
        conv.bias.copy_(ref.bias)
    x = torch.randn(N, 5)
    assert torch.allclose(conv(x, edge_index, edge_attr), ref(x, edge_index, edge_attr),
                          atol=1e-5)


@pytest.mark.parametrize('name', ['dot', 'bilinear', 'scaled_dot', 'tanh_additive'])
def test_scores_against_dense_formula(graph, name):
    edge_index, _, N = graph
    H, D = 2, 4
    score = AdditiveScore(D, H, bias=True) if name == 'tanh_additive' else name
    conv = GraphAttentionConv(5, D, H, score=score)
    torch.nn.init.normal_(conv.bias)
    s = conv.score
    formulas = {
        'dot': lambda q, k: q @ k.transpose(-1, -2),
        'scaled_dot': lambda q, k: q @ k.transpose(-1, -2) / math.sqrt(D),
        'bilinear': lambda q, k: q @ s.weight @ k.transpose(-1, -2),  # q^T W_h k
        'tanh_additive': lambda q, k: (torch.tanh(
            (q @ s.weight_query + s.bias[:, None])[:, :, None]  # [H, N, 1, Hd]
            + (k @ s.weight_key)[:, None]) * s.att[:, None, None]).sum(-1),
    }
    x = torch.randn(N, 5)
    expected = dense_reference(conv, x, edge_index, formulas[name])
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-5)
    # Without self-loops the isolated node 7 gets only the bias; the old loop 3 -> 3 counts.
    conv.add_self_loops = False
    expected = dense_reference(conv, x, edge_index, formulas[name], self_loops=False)
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-5)


def test_attention_weights(graph):
    edge_index, _, N = graph
    conv = GraphAttentionConv(5, 4, heads=3)
    index, alpha = conv.attention_weights(torch.randn(N, 5), edge_index)
    assert index.shape == (2, edge_index.size(1) + N) and alpha.shape == (index.size(1), 3)
    sums = torch.zeros(N, 3).index_add_(0, index[1], alpha)
    assert torch.allclose(sums, torch.ones(N, 3))
    old_loop = edge_index.size(1) - 1  # 3 -> 3 of the graph: replaced by the added loop
    assert torch.equal(alpha[old_loop], torch.zeros(3))


@pytest.mark.parametrize('kwargs', [dict(edge_dim=3), dict(edge_dim=3, **TRANSFORMER),
                                    dict(add_self_loops=False, score='bilinear')])
def test_edge_index_formats_agree(graph, kwargs):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, **kwargs)
    attr = edge_attr if 'edge_dim' in kwargs else None
    x = torch.randn(2, N, 5)
    expected = conv(x, edge_index, attr)
    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    assert torch.allclose(conv(x, ei, attr), expected, atol=1e-6)
    ei_sorted, perm = ei.sort_by('col')  # PyG then softmaxes and aggregates by segments
    attr_sorted = None if attr is None else attr[perm]
    assert torch.allclose(conv(x, ei_sorted, attr_sorted), expected, atol=1e-6)
    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        # adj_t[j, i] = edge i -> j; the values are the edge features (or unused 1s).
        adj_t = to_sparse(edge_index.flip(0), attr, size=(N, N))
        assert torch.allclose(conv(x, adj_t), expected, atol=1e-6)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
def test_sparse_tensor_agrees(graph):  # pragma: no cover - needs torch_sparse
    from torch_geometric.typing import SparseTensor
    edge_index, _, N = graph
    conv = GraphAttentionConv(5, 4, 2)
    x = torch.randn(N, 5)
    adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], sparse_sizes=(N, N))
    assert torch.allclose(conv(x, adj_t), conv(x, edge_index), atol=1e-6)


@pytest.mark.parametrize('score', ['additive', 'scaled_dot'])
def test_batched_time_layout_matches_slices(graph, score):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, score=score, edge_dim=3, concat=False)
    x = torch.randn(2, 3, N, 5)  # [B, T, N, F]
    out = conv(x, edge_index, edge_attr)
    assert out.shape == (2, 3, N, 4)
    for b in range(2):
        for t in range(3):
            assert torch.allclose(out[b, t], conv(x[b, t], edge_index, edge_attr), atol=1e-6)


def test_permutation_equivariance(graph):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, edge_dim=3, root_weight=True)
    x = torch.randn(N, 5)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_attr)
    assert torch.allclose(conv(x[perm], inv[edge_index], edge_attr), out[perm], atol=1e-5)


def test_inside_pyg_sequential(graph):
    edge_index, _, N = graph
    conv1, conv2 = GraphAttentionConv(5, 4, 2), GraphAttentionConv(8, 3, score='scaled_dot')
    model = Sequential('x, edge_index', [
        (conv1, 'x, edge_index -> x'), torch.nn.ELU(), (conv2, 'x, edge_index -> x')])
    x = torch.randn(2, N, 5)
    expected = conv2(torch.nn.functional.elu(conv1(x, edge_index)), edge_index)
    assert torch.allclose(model(x, edge_index), expected)


@pytest.mark.parametrize('kwargs', [dict(edge_dim=3, root_weight=True),
                                    dict(edge_dim=3, beta=True, **TRANSFORMER),
                                    dict(score='tanh_additive', edge_dim=3)])
def test_gradients_reach_every_parameter(graph, kwargs):
    edge_index, edge_attr, N = graph
    if kwargs.get('score') == 'tanh_additive':
        kwargs = dict(kwargs, score=AdditiveScore(4, 2, bias=True))
    conv = GraphAttentionConv(5, 4, 2, **kwargs)
    x = torch.randn(2, N, 5, requires_grad=True)
    conv(x, edge_index, edge_attr).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, score='bilinear', edge_dim=3)
    x = torch.randn(N, 5)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))
    fresh = GraphAttentionConv(5, 4, 2, score='bilinear', edge_dim=3)
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_attr), conv(x, edge_index, edge_attr))


@pytest.mark.parametrize('kwargs', [dict(edge_dim=3), dict(edge_dim=3, beta=True, **TRANSFORMER)])
def test_compiles_without_graph_breaks(graph, kwargs, graph_breaks):
    # GATConv itself breaks the graph twice (remove_self_loops has a data-dependent size).
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, **kwargs)
    count, why = graph_breaks(conv, torch.randn(2, N, 5), edge_index, edge_attr)
    assert count == 0, why


def test_reset_parameters_resets_the_score():
    conv = GraphAttentionConv(5, 4, 2)
    with torch.no_grad():
        conv.score.att_query.zero_()
        conv.lin_key.weight.zero_()
    conv.reset_parameters()
    assert conv.score.att_query.abs().sum() > 0 and conv.lin_key.weight.abs().sum() > 0


def test_errors_name_the_fix(graph):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, edge_dim=3)
    x = torch.randn(N, 5)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        conv(x, edge_index.t(), edge_attr)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        conv(x, edge_index.float(), edge_attr)
    with pytest.raises(ValueError, match=r'expected one row per column of edge_index'):
        conv(x, edge_index, edge_attr[:-1])
    with pytest.raises(ValueError, match='build it with edge_dim=2'):
        conv(x, edge_index, edge_attr[:, :2])
    with pytest.raises(ValueError, match=r'pass edge_attr of shape \[E, 3\]'):
        conv(x, edge_index)
    with pytest.raises(ValueError, match='build it with edge_dim=3'):
        GraphAttentionConv(5, 4)(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match='build the layer with in_channels=6'):
        conv(torch.randn(N, 6), edge_index, edge_attr)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        conv(torch.randn(N), edge_index, edge_attr)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_attr, size=(N + 1, N + 1))
    with pytest.raises(ValueError, match=rf'expected adj_t of shape \[{N}, {N}\]'):
        conv(x, adj_t)
    adj_t = to_torch_coo_tensor(edge_index.flip(0), edge_attr, size=(N, N))
    with pytest.raises(ValueError, match="put the edge features in the sparse matrix's values"):
        conv(x, adj_t, edge_attr)
    with pytest.raises(ValueError, match="Unknown score 'cosine'"):
        GraphAttentionConv(5, 4, score='cosine')
    with pytest.raises(ValueError, match=r'build it with channels=4 \(out_channels\) and heads=2'):
        GraphAttentionConv(5, 4, 2, score=BilinearScore(8, 1))
    with pytest.raises(ValueError, match='use share_weights=False'):
        GraphAttentionConv((5, 6), 4, share_weights=True)
    with pytest.raises(ValueError, match='set root_weight=True with beta=True'):
        GraphAttentionConv(5, 4, beta=True)
    with pytest.raises(ValueError, match='use edge_value=False'):
        GraphAttentionConv(5, 4, edge_dim=3, edge_value=True)  # rank-one additive keys
    with pytest.raises(ValueError, match="fill_value='median' is unknown"):
        GraphAttentionConv(5, 4, fill_value='median')


@pytest.mark.parametrize('row', [0, 1])
def test_out_of_range_index_is_clear(graph, row):
    edge_index, edge_attr, N = graph
    conv = GraphAttentionConv(5, 4, 2, edge_dim=3)
    bad = edge_index.clone()
    bad[row, 4] = N
    name = 'source' if row == 0 else 'target'
    with pytest.raises(IndexError, match=rf"refers to {name} node {N}, but the {name} "
                                         rf"features have {N} nodes"):
        conv(torch.randn(N, 5), bad, edge_attr)


def test_attention_dropout_only_in_training(graph):
    edge_index, _, N = graph
    conv = GraphAttentionConv(5, 4, 2, dropout=0.5)
    x = torch.randn(N, 5)
    _, alpha = conv.attention_weights(x, edge_index)
    dropped = (alpha == 0).sum()
    assert dropped > 1  # more zeros than the graph's own loop 3 -> 3 (2 heads)
    conv.eval()
    _, alpha_eval = conv.attention_weights(x, edge_index)
    assert torch.equal(conv(x, edge_index), conv(x, edge_index))
    assert (alpha_eval == 0).sum() == 2  # only the replaced old loop, in both heads
