import pytest
import torch
from torch.testing import assert_close

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.models.gconv_gru import GConvGRU
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('num_layers', [1, 2])
@pytest.mark.parametrize('dense', [None, True, False])
def test_equals_cells_normalising_per_gate(directed_graph, num_layers, dense):
    # The model's once-per-forward Laplacian (dense or CSR) gives what plain ChebConv gates
    # that normalise the raw graph themselves give.
    edge_index, edge_weight, N = directed_graph
    model = GConvGRU(2, 3, 8, horizon=4, K=3, num_layers=num_layers, dense=dense)
    cells = [GraphGRUCell.gconv_gru(2 if i == 0 else 8, 8, K=3) for i in range(num_layers)]
    rec = Recurrent(cells)
    rec.load_state_dict(model.encoder.state_dict())
    x = torch.randn(2, 5, N, 2)
    h, _ = rec(x, None, edge_index, edge_weight)
    expected = model.out(h[:, -1]).view(2, N, 4, 3).transpose(1, 2)
    assert_close(model(x, edge_index, edge_weight), expected, **TOL)


def test_normalization_and_dropout(directed_graph):
    edge_index, edge_weight, N = directed_graph
    x = torch.randn(2, 4, N, 2)
    sym = GConvGRU(2, 1, 8, horizon=2, K=3, normalization='sym')
    rw = GConvGRU(2, 1, 8, horizon=2, K=3, normalization='rw')
    rw.load_state_dict(sym.state_dict())
    assert not torch.allclose(sym(x, edge_index, edge_weight), rw(x, edge_index, edge_weight))
    model = GConvGRU(2, 1, 8, horizon=2, num_layers=2, dropout=0.5)
    model.eval()
    assert_close(model(x, edge_index), model(x, edge_index))
    model.train()
    assert not torch.allclose(model(x, edge_index), model(x, edge_index))
