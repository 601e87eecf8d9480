import pytest
import torch
from torch_geometric.nn import GCNConv, GraphConv
from torch_geometric.utils import stochastic_blockmodel_graph

from pyg_ext.nn.autoencoder.graph_mae import GraphMAE, sce_loss


class Encoder(torch.nn.Module):
    def __init__(self, in_channels, hidden_channels):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, hidden_channels)

    def reset_parameters(self):
        self.conv1.reset_parameters()
        self.conv2.reset_parameters()

    def forward(self, x, edge_index, edge_weight=None):
        h = self.conv1(x, edge_index, edge_weight).relu()
        return self.conv2(h, edge_index, edge_weight)


class Recorder(torch.nn.Module):
    """Wraps a decoder conv and keeps its last input and output."""
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, h, edge_index, *args):
        self.input = h
        self.output = self.conv(h, edge_index, *args)
        if self.output.requires_grad:
            self.output.retain_grad()
        return self.output


def build(remask='zero', replace_rate=0.0, mask_rate=0.5, gamma=2.0):
    return GraphMAE(Encoder(6, 16), Recorder(GCNConv(16, 6)), in_channels=6,
                    hidden_channels=16, mask_rate=mask_rate, gamma=gamma,
                    replace_rate=replace_rate, remask=remask)


@pytest.fixture
def graph():
    edge_index = torch.randint(0, 30, (2, 120))
    return torch.randn(30, 6), edge_index


def test_repr():
    assert str(build()) == 'GraphMAE(6, 16, mask_rate=0.5, gamma=2.0)'


@pytest.mark.parametrize('gamma', [1.0, 2.0, 3.0])
def test_sce_loss_hand_formula(gamma):
    x, x_hat = torch.randn(8, 5), torch.randn(8, 5)
    mask = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0], dtype=torch.bool)
    terms = []
    for i in range(8):
        cos = (x[i] @ x_hat[i]) / (x[i].norm() * x_hat[i].norm())
        terms.append((1 - cos) ** gamma)
    terms = torch.stack(terms)
    assert torch.allclose(sce_loss(x, x_hat, gamma), terms.mean(), atol=1e-6)
    assert torch.allclose(sce_loss(x, x_hat, gamma, mask), terms[mask].mean(), atol=1e-6)
    # Scaling either side does not change a cosine error.
    assert torch.allclose(sce_loss(3 * x, 0.5 * x_hat, gamma, mask), terms[mask].mean(),
                          atol=1e-6)
    assert torch.allclose(sce_loss(x, x, gamma), torch.zeros(()), atol=1e-6)


def test_mask_places_the_token(graph):
    x, _ = graph
    model = build(mask_rate=0.3)
    with torch.no_grad():
        model.mask_token.copy_(torch.randn(1, 6))
    x_masked, mask = model.mask(x)
    assert mask.dtype == torch.bool and int(mask.sum()) == int(0.3 * 30)
    assert torch.equal(x_masked[~mask], x[~mask])
    assert torch.equal(x_masked[mask], model.mask_token.expand(int(mask.sum()), 6))
    _, other = model.mask(x)
    assert not torch.equal(mask, other)  # a fresh random set each call


def test_random_substitution(graph):
    x, _ = graph
    model = build(mask_rate=0.5, replace_rate=0.4)
    with torch.no_grad():
        model.mask_token.fill_(100.0)
    x_masked, mask = model.mask(x)
    token_rows = (x_masked == 100.0).all(dim=-1)
    assert int(mask.sum()) == 15 and int(token_rows.sum()) == 15 - int(0.4 * 15)
    assert not token_rows[~mask].any()
    noise = mask & ~token_rows
    # Substituted rows hold some node's original features.
    assert all((x == row).all(dim=-1).any() for row in x_masked[noise])


def test_only_masked_nodes_enter_the_loss(graph):
    x, edge_index = graph
    model = build()
    loss = model(x, edge_index)
    loss.backward()
    decoder = model.decoder
    grad_rows = decoder.output.grad.abs().sum(dim=-1) > 0
    masked_rows = (decoder.input == 0).all(dim=-1)  # re-masked with zeros
    assert int(masked_rows.sum()) == 15
    assert torch.equal(grad_rows, masked_rows)
    # The loss equals the SCE of the decoder's output on those nodes.
    assert torch.allclose(loss, sce_loss(x[masked_rows], decoder.output[masked_rows]),
                          atol=1e-6)


def test_mask_token_receives_gradient(graph):
    x, edge_index = graph
    model = build(remask='token')
    model(x, edge_index).backward()
    assert model.mask_token.grad is not None and model.mask_token.grad.abs().sum() > 0
    assert model.dmask_token.grad is not None and model.dmask_token.grad.abs().sum() > 0
    for name, param in model.named_parameters():
        assert param.grad is not None, name


