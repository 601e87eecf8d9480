import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import ChebConv as PyGChebConv
from torch_geometric.nn import GCNConv

from pyg_ext.nn.temporal.st_conv_block import STConvBlock


def conv1d_halves(gated, x):
    """P and Q of a gated conv, computed with torch.nn.Conv1d per node, and the input's last
    T' steps (the shortcut's crop)."""
    conv = gated.conv
    ref = torch.nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size).double()
    with torch.no_grad():
        ref.weight.copy_(conv.weight)
        ref.bias.copy_(conv.bias)
    B, T, N, C = x.shape
    out = ref(x.permute(0, 2, 3, 1).reshape(B * N, C, T))  # [B N, 2H, T']
    out = out.view(B, N, -1, out.size(-1)).permute(0, 3, 1, 2)  # [B, T', N, 2H]
    p, q = out.chunk(2, dim=-1)
    return p, q, x[:, T - out.size(1):]


def norm_reference(block, h):
    """The block's layer norm over (N, H) with its affine, by hand."""
    mean = h.mean(dim=(-2, -1), keepdim=True)
    var = h.var(dim=(-2, -1), unbiased=False, keepdim=True)
    return (h - mean) / (var + 1e-5).sqrt() * block.norm_weight + block.norm_bias


def assert_gradients(block, out):
    out.square().sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def glu_reference(stack, x):
    """A residual GLU conv computed with torch.nn.Conv1d per node: crop(P x) + P*sigmoid(Q)."""
    proj = stack.projections[0]
    p, q, short = conv1d_halves(stack.layers[0], x)
    short = short if isinstance(proj, torch.nn.Identity) else short @ proj.weight.t()
    return short + p * torch.sigmoid(q)


def test_matches_reference(directed_graph):
    edge_index, edge_weight, N = directed_graph
    block = STConvBlock(3, 4, 6, kernel_size=3, K=3).double()
    with torch.no_grad():
        block.norm_weight.uniform_(0.5, 1.5)
        block.norm_bias.uniform_(-1, 1)
    x = torch.randn(2, 8, N, 3, dtype=torch.double)
    out = block(x, edge_index, edge_weight)
    assert out.shape == (2, 4, N, 6)

    cheb = PyGChebConv(6, 4, K=3).double()
    cheb.load_state_dict(block.conv.state_dict())  # ours is PyG's ChebConv: same keys
    h = glu_reference(block.temporal1, x)  # [B, 6, N, 6]
    h = torch.stack([torch.stack([F.relu(cheb(h[b, t], edge_index, edge_weight))
                                  for t in range(h.size(1))]) for b in range(2)])
    h = glu_reference(block.temporal2, h)  # [B, 4, N, 6]
    expected = norm_reference(block, h)
    assert torch.allclose(out, expected, atol=1e-8)


def test_injected_conv_and_repr(directed_graph):
    edge_index, _, N = directed_graph
    block = STConvBlock(2, 4, 8, kernel_size=2, conv=GCNConv(8, 4, node_dim=-2))
    assert isinstance(block.conv, GCNConv)
    assert block(torch.randn(3, 5, N, 2), edge_index).shape == (3, 3, N, 8)
    assert str(STConvBlock(2, 16, 64)) == 'STConvBlock(2, 16, 64, kernel_size=3)'


def test_gradients_save_load_and_permutation(directed_graph, tmp_path, reloaded):
    edge_index, edge_weight, N = directed_graph
    block = STConvBlock(3, 4, 5)
    x = torch.randn(2, 7, N, 3)
    block(x, edge_index, edge_weight).square().sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    block.eval()
    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out = block(x, edge_index, edge_weight)
    out_perm = block(x[:, :, perm], inv[edge_index], edge_weight)
    assert torch.allclose(out_perm, out[:, :, perm], atol=1e-5)

    loaded = reloaded(block)
    assert torch.allclose(loaded(x, edge_index, edge_weight), out)


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    block = STConvBlock(3, 4, 5, kernel_size=3)
    with pytest.raises(ValueError, match='needs at least 5'):
        block(torch.randn(2, 4, N, 3), edge_index)
    with pytest.raises(ValueError, match='in_channels=2'):
        block(torch.randn(2, 6, N, 2), edge_index)
    with pytest.raises(ValueError, match=r'expected \[B, T, N, F\]'):
        block(torch.randn(6, N, 3), edge_index)


