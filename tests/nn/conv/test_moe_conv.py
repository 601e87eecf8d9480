import pytest
import torch
import torch_geometric.typing
from torch_geometric import EdgeIndex
from torch_geometric.nn import Sequential
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.blocks.moe import MoE
from pyg_ext.nn.conv.moe_conv import MoEConv

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


@pytest.fixture
def graph(directed_graph):
    """``directed_graph`` (no duplicate edges; every node has an in-edge) with 3 edge
    features per edge."""
    edge_index, _, num_nodes = directed_graph
    return edge_index, torch.randn(edge_index.size(1), 3), num_nodes


def expert_convs(conv, x, edge_index, edge_attr=None, aggr='add'):
    """Each expert's convolution by hand over a dense [N_dst, N_src] grid of node pairs:
    [M, N_dst, F_out], U x_i + b included."""
    x_src, x_dst = (x, x) if isinstance(x, torch.Tensor) else x
    n_src, n_dst = x_src.size(0), x_dst.size(0)
    mask = torch.zeros(n_dst, n_src, dtype=torch.bool)
    mask[edge_index[1], edge_index[0]] = True
    feats = [x_dst[:, None].expand(-1, n_src, -1), x_src[None].expand(n_dst, -1, -1)]
    if edge_attr is not None:
        dense_attr = torch.zeros(n_dst, n_src, edge_attr.size(-1))
        dense_attr[edge_index[1], edge_index[0]] = edge_attr
        feats.append(dense_attr)
    pairs = torch.cat(feats, dim=-1)  # [N_dst, N_src, D]
    deg = mask.sum(dim=1, keepdim=True)
    root = conv.bias + (0 if conv.lin_root is None else x_dst @ conv.lin_root.weight.t())
    outs = []
    for expert in conv.experts:
        msg = expert(pairs)  # [N_dst, N_src, F_out]
        if aggr == 'max':
            agg = msg.masked_fill(~mask[..., None], float('-inf')).amax(dim=1)
            agg = torch.where(deg > 0, agg, torch.zeros_like(agg))
        else:
            agg = (msg * mask[..., None]).sum(dim=1)
            if aggr == 'mean':
                agg = agg / deg.clamp(min=1)
        outs.append(agg + root)
    return torch.stack(outs)


def set_random_gate(conv):
    with torch.no_grad():
        conv.w_gate.normal_()
        if conv.w_noise is not None:
            conv.w_noise.normal_()


def test_repr_and_parameters():
    conv = MoEConv(16, 32, num_experts=4)
    assert str(conv) == 'MoEConv(16, 32, num_experts=4, k=2, noisy_gating=True)'
    assert conv.experts[0].lin1.in_features == 32  # [x_i, x_j]
    assert torch.all(conv.w_gate == 0) and torch.all(conv.w_noise == 0)
    conv = MoEConv((8, 4), 6, 3, k=1, edge_dim=5, noisy_gating=False, expert=torch.nn.Linear,
                   root_weight=False, bias=False)
    assert str(conv) == 'MoEConv((8, 4), 6, num_experts=3, k=1, noisy_gating=False, edge_dim=5)'
    assert conv.experts[2].in_features == 4 + 8 + 5 and conv.w_noise is None
    assert conv.lin_root is None and conv.bias is None


@pytest.mark.parametrize('aggr', ['add', 'mean', 'max'])
def test_all_experts_equal_dense_gate_weighted_sum(graph, aggr):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 5, num_experts=3, k=3, edge_dim=3, hidden_channels=8,
                   noisy_gating=False, aggr=aggr)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(N, 4)
    out, aux = conv(x, edge_index, edge_attr)
    gates = torch.softmax(x @ conv.w_gate, dim=-1)  # [N, M]: no noise, all experts kept
    convs = expert_convs(conv, x, edge_index, edge_attr, aggr)  # [M, N, F]
    expected = (gates.t()[..., None] * convs).sum(dim=0)
    assert torch.allclose(out, expected, atol=1e-5)
    assert aux.shape == () and aux >= 0


def test_top_1_is_the_argmax_experts_conv(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 5, num_experts=4, k=1, edge_dim=3, hidden_channels=8)
    set_random_gate(conv)
    conv.eval()  # no noise
    x = torch.randn(3, N, 4)
    out, _ = conv(x, edge_index, edge_attr)
    best = (x @ conv.w_gate).argmax(dim=-1)  # [3, N]
    for b in range(3):
        convs = expert_convs(conv, x[b], edge_index, edge_attr)  # [M, N, F]
        assert torch.allclose(out[b], convs[best[b], torch.arange(N)], atol=1e-5)


