import pytest
import torch

from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.models.astgcn import ASTGCN
from pyg_ext.nn.temporal.astgcn_block import ASTGCNBlock


def polynomials(directed_graph, K=3):
    edge_index, edge_weight, N = directed_graph
    model = ASTGCN(3, 1, 8, 2, num_nodes=N, input_steps=5, K=K)
    return model.cheb_polynomials(edge_index, edge_weight, N, torch.double)


def test_attention_formulas(directed_graph):
    _, _, N = directed_graph
    block = ASTGCNBlock(3, 4, 6, num_nodes=N, num_steps=5).double()
    with torch.no_grad():
        block.b_e.normal_()
        block.b_s.normal_()
    x = torch.randn(2, 5, N, 3, dtype=torch.double)
    e, s = block.temporal_attention(x), block.spatial_attention(x)
    for b in range(2):
        X = x[b].permute(1, 2, 0)  # the paper's [N, F, T]
        lhs = (X.permute(2, 1, 0) @ block.U1) @ block.U2  # [T, N]
        rhs = torch.einsum('f,nft->nt', block.U3, X)  # [N, T]
        E = block.V_e @ torch.sigmoid(lhs @ rhs + block.b_e)
        assert torch.allclose(e[b], E.softmax(dim=0))
        lhs = (X @ block.W1) @ block.W2  # [N, T]
        rhs = (block.W3 @ X).t()  # [T, N]
        S = block.V_s @ torch.sigmoid(lhs @ rhs + block.b_s)
        assert torch.allclose(s[b], S.softmax(dim=0))


def test_block_equals_cheb_conv_without_attention(directed_graph):
    edge_index, edge_weight, N = directed_graph
    block = ASTGCNBlock(3, 4, 6, num_nodes=N, num_steps=5, K=3).double()
    x = torch.randn(2, 5, N, 3, dtype=torch.double)
    block.spatial_attention = lambda h: torch.ones(2, N, N, dtype=torch.double)
    out = block(x, polynomials(directed_graph))
    assert out.shape == (2, 5, N, 6)
    cheb = ChebConv(3, 4, 3, bias=False).double()
    with torch.no_grad():
        for lin, theta in zip(cheb.lins, block.theta):  # theta: [K, F_in, C]
            lin.weight.copy_(theta.t())
    g = torch.relu(cheb(x, edge_index, edge_weight))
    expected = block.norm(torch.relu(block.time_conv(g) + block.residual(x)))
    assert torch.allclose(out, expected, atol=1e-10)


def test_stride_gradients_save_load_errors(directed_graph, reloaded):
    _, _, N = directed_graph
    block = ASTGCNBlock(3, 4, 6, num_nodes=N, num_steps=5, time_stride=2)
    assert str(block) == ('ASTGCNBlock(3, 4, 6, num_nodes=7, num_steps=5, K=3, '
                          'time_stride=2)')
    x = torch.randn(2, 5, N, 3)
    polys = polynomials(directed_graph).float()
    out = block(x, polys)
    assert out.shape == (2, 3, N, 6)
    out.square().sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert torch.allclose(reloaded(block)(x, polys), block(x, polys))
    with pytest.raises(ValueError, match='num_steps=6, num_nodes=7'):
        block(torch.randn(2, 6, N, 3), polys)
