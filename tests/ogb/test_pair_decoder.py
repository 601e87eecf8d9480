import pytest
import torch
from torch_geometric.nn.models import InnerProductDecoder

from pyg_ext.nn.autoencoder.bilinear_decoder import BilinearDecoder
from pyg_ext.nn.autoencoder.mlp_decoder import MLPDecoder
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.pair_decoder import PairDecoder


def _pairs(P=7, F=6):
    return torch.randn(P, F), torch.randn(P, F)


def test_bilinear_matches_formula():
    decoder = PairDecoder(BilinearDecoder(6))
    with torch.no_grad():
        decoder.decoder.weight.normal_()
    h_src, h_dst = _pairs()
    out = decoder(h_src, h_dst)
    W = decoder.decoder.weight
    expected = torch.stack([torch.sigmoid(h_src[k] @ W @ h_dst[k]) for k in range(7)])
    assert out.shape == (7, 1) and ((0 <= out) & (out <= 1)).all()
    assert torch.allclose(out.view(-1), expected, atol=1e-6)
    # Asymmetric W: the order of the pair matters.
    assert not torch.allclose(decoder(h_dst, h_src), out, atol=1e-4)


def test_inner_product_matches_formula():
    decoder = PairDecoder(InnerProductDecoder())
    h_src, h_dst = _pairs()
    expected = torch.sigmoid((h_src * h_dst).sum(dim=-1, keepdim=True))
    assert torch.allclose(decoder(h_src, h_dst), expected, atol=1e-6)
    decoder.reset_parameters()  # no weights: nothing to reset, no error
    assert repr(decoder) == 'PairDecoder(InnerProductDecoder())'


def test_mlp_decoder_is_ogb_link_predictor():
    # The `-mlp` entries: pyg_ext's MLPDecoder (Hadamard) with OGB's LinkPredictor's weights
    # gives the LinkPredictor's probabilities.
    reference = LinkPredictor(6, 16, 1, num_layers=3)
    decoder = PairDecoder(MLPDecoder(6, 16, num_layers=3))
    with torch.no_grad():
        for lin, ref in zip(decoder.decoder.mlp.lins, reference.lins):
            lin.weight.copy_(ref.weight)
            lin.bias.copy_(ref.bias)
    h_src, h_dst = _pairs()
    assert torch.allclose(decoder(h_src, h_dst), reference(h_src, h_dst), atol=1e-6)


def test_gradients_reset_repr_and_save(tmp_path):
    decoder = PairDecoder(BilinearDecoder(6))
    h_src, h_dst = _pairs()
    h_src.requires_grad_()
    decoder(h_src, h_dst).sum().backward()
    assert decoder.decoder.weight.grad.abs().sum() > 0 and h_src.grad.abs().sum() > 0
    with torch.no_grad():
        decoder.decoder.weight.zero_()
    decoder.reset_parameters()
    assert torch.equal(decoder.decoder.weight, torch.eye(6))
    assert repr(decoder) == 'PairDecoder(BilinearDecoder(6))'
    mlp = PairDecoder(MLPDecoder(6, 16))
    assert repr(mlp) == "PairDecoder(MLPDecoder(6, 16, num_layers=2, combine='hadamard'))"
    torch.save(mlp, tmp_path / 'decoder.pt')
    loaded = torch.load(tmp_path / 'decoder.pt', weights_only=False)
    assert torch.equal(loaded(h_src, h_dst), mlp(h_src, h_dst))


def test_bad_input():
    decoder = PairDecoder(BilinearDecoder(6))
    h_src, h_dst = _pairs()
    with pytest.raises(ValueError, match=r"'h_dst' has shape \[5, 6\], 'h_src' \[7, 6\]"):
        decoder(h_src, h_dst[:5])
    with pytest.raises(ValueError, match=r"'h_src' has shape \[6\]; expected .* \[P, F\]"):
        decoder(h_src[0], h_dst[0])
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        decoder(h_src[:, :4], h_dst[:, :4])