def test_only_selected_experts_run(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 5, num_experts=4, k=2, edge_dim=3, hidden_channels=8,
                   noisy_gating=False)
    with torch.no_grad():
        conv.w_gate[:, 3] = -10.0  # with positive inputs, no node picks expert 3
    rows = [[] for _ in range(4)]
    for m, expert in enumerate(conv.experts):
        expert.register_forward_hook(lambda mod, inp, out, m=m: rows[m].append(inp[0].size(0)))
    x = torch.rand(2, N, 4) + 0.1
    conv(x, edge_index, edge_attr)
    expert_idx, gates, _ = conv.route(x)  # [2, N, 2]
    chosen = expert_idx[:, edge_index[1]]  # [2, E, 2]: each edge's target's experts
    expected = [int((chosen == m).sum()) for m in range(4)]
    assert rows[3] == [] and expected[3] == 0  # never called
    assert [sum(r) for r in rows] == expected
    assert all(len(r) <= 1 for r in rows)  # each expert runs once, on all its rows
    assert sum(expected) == 2 * edge_index.size(1) * 2  # B * E * k rows in all
    assert torch.allclose(gates.sum(dim=-1), torch.ones(2, N))


def test_gating_and_aux_loss_match_the_moe_block():
    x = torch.randn(5, 9, 6)
    block = MoE(6, 4, num_experts=5, k=2)
    conv = MoEConv(6, 4, num_experts=5, k=2)
    set_random_gate(block)
    with torch.no_grad():
        conv.w_gate.copy_(block.w_gate)
        conv.w_noise.copy_(block.w_noise)
    for training in (True, False):
        block.train(training)
        conv.train(training)
        torch.manual_seed(1)
        _, expected = block(x)
        torch.manual_seed(1)
        expert_idx, gates, aux = conv.route(x)
        assert torch.allclose(aux, expected, atol=1e-7)
    top, idx = (x @ conv.w_gate).topk(2, dim=-1)  # eval: clean top-k
    assert torch.equal(expert_idx, idx)
    assert torch.allclose(gates, torch.softmax(top, dim=-1))


def test_gradients_reach_every_parameter(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 5, num_experts=4, k=2, edge_dim=3, hidden_channels=8)  # noisy
    conv.train()
    x = torch.randn(2, 3, N, 4, requires_grad=True)
    edge_attr = edge_attr.clone().requires_grad_()
    out, aux = conv(x, edge_index, edge_attr)
    (out.square().mean() + aux).backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0 and edge_attr.grad.abs().sum() > 0


def test_batched_time_layout_matches_slices(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(3, 4, num_experts=3, k=2, edge_dim=3, noisy_gating=False)
    x = torch.randn(2, 4, N, 3)  # [B, T, N, F]
    out, aux = conv(x, edge_index, edge_attr)
    assert out.shape == (2, 4, N, 4) and aux.shape == ()
    for b in range(2):
        for t in range(4):
            assert torch.allclose(out[b, t], conv(x[b, t], edge_index, edge_attr)[0],
                                  atol=1e-6)


def test_bipartite_dense():
    edge_index = torch.tensor([[0, 1, 2, 6, 5, 3], [0, 0, 1, 2, 2, 3]])
    x = (torch.randn(7, 4), torch.randn(4, 5))
    conv = MoEConv((4, 5), 3, num_experts=2, k=2, noisy_gating=False)
    out, _ = conv(x, edge_index)
    gates = torch.softmax(x[1] @ conv.w_gate, dim=-1)
    expected = (gates.t()[..., None] * expert_convs(conv, x, edge_index)).sum(dim=0)
    assert out.shape == (4, 3) and torch.allclose(out, expected, atol=1e-5)


def test_permutation_equivariance(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 4, num_experts=4, k=2, edge_dim=3, noisy_gating=False)
    x = torch.randn(N, 4)
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out, aux = conv(x, edge_index, edge_attr)
    out_perm, aux_perm = conv(x[perm], inv[edge_index], edge_attr)
    assert torch.allclose(out_perm, out[perm], atol=1e-5)
    assert torch.allclose(aux_perm, aux)


@pytest.mark.parametrize('shape', [(), (2, 3)])
@pytest.mark.parametrize('edge_dim', [None, 3])
def test_edge_index_formats_agree(graph, shape, edge_dim):
    edge_index, edge_attr, N = graph
    edge_attr = edge_attr if edge_dim else None
    conv = MoEConv(4, 4, num_experts=3, k=2, edge_dim=edge_dim, noisy_gating=False)
    x = torch.randn(*shape, N, 4)
    expected, _ = conv(x, edge_index, edge_attr)

    ei = EdgeIndex(edge_index, sparse_size=(N, N))
    assert torch.allclose(conv(x, ei, edge_attr)[0], expected, atol=1e-6)
    ei_sorted, perm = ei.sort_by('col')
    attr_sorted = None if edge_attr is None else edge_attr[perm]
    assert torch.allclose(conv(x, ei_sorted, attr_sorted)[0], expected, atol=1e-6)

    for to_sparse in (to_torch_coo_tensor, to_torch_csr_tensor):
        adj_t = to_sparse(edge_index.flip(0), edge_attr, size=(N, N))
        assert torch.allclose(conv(x, adj_t)[0], expected, atol=1e-6)


@pytest.mark.skipif(not torch_geometric.typing.WITH_TORCH_SPARSE,
                    reason='torch_sparse is not installed')
def test_sparse_tensor_agrees(graph):  # pragma: no cover - needs torch_sparse
    from torch_geometric.typing import SparseTensor
    edge_index, _, N = graph
    conv = MoEConv(4, 4, num_experts=3, noisy_gating=False)
    x = torch.randn(2, N, 4)
    adj_t = SparseTensor(row=edge_index[1], col=edge_index[0], sparse_sizes=(N, N))
    assert torch.allclose(conv(x, adj_t)[0], conv(x, edge_index)[0], atol=1e-6)


def test_inside_pyg_sequential(graph):
    edge_index, edge_attr, N = graph
    conv1 = MoEConv(3, 8, num_experts=3, edge_dim=3, noisy_gating=False)
    conv2 = MoEConv(8, 8, num_experts=3, edge_dim=3, noisy_gating=False)
    model = Sequential('x, edge_index, edge_attr', [
        (conv1, 'x, edge_index, edge_attr -> x, aux1'),
        (conv2, 'x, edge_index, edge_attr -> x, aux2'),
        (lambda x, aux1, aux2: (x, aux1 + aux2), 'x, aux1, aux2 -> x, aux'),
    ])
    x = torch.randn(N, 3)
    out, aux = model(x, edge_index, edge_attr)
    h, aux1 = conv1(x, edge_index, edge_attr)
    expected, aux2 = conv2(h, edge_index, edge_attr)
    assert torch.allclose(out, expected) and torch.allclose(aux, aux1 + aux2)


def test_no_edges(graph):
    _, _, N = graph
    conv = MoEConv(4, 5, num_experts=3, noisy_gating=False)
    calls = []
    for expert in conv.experts:
        expert.register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(N, 4)
    out, _ = conv(x, torch.empty(2, 0, dtype=torch.long))
    assert calls == []
    assert torch.allclose(out, x @ conv.lin_root.weight.t() + conv.bias)


def test_save_load_roundtrip(graph, reloaded):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 4, num_experts=3, edge_dim=3, noisy_gating=False).eval()
    x = torch.randn(N, 4)
    loaded = reloaded(conv)
    assert str(loaded) == str(conv)
    assert torch.equal(loaded(x, edge_index, edge_attr)[0], conv(x, edge_index, edge_attr)[0])

    fresh = MoEConv(4, 4, num_experts=3, edge_dim=3, noisy_gating=False).eval()
    fresh.load_state_dict(reloaded(conv.state_dict(), weights_only=True))
    assert torch.equal(fresh(x, edge_index, edge_attr)[0], conv(x, edge_index, edge_attr)[0])


