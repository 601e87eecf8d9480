import pytest
import torch

from pyg_ext.ogb.link_predictor import LinkPredictor


def test_matches_mlp_on_hadamard_product(tmp_path):
    pred = LinkPredictor(8, 16, 1, num_layers=3, dropout=0.5).eval()
    a, b = torch.randn(5, 8), torch.randn(5, 8)
    h = a * b
    for lin in pred.lins[:-1]:
        h = torch.relu(lin(h))
    expected = torch.sigmoid(pred.lins[-1](h))
    assert torch.allclose(pred(a, b), expected)
    pred.train()
    pred(a, b).sum().backward()
    assert all(p.grad is not None for p in pred.parameters())
    assert repr(pred) == 'LinkPredictor(8, 16, 1, num_layers=3)'
    torch.save(pred, tmp_path / 'p.pt')
    loaded = torch.load(tmp_path / 'p.pt', weights_only=False).eval()
    assert torch.equal(loaded(a, b), pred.eval()(a, b))
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        pred(torch.randn(5, 4), torch.randn(5, 4))
