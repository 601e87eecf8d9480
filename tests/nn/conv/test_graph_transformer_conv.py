import math

import pytest
import torch
from torch_geometric import EdgeIndex
from torch_geometric.data import Batch, Data
from torch_geometric.nn import Sequential
from torch_geometric.transforms import AddLaplacianEigenvectorPE, AddRandomWalkPE
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor, to_undirected

import pyg_ext.nn.conv.graph_transformer_conv as module
from pyg_ext.blocks.transformer_layer import TransformerLayer
from pyg_ext.nn.conv.graph_transformer_conv import GraphTransformerConv
from pyg_ext.utils.add_expander_edges import AddExpanderEdges
from pyg_ext.utils.expander_edges import expander_edges

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')

F = 8


@pytest.fixture
def graph():
    """Two components, {0, 1, 2, 3} (a directed cycle with a chord) and {4, 5, 6} (a path):
    (edge_index [2, E], edge_attr [E, 3], N)."""
    edge_index = torch.tensor([[0, 1, 2, 3, 0, 4, 5, 6],
                               [1, 2, 3, 0, 2, 5, 6, 5]])
    return edge_index, torch.randn(edge_index.size(1), 3), 7


def allowed_mask(edge_index, N):
    """[N, N] bool: node i attends to j iff j -> i is an edge or j = i."""
    allowed = torch.eye(N, dtype=torch.bool)
    allowed[edge_index[1], edge_index[0]] = True
    return allowed


def dense_attention(conv, x_src, x_dst, allowed):
    """Scaled-dot attention of a GraphAttentionConv (value_weight, proj_bias) computed
    densely: softmax over the allowed [N_dst, N_src] pairs of q_i k_j / sqrt(D), times v_j."""
    H, D = conv.heads, conv.out_channels
    q = conv.lin_query(x_dst).view(-1, H, D).transpose(0, 1)  # [H, N_dst, D]
    k = conv.lin_key(x_src).view(-1, H, D).transpose(0, 1)  # [H, N_src, D]
    v = conv.lin_value(x_src).view(-1, H, D).transpose(0, 1)  # [H, N_src, D]
    scores = (q @ k.transpose(1, 2) / math.sqrt(D)).masked_fill(~allowed, float('-inf'))
    return (scores.softmax(dim=-1) @ v).transpose(0, 1).reshape(x_dst.size(0), H * D)


def test_repr():
    assert str(GraphTransformerConv(16, 4)) == \
        "GraphTransformerConv(16, heads=4, score='scaled_dot', ffn_channels=64)"
    conv = GraphTransformerConv(16, 4, score='additive', dropout=0.1, norm_first=False,
                                edge_dim=3, pe_dim=5, num_global=2, expander_degree=4)
    assert str(conv) == ("GraphTransformerConv(16, heads=4, score='additive', ffn_channels=64, "
                         "dropout=0.1, norm_first=False, edge_dim=3, pe_dim=5, num_global=2, "
                         "expander_degree=4)")


@pytest.mark.parametrize('score', ['scaled_dot', 'bilinear'])
@pytest.mark.parametrize('norm_first', [True, False])
def test_equals_masked_transformer_layer(graph, score, norm_first):
    # The dense reference: the shared TransformerLayer over the nodes, mask A^T + I.
    edge_index, _, N = graph
    conv = GraphTransformerConv(F, 2, score=score, norm_first=norm_first)
    ref = TransformerLayer(F, 2, score=score, norm_first=norm_first)
    with torch.no_grad():
        lins = (conv.attn.lin_query, conv.attn.lin_key, conv.attn.lin_value)
        for lin, w, b in zip(lins, ref.attn.in_proj.weight.chunk(3),
                             ref.attn.in_proj.bias.chunk(3)):
            lin.weight.copy_(w)
            lin.bias.normal_()
            b.copy_(lin.bias)
        for name in ('out_proj', 'ffn', 'norm1', 'norm2'):
            getattr(conv, name).load_state_dict(getattr(ref.attn if name == 'out_proj'
                                                        else ref, name).state_dict())
        conv.attn.score.load_state_dict(ref.attn.score.state_dict())
    x = torch.randn(N, F)
    expected = ref(x[None], attn_mask=~allowed_mask(edge_index, N))[0]
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-5)


