import pytest
import torch
from torch_geometric.nn import GATConv
from torch_geometric.utils import softmax

from pyg_ext.blocks.additive_score import AdditiveScore


def test_dense_equals_bahdanau_formula():
    score = AdditiveScore(4, heads=2, hidden_channels=6, bias=True)
    with torch.no_grad():
        score.bias.normal_()
    q, k = torch.randn(2, 2, 3, 4), torch.randn(2, 2, 5, 4)
    out = score(q, k)
    assert out.shape == (2, 2, 3, 5)
    ref = torch.empty(2, 2, 3, 5)
    for b in range(2):
        for h in range(2):
            for i in range(3):
                for j in range(5):  # v_h^T tanh(W_q q + W_k k + b)
                    hid = (q[b, h, i] @ score.weight_query[h] + k[b, h, j] @ score.weight_key[h]
                           + score.bias[h])
                    ref[b, h, i, j] = score.att[h] @ torch.tanh(hid)
    torch.testing.assert_close(out, ref.detach())


@pytest.mark.parametrize('kwargs', [dict(hidden_channels=5), dict(act='leaky_relu'),
                                    dict(rank_one=True, act='leaky_relu')])
def test_pairwise_equals_dense_diagonal_and_edges(kwargs, directed_graph):
    edge_index, _, num_nodes = directed_graph
    score = AdditiveScore(4, heads=3, **kwargs)
    q, k = torch.randn(num_nodes, 3, 4), torch.randn(num_nodes, 3, 4)  # [N, H, D]
    dense = score(q.transpose(0, 1).unsqueeze(0), k.transpose(0, 1).unsqueeze(0))[0]
    diag = score.pairwise(score.prepare_query(q), score.prepare_key(k))  # [N, H]
    torch.testing.assert_close(diag, dense.diagonal(dim1=-2, dim2=-1).t())
    src, dst = edge_index
    edge = score.pairwise(score.prepare_query(q)[dst], score.prepare_key(k)[src])  # [E, H]
    torch.testing.assert_close(edge, dense[:, dst, src].t())


def test_rank_one_is_the_gat_score(directed_graph):
    edge_index, _, num_nodes = directed_graph
    heads, channels = 2, 3
    gat = GATConv(5, channels, heads=heads, add_self_loops=False)
    score = AdditiveScore(channels, heads, rank_one=True, act='leaky_relu')
    assert score.prepare_query(torch.randn(7, heads, channels)).shape == (7, heads)
    with torch.no_grad():  # target = query (att_dst), source = key (att_src)
        score.att_query.copy_(gat.att_dst.view(heads, channels))
        score.att_key.copy_(gat.att_src.view(heads, channels))
    x = torch.randn(num_nodes, 5)
    h = gat.lin(x).view(num_nodes, heads, channels)  # [N, H, D]
    src, dst = edge_index
    e = score.pairwise(score.prepare_query(h)[dst], score.prepare_key(h)[src])  # [E, H]
    # By hand: e_ij = LeakyReLU_0.2(a_dst . h_i + a_src . h_j), i = target, j = source.
    hand = torch.nn.functional.leaky_relu(
        (h[dst] * gat.att_dst).sum(-1) + (h[src] * gat.att_src).sum(-1), 0.2)
    torch.testing.assert_close(e, hand)
    _, (_, alpha) = gat(x, edge_index, return_attention_weights=True)
    torch.testing.assert_close(softmax(e, dst, num_nodes=num_nodes), alpha)


def test_gradients_reset_repr_and_save_load(tmp_path):
    for score in (AdditiveScore(4, heads=2, bias=True),
                  AdditiveScore(4, heads=2, rank_one=True, act='leaky_relu')):
        with torch.no_grad():
            if score.bias is not None:
                score.bias.normal_()
        q, k = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4)
        score(q, k).square().sum().backward()
        for name, p in score.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        torch.save(score, tmp_path / 'score.pt')
        loaded = torch.load(tmp_path / 'score.pt', weights_only=False)
        torch.testing.assert_close(loaded(q, k), score(q, k))
        before = [p.detach().clone() for p in score.parameters()]
        score.reset_parameters()
        assert all(not torch.equal(a, b) for a, b in zip(before, score.parameters()))
    assert str(AdditiveScore(4, heads=2)) == \
        "AdditiveScore(4, heads=2, hidden_channels=4, act='tanh')"
    assert str(AdditiveScore(4, rank_one=True, act='leaky_relu')) == \
        "AdditiveScore(4, heads=1, rank_one=True, act='leaky_relu')"
    assert AdditiveScore(4, act='leaky_relu').act.negative_slope == 0.2


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='leave hidden_channels=None'):
        AdditiveScore(4, rank_one=True, hidden_channels=8)
    with pytest.raises(ValueError, match='Unknown activation'):
        AdditiveScore(4, act='nope')
    with pytest.raises(ValueError, match=r'expects \[\*, H=2, D=4\]'):
        AdditiveScore(4, heads=2).prepare_key(torch.randn(3, 2, 5))
