"""Graph layers as PyG ``MessagePassing`` classes, one per file."""
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.conv.diffusion_supports import DiffusionSupports
from pyg_ext.nn.conv.gated_graph_residual_conv import GatedGraphResidualConv
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.nn.conv.graph_transformer_conv import GraphTransformerConv
from pyg_ext.nn.conv.moe_conv import MoEConv
from pyg_ext.nn.conv.node_adaptive_conv import NodeAdaptiveConv
from pyg_ext.nn.conv.node_filters import NodeFilters

__all__ = [
    'GraphAttentionConv',
    'GraphTransformerConv',
    'ChebConv',
    'DiffConv',
    'DiffusionSupports',
    'GatedGraphResidualConv',
    'MoEConv',
    'NodeAdaptiveConv',
    'NodeFilters',
]