def test_global_tokens_reach_a_disconnected_component(graph):
    edge_index, _, N = graph
    x = torch.randn(N, F)
    x_far = x.clone()
    x_far[6] = torch.randn(F)  # node 6 lies in the other component than node 0
    for num_global, reaches in ((0, False), (2, True)):
        conv = GraphTransformerConv(F, 2, num_global=num_global)
        changed = (conv(x, edge_index)[0] - conv(x_far, edge_index)[0]).abs().max() > 1e-4
        assert bool(changed) == reaches
    # With a batch, each graph has its own tokens: the components no longer see each other.
    conv = GraphTransformerConv(F, 2, num_global=2)
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    out, out_far = conv(x, edge_index, batch=batch), conv(x_far, edge_index, batch=batch)
    assert torch.allclose(out[:4], out_far[:4], atol=1e-6)
    assert torch.allclose(out, conv(x, edge_index, batch=batch, num_graphs=2))


def test_global_tokens_against_dense_composition(graph):
    edge_index, _, N = graph
    conv = GraphTransformerConv(F, 2, num_global=3)
    x = torch.randn(N, F)
    h = conv.norm1(x)
    tokens = dense_attention(conv.global_attn, h, conv.global_tokens,
                             torch.ones(3, N, dtype=torch.bool))  # tokens read every node
    allowed = torch.cat([allowed_mask(edge_index, N), torch.ones(N, 3, dtype=torch.bool)], 1)
    a = conv.out_proj(dense_attention(conv.attn, torch.cat([h, tokens]), h, allowed))
    x1 = x + a
    expected = x1 + conv.ffn(conv.norm2(x1))
    assert torch.allclose(conv(x, edge_index), expected, atol=1e-5)


def test_expander_edges_are_graph_edges_built_once(graph, monkeypatch):
    edge_index, _, N = graph
    conv = GraphTransformerConv(F, 2, expander_degree=4, expander_seed=3)
    plain = GraphTransformerConv(F, 2)
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(N, F)
    union = torch.cat([edge_index, expander_edges(N, 4, seed=3)], dim=1)
    calls = []
    monkeypatch.setattr(module, 'expander_edges', lambda *a, **k: calls.append(1) or
                        expander_edges(*a, **k))
    out = conv(x, edge_index)
    assert torch.allclose(out, plain(x, union), atol=1e-6)
    assert conv(torch.randn(2, 3, N, F), edge_index).shape == (2, 3, N, F)
    assert len(calls) == 1  # cached for this graph size
    conv(torch.randn(N + 2, F), edge_index)
    assert len(calls) == 2
    conv.reset_parameters()
    assert conv._expander == (-1, None)


def test_expander_edges_for_a_batch_of_graphs(graph):
    edge_index, edge_attr, _ = graph
    transform = AddExpanderEdges(degree=2, seed=5)
    graphs = [transform(Data(x=torch.randn(4, F), edge_index=edge_index[:, :5],
                             edge_attr=edge_attr[:5])),
              transform(Data(x=torch.randn(3, F), edge_index=edge_index[:, 5:] - 4,
                             edge_attr=edge_attr[5:]))]
    assert torch.equal(graphs[1].expander_edge_index, expander_edges(3, 2, seed=6))
    data = Batch.from_data_list(graphs)
    conv = GraphTransformerConv(F, 2, edge_dim=3, expander_degree=2, num_global=1)
    out = conv(data.x, data.edge_index, data.edge_attr, batch=data.batch, num_graphs=2,
               expander_edge_index=data.expander_edge_index)
    for g, graph_out in zip(graphs, out.split([4, 3])):
        expected = conv(g.x, g.edge_index, g.edge_attr, expander_edge_index=g.expander_edge_index)
        assert torch.allclose(graph_out, expected, atol=1e-5)
    with pytest.raises(ValueError, match='build them once with the AddExpanderEdges transform'):
        conv(data.x, data.edge_index, data.edge_attr, batch=data.batch)


@pytest.mark.parametrize('transform', [
    AddLaplacianEigenvectorPE(3, attr_name='pe', is_undirected=True),
    AddRandomWalkPE(walk_length=4, attr_name='pe')])
def test_positional_encodings_are_projected_and_added(graph, transform):
    edge_index, _, N = graph
    data = transform(Data(x=torch.randn(N, F), edge_index=to_undirected(edge_index), num_nodes=N))
    conv = GraphTransformerConv(F, 2, pe_dim=data.pe.size(-1))
    plain = GraphTransformerConv(F, 2)
    plain.load_state_dict(conv.state_dict(), strict=False)
    expected = plain(data.x + conv.pe_proj(data.pe), data.edge_index)
    assert torch.allclose(conv(data.x, data.edge_index, pe=data.pe), expected, atol=1e-6)


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_attr, N = graph
    conv = GraphTransformerConv(F, 2, edge_dim=3, num_global=2, expander_degree=2, pe_dim=2)
    x, pe = torch.randn(2, 3, N, F), torch.randn(N, 2)  # [B, T, N, F]
    out = conv(x, edge_index, edge_attr, pe=pe)
    assert out.shape == x.shape
    for b in range(2):
        for t in range(3):
            expected = conv(x[b, t], edge_index, edge_attr, pe=pe)
            assert torch.allclose(out[b, t], expected, atol=1e-5)


