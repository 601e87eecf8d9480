import pytest
import torch
from torch.testing import assert_close

from pyg_ext.nn.models.cheb_graph_rnn_model import ChebGraphRNNModel
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell
from pyg_ext.nn.recurrent.graph_lstm_cell import GraphLSTMCell

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


def build(K=2, normalization='sym', dense=None, lstm=False, **kw):
    cells = ([GraphLSTMCell.gconv_lstm(2, 8, K, normalization, normalize=False)] if lstm else
             [GraphGRUCell.gconv_gru(2 if i == 0 else 8, 8, K, normalization, normalize=False)
              for i in range(2)])
    return ChebGraphRNNModel(cells, 2, 1, 8, horizon=2, K=K, normalization=normalization,
                             dense=dense, **kw)


@pytest.mark.parametrize('normalization', ['sym', 'rw'])
@pytest.mark.parametrize('dense', [True, False])
def test_graph_args_is_the_transposed_scaled_laplacian(directed_graph, normalization, dense):
    # By hand: A[i, j] = w for the edge i -> j, D = out-degrees; with lambda_max = 2 the
    # scaled Laplacian 2 L / lambda_max - I is -D^-1/2 A D^-1/2 (sym) or -D^-1 A (rw).
    edge_index, edge_weight, N = directed_graph
    adj = torch.zeros(N, N).index_put_(tuple(edge_index), edge_weight)  # [N, N]
    deg = adj.sum(dim=1)  # [N]
    if normalization == 'sym':
        expected = -deg.rsqrt()[:, None] * adj * deg.rsqrt()[None, :]  # [N, N]
    else:
        expected = -adj / deg[:, None]  # [N, N]
    model = build(normalization=normalization, dense=dense)
    (lap_t, ) = model.graph_args(torch.randn(1, 3, N, 2), edge_index, edge_weight)
    assert lap_t.layout == (torch.strided if dense else torch.sparse_csr)
    assert_close(lap_t.to_dense(), expected.t())


def test_repr_and_state_dict_roundtrip(directed_graph, reloaded):
    edge_index, edge_weight, N = directed_graph
    for lstm, layers in [(False, 2), (True, 1)]:
        model = build(K=3, lstm=lstm)
        assert str(model) == (f'ChebGraphRNNModel(2, 1, hidden_channels=8, horizon=2, '
                              f'num_layers={layers}, K=3)')
        x = torch.randn(2, 4, N, 2)
        fresh = build(K=3, lstm=lstm)
        fresh.load_state_dict(reloaded(model.state_dict(), weights_only=True))
        assert_close(fresh(x, edge_index, edge_weight), model(x, edge_index, edge_weight))
        fresh.reset_parameters()
        assert not torch.allclose(fresh(x, edge_index, edge_weight),
                                  model(x, edge_index, edge_weight))