@pytest.mark.parametrize('spatial', [4, 6])  # 1x1 shortcut / identity shortcut (S = H)
def test_authors_graph_residual_and_node_affine_match_reference(directed_graph, spatial):
    edge_index, edge_weight, N = directed_graph
    block = STConvBlock(3, spatial, 6, kernel_size=3, K=3, graph_residual=True,
                        num_nodes=N).double()
    assert (block.graph_shortcut is None) == (spatial == 6)
    assert block.norm_weight.shape == (N, 6)
    with torch.no_grad():
        block.norm_weight.uniform_(0.5, 1.5)
        block.norm_bias.uniform_(-1, 1)
    x = torch.randn(2, 8, N, 3, dtype=torch.double)
    out = block(x, edge_index, edge_weight)

    cheb = PyGChebConv(6, spatial, K=3).double()
    cheb.load_state_dict(block.conv.state_dict())
    z = glu_reference(block.temporal1, x)  # [B, 6, N, 6]
    short = z if spatial == 6 else z @ block.graph_shortcut.weight.t()
    g = torch.stack([torch.stack([cheb(z[b, t], edge_index, edge_weight)
                                  for t in range(z.size(1))]) for b in range(2)])
    h = glu_reference(block.temporal2, F.relu(g + short))  # [B, 4, N, 6]
    expected = norm_reference(block, h)
    assert torch.allclose(out, expected, atol=1e-8)

    assert_gradients(block, out)
    assert str(block) == f'STConvBlock(3, {spatial}, 6, kernel_size=3, graph_residual=True, ' \
                         f'num_nodes={N})'
    with pytest.raises(ValueError, match=f'built with num_nodes={N}'):
        block(x[:, :, :-1], edge_index[:, (edge_index < N - 1).all(0)])


def gated_shortcut_reference(gated, align, x, width):
    """The authors' temporal conv: (P + align(crop(X))) * sigmoid(Q), with torch.nn.Conv1d;
    align zero-pads narrower inputs and applies the 1x1 conv to wider ones."""
    p, q, short = conv1d_halves(gated, x)
    C = x.size(-1)
    if C > width:
        short = short @ align.weight.t()
    elif C < width:
        short = torch.cat([short, short.new_zeros(*short.shape[:-1], width - C)], dim=-1)
    return (p + short) * torch.sigmoid(q)


@pytest.mark.parametrize('spatial', [4, 6, 8])  # second conv: zero-pad / identity / 1x1 conv
def test_authors_gated_shortcut_matches_reference(directed_graph, spatial, reloaded):
    edge_index, edge_weight, N = directed_graph
    block = STConvBlock(3, spatial, 6, kernel_size=3, K=2, gated_shortcut=True).double()
    assert block.align1 is None and (block.align2 is not None) == (spatial > 6)
    x = torch.randn(2, 8, N, 3, dtype=torch.double)
    out = block(x, edge_index, edge_weight)

    cheb = PyGChebConv(6, spatial, K=2).double()
    cheb.load_state_dict(block.conv.state_dict())
    z = gated_shortcut_reference(block.temporal1, None, x, 6)  # [B, 6, N, 6], zero-padded
    g = torch.stack([torch.stack([F.relu(cheb(z[b, t], edge_index, edge_weight))
                                  for t in range(z.size(1))]) for b in range(2)])
    h = gated_shortcut_reference(block.temporal2, block.align2, g, 6)  # [B, 4, N, 6]
    expected = norm_reference(block, h)
    assert torch.allclose(out, expected, atol=1e-8)

    assert_gradients(block, out)
    assert str(block) == f'STConvBlock(3, {spatial}, 6, kernel_size=3, gated_shortcut=True)'
    assert torch.allclose(reloaded(block)(x, edge_index, edge_weight), out)
