"""Graph-agnostic building blocks: they act on the last dimension and never see edge_index."""
from pyg_ext.blocks.activation import SquaredReLU, activation_resolver
from pyg_ext.blocks.additive_score import AdditiveScore
from pyg_ext.blocks.attention_patterns import (
    AttentionPattern,
    bigbird_pattern,
    dense_mask,
    fixed_pattern,
    sliding_window_pattern,
    strided_pattern,
)
from pyg_ext.blocks.attention_score import AttentionScore
from pyg_ext.blocks.bidirectional import Bidirectional
from pyg_ext.blocks.bilinear_score import BilinearScore
from pyg_ext.blocks.dense_temporal_stack import DenseTemporalStack
from pyg_ext.blocks.depthwise_separable_conv import DepthwiseSeparableConv
from pyg_ext.blocks.dot_score import DotScore
from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.gated_mlp import GatedMLP
from pyg_ext.blocks.gated_temporal_conv import GatedTemporalConv
from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.blocks.gru_gates import gru_gates
from pyg_ext.blocks.highway import Highway
from pyg_ext.blocks.learned_positional_encoding import LearnedPositionalEncoding
from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.blocks.lstm_gates import lstm_gates
from pyg_ext.blocks.moe import MoE, load_balancing_loss, noisy_top_k_gating
from pyg_ext.blocks.multi_head_attention import MultiHeadAttention
from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.receptive_field import receptive_field
from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.blocks.relative_positional_encoding import RelativePositionalEncoding
from pyg_ext.blocks.residual import Residual
from pyg_ext.blocks.residual_temporal_stack import ResidualTemporalStack
from pyg_ext.blocks.rnn_cell import RNNCell
from pyg_ext.blocks.rotary_positional_encoding import RotaryPositionalEncoding
from pyg_ext.blocks.scaled_dot_score import ScaledDotScore
from pyg_ext.blocks.seq2seq import Seq2Seq, inverse_sigmoid_schedule
from pyg_ext.blocks.sinusoidal_positional_encoding import SinusoidalPositionalEncoding
from pyg_ext.blocks.sparse_attention import SparseAttention, sparse_attention
from pyg_ext.blocks.spatial_gating_unit import SpatialGatingUnit
from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.blocks.transformer_layer import TransformerLayer
from pyg_ext.blocks.transposed_temporal_conv import TransposedTemporalConv

__all__ = [
    # feed-forward and gating
    'FFN',
    'Residual',
    'Highway',
    'MoE',
    'noisy_top_k_gating',
    'load_balancing_loss',
    'GatedMLP',
    'SpatialGatingUnit',
    'activation_resolver',
    'SquaredReLU',
    # recurrence
    'RNNCell',
    'GRUCell',
    'LSTMCell',
    'gru_gates',
    'lstm_gates',
    'Recurrent',
    'Bidirectional',
    'Seq2Seq',
    'inverse_sigmoid_schedule',
    # convolution over time
    'TemporalConv',
    'GatedTemporalConv',
    'PointwiseConv',
    'DepthwiseSeparableConv',
    'TransposedTemporalConv',
    'ResidualTemporalStack',
    'DenseTemporalStack',
    'receptive_field',
    # attention
    'AttentionScore',
    'AdditiveScore',
    'BilinearScore',
    'DotScore',
    'ScaledDotScore',
    'MultiHeadAttention',
    # positional encodings and transformers
    'SinusoidalPositionalEncoding',
    'LearnedPositionalEncoding',
    'RelativePositionalEncoding',
    'RotaryPositionalEncoding',
    'TransformerLayer',
    # long-sequence attention patterns
    'SparseAttention',
    'sparse_attention',
    'AttentionPattern',
    'strided_pattern',
    'fixed_pattern',
    'sliding_window_pattern',
    'bigbird_pattern',
    'dense_mask',
]