def test_edge_index_formats_agree(graph):
    edge_index, edge_attr, N = graph
    conv = GraphTransformerConv(F, 2, edge_dim=3, num_global=1, expander_degree=2)
    x = torch.randn(N, F)
    expected = conv(x, edge_index, edge_attr)
    ei_sorted, perm = EdgeIndex(edge_index, sparse_size=(N, N)).sort_by('col')
    assert torch.allclose(conv(x, ei_sorted, edge_attr[perm]), expected, atol=1e-6)
    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_attr, size=(N, N))
        assert torch.allclose(conv(x, adj_t), expected, atol=1e-6)


def test_permutation_equivariance_with_global_tokens(graph):
    edge_index, edge_attr, N = graph
    conv = GraphTransformerConv(F, 2, edge_dim=3, num_global=2)
    x = torch.randn(N, F)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = conv(x, edge_index, edge_attr)
    assert torch.allclose(conv(x[perm], inv[edge_index], edge_attr), out[perm], atol=1e-5)


def test_inside_pyg_sequential(graph):
    edge_index, _, N = graph
    conv1, conv2 = GraphTransformerConv(F, 2, num_global=1), GraphTransformerConv(F, 4)
    model = Sequential('x, edge_index', [(conv1, 'x, edge_index -> x'),
                                         (conv2, 'x, edge_index -> x')])
    x = torch.randn(N, F)
    assert torch.allclose(model(x, edge_index), conv2(conv1(x, edge_index), edge_index))


def test_gradients_reach_every_parameter(graph):
    edge_index, edge_attr, N = graph
    conv = GraphTransformerConv(F, 2, edge_dim=3, pe_dim=2, num_global=2, expander_degree=2)
    conv(torch.randn(N, F), edge_index, edge_attr, pe=torch.randn(N, 2)).square().sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert conv.global_tokens.grad is not None and conv.expander_attr.grad is not None


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_attr, N = graph
    conv = GraphTransformerConv(F, 2, edge_dim=3, num_global=2, expander_degree=2)
    x = torch.randn(N, F)
    out = conv(x, edge_index, edge_attr)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_attr), out)
    fresh = GraphTransformerConv(F, 2, edge_dim=3, num_global=2, expander_degree=2)
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_attr), out)  # the expander comes from the seed


@pytest.mark.parametrize('extras', [False, True])
def test_compiles_without_graph_breaks(graph, extras, graph_breaks):
    edge_index, edge_attr, N = graph
    kwargs = dict(num_global=2, expander_degree=2) if extras else {}
    conv = GraphTransformerConv(F, 2, edge_dim=3, **kwargs)
    x = torch.randn(N, F)
    conv(x, edge_index, edge_attr)  # builds the cached expander and token edges once
    count, why = graph_breaks(conv, x, edge_index, edge_attr)
    assert count == 0, why


def test_errors_name_the_fix(graph):
    edge_index, edge_attr, N = graph
    x = torch.randn(N, F)
    conv = GraphTransformerConv(F, 2, pe_dim=2)
    with pytest.raises(ValueError, match='must be divisible by heads=3'):
        GraphTransformerConv(F, 3)
    with pytest.raises(ValueError, match='use an even degree >= 2'):
        GraphTransformerConv(F, 2, expander_degree=3)
    with pytest.raises(ValueError, match=r'pass pe of shape \[N, pe_dim\]'):
        conv(x, edge_index)
    with pytest.raises(ValueError, match='build the layer with in_channels=3'):
        conv(x, edge_index, pe=torch.randn(N, 3))
    with pytest.raises(ValueError, match='build the layer with in_channels=9'):
        conv(torch.randn(N, 9), edge_index, pe=torch.randn(N, 2))
    plain = GraphTransformerConv(F, 2)
    with pytest.raises(ValueError, match='build it with expander_degree=d'):
        plain(x, edge_index, expander_edge_index=edge_index)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        plain(x, edge_index.t())
    with pytest.raises(ValueError, match=r"'batch' has shape \[6\]; expected \[7\]"):
        plain(x, edge_index, batch=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match='build it with edge_dim=3'):
        plain(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match='expected one row per column of edge_index'):
        GraphTransformerConv(F, 2, edge_dim=3)(x, edge_index, edge_attr[:-1])
    bad = edge_index.clone()
    bad[1, 0] = N
    with pytest.raises(IndexError, match=f'refers to target node {N}'):
        plain(x, bad)
