import pytest
import torch
from torch.testing import assert_close

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.nn.models.gconv_lstm import GConvLSTM
from pyg_ext.nn.recurrent.graph_lstm_cell import GraphLSTMCell

pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')
TOL = dict(atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('peephole,dense', [(True, None), (False, False)])
def test_equals_cells_normalising_per_gate(directed_graph, peephole, dense):
    edge_index, edge_weight, N = directed_graph
    model = GConvLSTM(2, 3, 8, horizon=4, K=2, num_layers=2, peephole=peephole, dense=dense)
    assert (model.encoder.cells[0].weight_ci is not None) is peephole
    rec = Recurrent([GraphLSTMCell.gconv_lstm(2 if i == 0 else 8, 8, K=2, peephole=peephole)
                     for i in range(2)])
    rec.load_state_dict(model.encoder.state_dict())
    x = torch.randn(2, 5, N, 2)
    h, _ = rec(x, None, edge_index, edge_weight)
    expected = model.out(h[:, -1]).view(2, N, 4, 3).transpose(1, 2)
    assert_close(model(x, edge_index, edge_weight), expected, **TOL)
    assert str(model) == 'GConvLSTM(2, 3, hidden_channels=8, horizon=4, num_layers=2, K=2)'
