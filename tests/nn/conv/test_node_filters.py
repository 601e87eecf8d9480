import torch
from torch.testing import assert_close

from pyg_ext.nn.conv.node_adaptive_conv import NodeAdaptiveConv
from pyg_ext.nn.conv.node_filters import NodeFilters

N, D = 6, 4


def counting(conv):
    """Counts the calls of conv.filters (an instance attribute shadows the method)."""
    calls = []
    filters = conv.filters

    def wrapper(node_emb):
        calls.append(node_emb)
        return filters(node_emb)

    conv.filters = wrapper
    return calls


def test_repr():
    nf = NodeFilters(torch.randn(N, D))
    assert str(nf) == 'NodeFilters(node_emb=[6, 4], convs=0)'
    nf.get(NodeAdaptiveConv(3, 5, K=2, embedding_dim=D))
    assert str(nf) == 'NodeFilters(node_emb=[6, 4], convs=1)'


def test_generates_each_convs_filters_once():
    emb = torch.randn(N, D)
    conv1, conv2 = NodeAdaptiveConv(3, 5, 2, D), NodeAdaptiveConv(5, 7, 3, D, bias=False)
    calls1, calls2 = counting(conv1), counting(conv2)
    nf = NodeFilters(emb)
    first = nf.get(conv1)
    assert nf.get(conv1) is first and nf.get(conv1) is first
    weights, bias = nf.get(conv2)
    assert len(calls1) == 1 and len(calls2) == 1 and calls1[0] is emb and len(nf) == 2
    # each conv gets its own filters, the ones its weight pool generates from emb
    assert len(first[0]) == 2 and first[0][0].shape == (N, 3, 5) and first[1].shape == (N, 5)
    assert len(weights) == 3 and weights[2].shape == (N, 5, 7) and bias is None
    expected = torch.einsum('nd,dkio->nkio', emb, conv2.weight_pool)
    for k in range(3):
        assert_close(weights[k], expected[:, k])
    # a new NodeFilters (a new forward) generates them again
    NodeFilters(emb).get(conv1)
    assert len(calls1) == 2


def test_gradients_sum_over_the_calls_that_reused_the_filters():
    conv = NodeAdaptiveConv(3, 3, K=2, embedding_dim=D)
    torch.nn.init.normal_(conv.bias_pool)
    adj = torch.relu(torch.randn(N, N)).softmax(dim=1)
    x = torch.randn(2, N, 3)
    emb = torch.randn(N, D, requires_grad=True)

    def run(node_emb):  # three chained calls, as three time steps of a recurrence
        h = x
        for _ in range(3):
            h = torch.tanh(conv(h, adj, node_emb))
        return h

    expected = run(emb)
    expected.square().sum().backward()
    grads = [p.grad.clone() for p in (emb, conv.weight_pool, conv.bias_pool)]
    emb.grad = conv.weight_pool.grad = conv.bias_pool.grad = None
    nf = NodeFilters(emb)
    out = run(nf)
    assert len(nf) == 1
    assert torch.equal(out, expected)  # the same filters, the same ops
    out.square().sum().backward()
    for grad, p in zip(grads, (emb, conv.weight_pool, conv.bias_pool)):
        assert_close(p.grad, grad, atol=1e-6, rtol=1e-5)