def test_remask_with_token(graph):
    x, edge_index = graph
    model = build(remask='token')
    with torch.no_grad():
        model.dmask_token.copy_(torch.randn(1, 16))
    x_masked, mask = model.mask(x)
    model.reconstruct(x_masked, mask, edge_index)
    seen = model.decoder.input
    assert torch.equal(seen[mask], model.dmask_token.expand(int(mask.sum()), 16))
    assert not (seen[~mask] == model.dmask_token).all(dim=-1).any()


def test_embed_is_the_unmasked_encoder(graph):
    x, edge_index = graph
    model = build()
    weight = torch.rand(edge_index.size(1))
    assert torch.equal(model.embed(x, edge_index), model.encoder(x, edge_index))
    assert torch.equal(model.embed(x, edge_index, weight),
                       model.encoder(x, edge_index, weight))
    assert torch.equal(model.embed(x, edge_index), model.embed(x, edge_index))


def test_extra_arguments_reach_encoder_and_decoder(graph):
    x, edge_index = graph
    model = build()
    torch.manual_seed(1)
    with_weight = model(x, edge_index, torch.rand(edge_index.size(1)))
    torch.manual_seed(1)
    without = model(x, edge_index)
    assert not torch.allclose(with_weight, without)


def test_pretraining_reduces_the_loss():
    # Three communities whose members share a feature pattern: a masked node's features
    # can be told from its neighbours.
    sizes = torch.tensor([20, 20, 20])
    probs = torch.full((3, 3), 0.02).fill_diagonal_(0.3)
    edge_index = stochastic_blockmodel_graph(sizes, probs)
    patterns = torch.randn(3, 6)
    x = patterns.repeat_interleave(sizes, dim=0) + 0.1 * torch.randn(60, 6)
    model = build()

    def held_out_loss():
        state = torch.get_rng_state()
        torch.manual_seed(123)  # the same maskings before and after training
        with torch.no_grad():
            loss = sum(float(model(x, edge_index)) for _ in range(5)) / 5
        torch.set_rng_state(state)
        return loss

    before = held_out_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(50):
        optimizer.zero_grad()
        model(x, edge_index).backward()
        optimizer.step()
    assert held_out_loss() < 0.1 * before


def test_reset_parameters(graph):
    model = build(remask='token')
    with torch.no_grad():
        model.mask_token.fill_(1.0)
        model.dmask_token.fill_(1.0)
    before = model.encoder.conv1.lin.weight.clone()
    model.reset_parameters()
    assert model.mask_token.abs().sum() == 0 and model.dmask_token.abs().sum() == 0
    assert not torch.equal(before, model.encoder.conv1.lin.weight)
    assert build().dmask_token is None


def test_save_load_roundtrip(graph, reloaded):
    x, edge_index = graph
    model = build()
    loaded = reloaded(model)
    assert torch.equal(loaded.embed(x, edge_index), model.embed(x, edge_index))
    torch.manual_seed(3)
    expected = model(x, edge_index)
    torch.manual_seed(3)
    assert torch.equal(loaded(x, edge_index), expected)


def test_compiles_without_graph_breaks(graph, graph_breaks):
    # GraphConv rather than GCNConv: GCNConv's self-loop insertion is data-dependent.
    x, edge_index = graph
    model = GraphMAE(GraphConv(6, 16), GraphConv(16, 6), in_channels=6, hidden_channels=16,
                     replace_rate=0.2, remask='token')
    count, why = graph_breaks(model, x, edge_index)
    assert count == 0, why


def test_errors_name_the_fix(graph):
    x, edge_index = graph
    with pytest.raises(ValueError, match=r'choose a fraction in \(0, 1\)'):
        build(mask_rate=1.0)
    with pytest.raises(ValueError, match=r'choose a fraction in \[0, 1\)'):
        build(replace_rate=-0.1)
    with pytest.raises(ValueError, match='needs gamma >= 1'):
        build(gamma=0.5)
    with pytest.raises(ValueError, match="choose one of \\('zero', 'token'\\)"):
        build(remask='mean')
    with pytest.raises(ValueError, match='build the layer with in_channels=4'):
        build()(torch.randn(30, 4), edge_index)
    model = GraphMAE(Encoder(6, 8), GCNConv(16, 6), in_channels=6, hidden_channels=16)
    with pytest.raises(ValueError, match='pass hidden_channels=8'):
        model(x, edge_index)
    model = GraphMAE(Encoder(6, 16), GCNConv(16, 5), in_channels=6, hidden_channels=16)
    with pytest.raises(ValueError, match='build it with 6 output channels'):
        model(x, edge_index)
