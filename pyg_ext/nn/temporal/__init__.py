"""Spatio-temporal layers on ``[B, T, N, F]`` tensors."""
from pyg_ext.nn.temporal.astgcn_block import ASTGCNBlock
from pyg_ext.nn.temporal.graph_wave_net_layer import GraphWaveNetLayer
from pyg_ext.nn.temporal.sparse_time_attention import SparseTimeAttention
from pyg_ext.nn.temporal.st_attention_block import STAttentionBlock
from pyg_ext.nn.temporal.st_conv_block import STConvBlock
from pyg_ext.nn.temporal.st_transformer_layer import STTransformerLayer
from pyg_ext.nn.temporal.transform_attention import TransformAttention

__all__ = [
    'STConvBlock',
    'GraphWaveNetLayer',
    'ASTGCNBlock',
    'STAttentionBlock',
    'TransformAttention',
    'STTransformerLayer',
    'SparseTimeAttention',
]
