import pytest
import torch
from torch_geometric.utils import to_torch_csr_tensor

from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.models.stgcn import STGCN
from pyg_ext.nn.temporal.st_conv_block import STConvBlock


def blocks_reference(model, x, edge_index, edge_weight, N):
    """The ST-Conv blocks applied one by one to the scaled Laplacian (each block is checked
    against its own reference in the block's tests)."""
    lap_index, lap_weight = ChebConv.scaled_laplacian(edge_index, edge_weight, N, 'sym',
                                                      dtype=x.dtype)
    h = x
    for block in model.blocks:
        h = block(h, to_torch_csr_tensor(lap_index.flip(0), lap_weight.double(), (N, N)))
    return h


def build(**kwargs):
    args = dict(in_channels=2, out_channels=3, hidden_channels=8, horizon=4, num_nodes=None,
                input_steps=10, spatial_channels=4, num_blocks=2, kernel_size=3, K=3)
    args.update(kwargs)
    return STGCN(**args)


def test_shape_and_reference(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build().double().eval()
    x = torch.randn(2, 10, N, 2, dtype=torch.double)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (2, 4, N, 3)
    assert model.output_kernel == 10 - 8  # K_o = T_in - 2 L (K_t - 1)

    # Reference: the same blocks with ChebConvs that normalise the graph themselves, and the
    # output layer written out.
    h = x
    for block in model.blocks:
        conv = ChebConv(8, 4, 3).double()
        conv.load_state_dict(block.conv.state_dict())
        ref = STConvBlock(block.in_channels, 4, 8, conv=conv).double().eval()
        ref.load_state_dict(block.state_dict())
        h = ref(h, edge_index, edge_weight)
    h = model.out_temporal(h)
    h = torch.nn.functional.layer_norm(h, (8, ), model.out_norm.weight, model.out_norm.bias)
    h = torch.sigmoid(h @ model.out_gate.weight.t() + model.out_gate.bias)
    h = h @ model.readout.weight.t() + model.readout.bias  # [B, 1, N, 4 * 3]
    expected = h[:, 0].view(2, N, 4, 3).transpose(1, 2)
    assert torch.allclose(out, expected, atol=1e-8)


def test_gradients_batch_and_permutation(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build(dropout=0.1)
    x = torch.randn(3, 10, N, 2)
    model(x, edge_index, edge_weight).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name

    model.eval()
    out = model(x, edge_index, edge_weight)
    assert torch.allclose(model(x[1:2], edge_index, edge_weight), out[1:2], atol=1e-5)

    perm = torch.randperm(N)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(N)
    out_perm = model(x[:, :, perm], inv[edge_index], edge_weight)
    assert torch.allclose(out_perm, out[:, :, perm], atol=1e-5)


def test_repr_save_load(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build().eval()
    assert str(model) == 'STGCN(2, 3, hidden_channels=8, horizon=4, num_blocks=2)'
    assert STGCN.supports_teacher_forcing is False
    x = torch.randn(2, 10, N, 2)
    loaded = reloaded(model)
    assert torch.allclose(loaded(x, edge_index, edge_weight), model(x, edge_index, edge_weight))


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    with pytest.raises(ValueError, match='need T_in >= 9'):
        build(input_steps=8)
    model = build()
    with pytest.raises(ValueError, match=r'input_steps=12\) \(T_in >= 9\)'):
        model(torch.randn(1, 12, N, 2), edge_index)
    with pytest.raises(ValueError, match='in_channels=5'):
        model(torch.randn(1, 10, N, 5), edge_index)
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        model(torch.randn(1, 10, N, 2), edge_index.t())


def test_authors_options_reference_gradients_and_errors(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build(num_nodes=N, graph_residual=True, node_affine=True).double()
    with torch.no_grad():
        model.node_bias.normal_()
        model.out_norm.weight.uniform_(0.5, 1.5)
    assert all(b.graph_residual and b.num_nodes == N for b in model.blocks)
    x = torch.randn(2, 10, N, 2, dtype=torch.double)
    out = model(x, edge_index, edge_weight)
    h = blocks_reference(model, x, edge_index, edge_weight, N)
    h = model.out_temporal(h)
    # The authors' output layer norm: over nodes and channels, a per-(node, channel) affine.
    mean = h.mean(dim=(-2, -1), keepdim=True)
    var = h.var(dim=(-2, -1), unbiased=False, keepdim=True)
    h = (h - mean) / (var + 1e-5).sqrt() * model.out_norm.weight + model.out_norm.bias
    h = torch.sigmoid(h @ model.out_gate.weight.t() + model.out_gate.bias)
    h = h @ model.readout.weight.t() + model.readout.bias + model.node_bias  # per-node bias
    expected = h[:, 0].view(2, N, 4, 3).transpose(1, 2)
    assert torch.allclose(out, expected, atol=1e-8)

    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert str(model) == ('STGCN(2, 3, hidden_channels=8, horizon=4, num_blocks=2, '
                          f'graph_residual=True, node_affine=True, num_nodes={N})')
    assert torch.allclose(reloaded(model)(x, edge_index, edge_weight), out)
    with pytest.raises(ValueError, match='node_affine=True learns parameters per node'):
        build(node_affine=True)


def test_authors_gated_shortcut_reaches_every_temporal_conv(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build(gated_shortcut=True).double()
    assert all(block.gated_shortcut for block in model.blocks)
    x = torch.randn(2, 10, N, 2, dtype=torch.double)
    out = model(x, edge_index, edge_weight)
    h = blocks_reference(model, x, edge_index, edge_weight, N)
    # the output layer's GLU carries its input's last step through the gate
    p, q = model.out_temporal.conv(h).chunk(2, dim=-1)  # [B, 1, N, H] each
    h = model.out_norm((p + h[:, -1:]) * torch.sigmoid(q))
    h = torch.sigmoid(h @ model.out_gate.weight.t() + model.out_gate.bias)
    h = h @ model.readout.weight.t() + model.readout.bias
    expected = h[:, 0].view(2, N, 4, 3).transpose(1, 2)
    assert torch.allclose(out, expected, atol=1e-8)
    assert str(model) == ('STGCN(2, 3, hidden_channels=8, horizon=4, num_blocks=2, '
                          'gated_shortcut=True)')
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
