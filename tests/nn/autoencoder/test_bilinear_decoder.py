import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.nn.models import GAE, VGAE, InnerProductDecoder
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import stochastic_blockmodel_graph

from pyg_ext.nn.autoencoder.bilinear_decoder import BilinearDecoder
from pyg_ext.nn.autoencoder.link_metrics import roc_auc


class GCNEncoder(torch.nn.Module):
    def __init__(self, in_channels, out_channels, variational=False):
        super().__init__()
        self.conv1 = GCNConv(in_channels, 2 * out_channels)
        self.conv_mu = GCNConv(2 * out_channels, out_channels)
        self.conv_logstd = GCNConv(2 * out_channels, out_channels) if variational else None

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index).relu()
        if self.conv_logstd is None:
            return self.conv_mu(h, edge_index)
        return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)


def community_graph():
    """Four communities, dense inside and sparse across; features are noisy memberships."""
    sizes = torch.tensor([30, 30, 30, 30])
    probs = torch.full((4, 4), 0.01).fill_diagonal_(0.3)
    edge_index = stochastic_blockmodel_graph(sizes, probs, directed=False)
    labels = torch.arange(4).repeat_interleave(sizes)
    x = torch.nn.functional.one_hot(labels, 4).float() + 0.5 * torch.randn(120, 4)
    return Data(x=x, edge_index=edge_index, num_nodes=120)


def test_repr():
    assert str(BilinearDecoder(16)) == 'BilinearDecoder(16)'


def test_identity_weight_equals_inner_product():
    z = torch.randn(10, 8)
    edge_index = torch.randint(0, 10, (2, 25))
    decoder, reference = BilinearDecoder(8), InnerProductDecoder()
    assert torch.equal(decoder.weight, torch.eye(8))  # initialised as the inner product
    for sigmoid in (True, False):
        assert torch.allclose(decoder(z, edge_index, sigmoid=sigmoid),
                              reference(z, edge_index, sigmoid=sigmoid), atol=1e-6)
        assert torch.allclose(decoder.forward_all(z, sigmoid=sigmoid),
                              reference.forward_all(z, sigmoid=sigmoid), atol=1e-6)


def test_matches_bilinear_form_and_is_directed():
    z = torch.randn(10, 8)
    edge_index = torch.randint(0, 10, (2, 25))
    decoder = BilinearDecoder(8)
    with torch.no_grad():
        decoder.weight.copy_(torch.randn(8, 8))
    W = decoder.weight
    expected = torch.stack([z[i] @ W @ z[j] for i, j in edge_index.t().tolist()])
    logits = decoder(z, edge_index, sigmoid=False)
    assert torch.allclose(logits, expected, atol=1e-5)
    assert torch.allclose(decoder(z, edge_index), torch.sigmoid(expected), atol=1e-6)
    dense = decoder.forward_all(z, sigmoid=False)
    assert torch.allclose(dense[edge_index[0], edge_index[1]], logits, atol=1e-5)
    assert not torch.allclose(dense, dense.t(), atol=1e-3)  # i -> j differs from j -> i


def test_leading_dimensions():
    z = torch.randn(3, 10, 8)  # [B, N, F]
    edge_index = torch.randint(0, 10, (2, 25))
    decoder = BilinearDecoder(8)
    with torch.no_grad():
        decoder.weight.copy_(torch.randn(8, 8))
    out, dense = decoder(z, edge_index), decoder.forward_all(z)
    assert out.shape == (3, 25) and dense.shape == (3, 10, 10)
    for b in range(3):
        assert torch.allclose(out[b], decoder(z[b], edge_index), atol=1e-6)
        assert torch.allclose(dense[b], decoder.forward_all(z[b]), atol=1e-6)


def test_gae_with_bilinear_decoder_trains():
    data = community_graph()
    train, _, test = RandomLinkSplit(num_val=0.0, num_test=0.15, is_undirected=True,
                                     split_labels=True)(data)
    model = GAE(GCNEncoder(4, 16), BilinearDecoder(16))
    model.reset_parameters()
    assert torch.equal(model.decoder.weight, torch.eye(16))  # GAE resets the decoder too
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

    def step():
        optimizer.zero_grad()
        z = model.encode(train.x, train.edge_index)
        loss = model.recon_loss(z, train.pos_edge_label_index)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    first = step()
    assert model.decoder.weight.grad.abs().sum() > 0
    for _ in range(40):
        last = step()
    assert last < 0.85 * first
    model.eval()
    with torch.no_grad():
        z = model.encode(train.x, train.edge_index)
        pos = model.decode(z, test.pos_edge_label_index)
        neg = model.decode(z, test.neg_edge_label_index)
    assert float(roc_auc(pos, neg)) > 0.8
    auc, ap = model.test(z, test.pos_edge_label_index, test.neg_edge_label_index)
    assert abs(auc - float(roc_auc(pos, neg))) < 1e-6


def test_vgae_with_bilinear_decoder():
    data = community_graph()
    model = VGAE(GCNEncoder(4, 8, variational=True), BilinearDecoder(8))
    z = model.encode(data.x, data.edge_index)
    loss = model.recon_loss(z, data.edge_index) + model.kl_loss() / data.num_nodes
    loss.backward()
    assert torch.isfinite(loss) and model.decoder.weight.grad is not None


def test_save_load_roundtrip(reloaded):
    decoder = BilinearDecoder(8)
    with torch.no_grad():
        decoder.weight.copy_(torch.randn(8, 8))
    loaded = reloaded(decoder)
    z = torch.randn(6, 8)
    assert torch.equal(loaded.forward_all(z), decoder.forward_all(z))


def test_compiles_without_graph_breaks(graph_breaks):
    decoder = BilinearDecoder(8)
    count, why = graph_breaks(decoder, torch.randn(10, 8), torch.randint(0, 10, (2, 20)))
    assert count == 0, why


def test_errors_name_the_fix():
    decoder = BilinearDecoder(8)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        decoder(torch.randn(10, 5), torch.randint(0, 10, (2, 20)))
    with pytest.raises(ValueError, match=r'pass edge_index.t\(\)'):
        decoder(torch.randn(10, 8), torch.randint(0, 10, (20, 2)))
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        decoder.forward_all(torch.randn(10, 5))
