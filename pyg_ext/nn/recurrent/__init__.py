"""Recurrent graph layers: GGNN, the fixed-point RecGNN, and graph-recurrent cells."""
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell
from pyg_ext.nn.recurrent.graph_lstm_cell import GraphLSTMCell
from pyg_ext.nn.recurrent.graph_rnn_cell import GraphRNNCell
from pyg_ext.nn.recurrent.node_adaptive_gru_scan import (
    node_adaptive_gru_scan,
    node_adaptive_gru_unroll,
)
from pyg_ext.nn.recurrent.rec_gnn import RecGNN
from pyg_ext.nn.recurrent.recurrent_graph_conv import RecurrentGraphConv

__all__ = [
    'RecurrentGraphConv',
    'RecGNN',
    'GraphRNNCell',
    'GraphGRUCell',
    'GraphLSTMCell',
    'node_adaptive_gru_scan',
    'node_adaptive_gru_unroll',
]
