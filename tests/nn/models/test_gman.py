import pytest
import torch

from pyg_ext.nn.models.gman import GMAN


def build(N, **kwargs):
    args = dict(in_channels=2, out_channels=3, hidden_channels=8, horizon=4, num_nodes=N,
                input_steps=5, num_blocks=1, heads=2)
    args.update(kwargs)
    return GMAN(**args)


def test_learned_embeddings(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    model = build(N)
    assert str(model) == ("GMAN(2, 3, hidden_channels=8, horizon=4, num_blocks=1, "
                          "spatial_embedding='learned')")
    x = torch.randn(3, 5, N, 2)
    out = model(x, edge_index, edge_weight)
    assert out.shape == (3, 4, N, 3)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    model.eval()
    out = model(x, edge_index, edge_weight)
    assert torch.allclose(model(x[:1], edge_index, edge_weight), out[:1], atol=1e-5)
    assert torch.allclose(reloaded(model)(x, edge_index, edge_weight), out)


def test_laplacian_embedding_and_covariates(directed_graph):
    edge_index, edge_weight, N = directed_graph
    model = build(None, spatial_embedding='laplacian', eigenvectors=4, covariate_channels=8)
    assert model.node_embedding is None and model.step_embedding is None
    vectors = model.laplacian_eigenvectors(edge_index, edge_weight, N, torch.double)
    assert vectors.shape == (N, 4)
    assert torch.allclose(vectors.t() @ vectors, torch.eye(4, dtype=torch.double), atol=1e-8)
    x, cov = torch.randn(2, 5, N, 2), torch.randn(2, 9, 8)
    out = model(x, edge_index, edge_weight, covariates=cov)
    assert out.shape == (2, 4, N, 3)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match=r'C=8\]'):
        model(x, edge_index, edge_weight, covariates=cov[:, :5])


def test_errors(directed_graph):
    edge_index, _, N = directed_graph
    with pytest.raises(ValueError, match='pass num_nodes=N'):
        build(None)
    with pytest.raises(ValueError, match="use 'learned'"):
        build(N, spatial_embedding='node2vec')
    model = build(N)
    with pytest.raises(ValueError, match='input_steps=6'):
        model(torch.randn(1, 6, N, 2), edge_index)
    with pytest.raises(ValueError, match='in_channels=4'):
        model(torch.randn(1, 5, N, 4), edge_index)
    with pytest.raises(ValueError, match='covariate_channels=C'):
        model(torch.randn(1, 5, N, 2), edge_index, covariates=torch.randn(1, 9, 8))
