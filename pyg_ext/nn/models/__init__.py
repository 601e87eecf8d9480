"""Spatio-temporal forecasting models: ``[B, T_in, N, F_in] -> [B, horizon, N, F_out]``."""
from pyg_ext.nn.models.a3tgcn import A3TGCN
from pyg_ext.nn.models.agcrn import AGCRN
from pyg_ext.nn.models.astgcn import ASTGCN
from pyg_ext.nn.models.cheb_graph_rnn_model import ChebGraphRNNModel
from pyg_ext.nn.models.dcrnn import DCRNN
from pyg_ext.nn.models.gconv_gru import GConvGRU
from pyg_ext.nn.models.gconv_lstm import GConvLSTM
from pyg_ext.nn.models.gman import GMAN
from pyg_ext.nn.models.graph_wave_net import GraphWaveNet
from pyg_ext.nn.models.gru_baseline import GRUBaseline
from pyg_ext.nn.models.historical_average import HistoricalAverage
from pyg_ext.nn.models.st_transformer import STTransformer
from pyg_ext.nn.models.stgcn import STGCN
from pyg_ext.nn.models.tgcn import TGCN

__all__ = [
    'GConvGRU',
    'GConvLSTM',
    'ChebGraphRNNModel',
    'TGCN',
    'A3TGCN',
    'DCRNN',
    'AGCRN',
    'STGCN',
    'ASTGCN',
    'GraphWaveNet',
    'GMAN',
    'STTransformer',
    'GRUBaseline',
    'HistoricalAverage',
]