def test_constructor_errors_name_the_fix():
    with pytest.raises(ValueError, match=r'k=5 experts per node.*num_experts=4.*e\.g\. k=4'):
        MoEConv(4, 4, num_experts=4, k=5)
    with pytest.raises(ValueError, match='choose 1 <= k <= num_experts'):
        MoEConv(4, 4, num_experts=4, k=0)
    with pytest.raises(ValueError, match='num_experts must be at least 1'):
        MoEConv(4, 4, num_experts=0)
    with pytest.raises(ValueError, match='leave hidden_channels=None'):
        MoEConv(4, 4, 2, expert=torch.nn.Linear, hidden_channels=8)
    with pytest.raises(ValueError, match="pass a single aggr"):
        MoEConv(4, 4, 2, aggr=['add', 'max'])


def test_input_errors_name_the_fix(graph):
    edge_index, edge_attr, N = graph
    conv = MoEConv(4, 4, num_experts=3, edge_dim=3)
    x = torch.randn(N, 4)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*pass edge_index.t\(\)'):
        conv(x, edge_index.t(), edge_attr)
    with pytest.raises(ValueError, match=r'call edge_index.long\(\)'):
        conv(x, edge_index.float(), edge_attr)
    with pytest.raises(ValueError, match=r'expected shape \[10, 3\]'):
        conv(x, edge_index, edge_attr[:-1])
    with pytest.raises(ValueError, match="'edge_attr' has 2 features"):
        conv(x, edge_index, edge_attr[:, :2])
    with pytest.raises(ValueError, match=r'pass edge_attr of shape \[E, 3\]'):
        conv(x, edge_index)
    with pytest.raises(ValueError, match='the sparse adjacency has no edge features'):
        conv(x, to_torch_csr_tensor(edge_index.flip(0), size=(N, N)))
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        conv(torch.randn(N, 5), edge_index, edge_attr)
    with pytest.raises(ValueError, match=r'expected \[N, F\] or \[\*, N, F\]'):
        conv(torch.randn(N), edge_index, edge_attr)
    bad = edge_index.clone()
    bad[1, 4] = N
    with pytest.raises(IndexError, match=rf'larger than {N - 1} \(got {N}\).*valid indices'):
        conv(x, bad, edge_attr)
