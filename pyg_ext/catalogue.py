"""The module catalogue: every public module, the paper it comes from, and where it lives.

``tests/test_catalogue.py`` imports every entry, so the table cannot drift from the code.
"""
from typing import List, NamedTuple


class Entry(NamedTuple):
    name: str
    paper: str
    path: str  # importable dotted path


CATALOGUE: List[Entry] = [
    # Feed-forward and gating
    Entry('FFN', 'Vaswani et al. 2017 (position-wise feed-forward)', 'pyg_ext.blocks.FFN'),
    Entry('Residual', 'He et al. 2016 (ResNet)', 'pyg_ext.blocks.Residual'),
    Entry('Highway', 'Srivastava et al. 2015 (Highway networks)', 'pyg_ext.blocks.Highway'),
    Entry('MoE', 'Shazeer et al. 2017 (sparsely-gated mixture of experts)', 'pyg_ext.blocks.MoE'),
    Entry('GatedMLP', 'Liu et al. 2021 (gMLP)', 'pyg_ext.blocks.GatedMLP'),
    Entry('SpatialGatingUnit', 'Liu et al. 2021 (gMLP)', 'pyg_ext.blocks.SpatialGatingUnit'),
    # Recurrence
    Entry('RNNCell', 'Elman 1990', 'pyg_ext.blocks.RNNCell'),
    Entry('GRUCell', 'Cho et al. 2014', 'pyg_ext.blocks.GRUCell'),
    Entry('LSTMCell', 'Hochreiter & Schmidhuber 1997', 'pyg_ext.blocks.LSTMCell'),
    Entry('Recurrent', 'time unroller over stacked cells', 'pyg_ext.blocks.Recurrent'),
    Entry('Bidirectional', 'Schuster & Paliwal 1997', 'pyg_ext.blocks.Bidirectional'),
    Entry('Seq2Seq', 'Sutskever et al. 2014; Bengio et al. 2015 (scheduled sampling)',
          'pyg_ext.blocks.Seq2Seq'),
    # Convolution over time
    Entry('TemporalConv', 'van den Oord et al. 2016 (WaveNet: causal, dilated)',
          'pyg_ext.blocks.TemporalConv'),
    Entry('GatedTemporalConv', 'Dauphin et al. 2017 (GLU); van den Oord et al. 2016',
          'pyg_ext.blocks.GatedTemporalConv'),
    Entry('PointwiseConv', 'Lin et al. 2014 (Network in Network)', 'pyg_ext.blocks.PointwiseConv'),
    Entry('DepthwiseSeparableConv', 'Chollet 2017 (Xception); Howard et al. 2017 (MobileNet)',
          'pyg_ext.blocks.DepthwiseSeparableConv'),
    Entry('TransposedTemporalConv', 'Dumoulin & Visin 2016',
          'pyg_ext.blocks.TransposedTemporalConv'),
    Entry('ResidualTemporalStack', 'He et al. 2016 (ResNet)',
          'pyg_ext.blocks.ResidualTemporalStack'),
    Entry('DenseTemporalStack', 'Huang et al. 2017 (DenseNet)',
          'pyg_ext.blocks.DenseTemporalStack'),
    Entry('receptive_field', 'Araujo et al. 2019 (closed form)', 'pyg_ext.blocks.receptive_field'),
    # Attention
    Entry('AdditiveScore', 'Bahdanau et al. 2015', 'pyg_ext.blocks.AdditiveScore'),
    Entry('BilinearScore', 'Luong et al. 2015 (general)', 'pyg_ext.blocks.BilinearScore'),
    Entry('DotScore', 'Luong et al. 2015 (dot)', 'pyg_ext.blocks.DotScore'),
    Entry('ScaledDotScore', 'Vaswani et al. 2017', 'pyg_ext.blocks.ScaledDotScore'),
    Entry('MultiHeadAttention', 'Vaswani et al. 2017', 'pyg_ext.blocks.MultiHeadAttention'),
    # Positional encodings and transformers
    Entry('SinusoidalPositionalEncoding', 'Vaswani et al. 2017',
          'pyg_ext.blocks.SinusoidalPositionalEncoding'),
    Entry('LearnedPositionalEncoding', 'Gehring et al. 2017',
          'pyg_ext.blocks.LearnedPositionalEncoding'),
    Entry('RelativePositionalEncoding', 'Shaw et al. 2018',
          'pyg_ext.blocks.RelativePositionalEncoding'),
    Entry('RotaryPositionalEncoding', 'Su et al. 2021 (RoFormer)',
          'pyg_ext.blocks.RotaryPositionalEncoding'),
    Entry('TransformerLayer', 'Vaswani et al. 2017; Xiong et al. 2020 (pre-norm); '
          'So et al. 2021 (Primer)', 'pyg_ext.blocks.TransformerLayer'),
    # Long-sequence attention patterns
    Entry('SparseAttention', 'Child et al. 2019; Beltagy et al. 2020; Zaheer et al. 2020',
          'pyg_ext.blocks.SparseAttention'),
    # Graph layers (MessagePassing)
    Entry('GraphAttentionConv', 'Velickovic et al. 2018 (GAT); Shi et al. 2021; any shared score',
          'pyg_ext.nn.conv.GraphAttentionConv'),
    Entry('GraphTransformerConv', 'Dwivedi & Bresson 2021; Shirzad et al. 2023 (Exphormer)',
          'pyg_ext.nn.conv.GraphTransformerConv'),
    Entry('DiffConv', 'Li et al. 2018 (DCRNN diffusion convolution)', 'pyg_ext.nn.conv.DiffConv'),
    Entry('GatedGraphResidualConv', 'Bresson & Laurent 2017 (GatedGCN) + Highway node update',
          'pyg_ext.nn.conv.GatedGraphResidualConv'),
    Entry('MoEConv', 'Shazeer et al. 2017 routing over message functions',
          'pyg_ext.nn.conv.MoEConv'),
    Entry('RecurrentGraphConv', 'Li et al. 2016 (GGNN)', 'pyg_ext.nn.recurrent.RecurrentGraphConv'),
    Entry('RecGNN', 'Scarselli et al. 2009 (the graph neural network model)',
          'pyg_ext.nn.recurrent.RecGNN'),
    Entry('GraphRNNCell', 'Seo et al. 2018 (graph-convolutional recurrence)',
          'pyg_ext.nn.recurrent.GraphRNNCell'),
    Entry('GraphGRUCell', 'Seo et al. 2018; Li et al. 2018 (DCGRU); Zhao et al. 2019 (T-GCN)',
          'pyg_ext.nn.recurrent.GraphGRUCell'),
    Entry('GraphLSTMCell', 'Seo et al. 2018 (GConvLSTM)', 'pyg_ext.nn.recurrent.GraphLSTMCell'),
    # Graph autoencoders
    Entry('BilinearDecoder', 'Nickel et al. 2011 (RESCAL)',
          'pyg_ext.nn.autoencoder.BilinearDecoder'),
    Entry('MLPDecoder', 'Hu et al. 2020 (OGB link predictor)', 'pyg_ext.nn.autoencoder.MLPDecoder'),
    Entry('GraphMAE', 'Hou et al. 2022', 'pyg_ext.nn.autoencoder.GraphMAE'),
    # Spatio-temporal layers and models
    Entry('STConvBlock', 'Yu et al. 2018 (STGCN)', 'pyg_ext.nn.temporal.STConvBlock'),
    Entry('GraphWaveNetLayer', 'Wu et al. 2019', 'pyg_ext.nn.temporal.GraphWaveNetLayer'),
    Entry('ASTGCNBlock', 'Guo et al. 2019', 'pyg_ext.nn.temporal.ASTGCNBlock'),
    Entry('STAttentionBlock', 'Zheng et al. 2020 (GMAN)', 'pyg_ext.nn.temporal.STAttentionBlock'),
    Entry('TransformAttention', 'Zheng et al. 2020 (GMAN)',
          'pyg_ext.nn.temporal.TransformAttention'),
    Entry('STTransformerLayer', 'Vaswani et al. 2017 along time and nodes',
          'pyg_ext.nn.temporal.STTransformerLayer'),
    Entry('GConvGRU', 'Seo et al. 2018', 'pyg_ext.nn.models.GConvGRU'),
    Entry('GConvLSTM', 'Seo et al. 2018', 'pyg_ext.nn.models.GConvLSTM'),
    Entry('TGCN', 'Zhao et al. 2019', 'pyg_ext.nn.models.TGCN'),
    Entry('A3TGCN', 'Bai et al. 2021', 'pyg_ext.nn.models.A3TGCN'),
    Entry('DCRNN', 'Li et al. 2018', 'pyg_ext.nn.models.DCRNN'),
    Entry('AGCRN', 'Bai et al. 2020', 'pyg_ext.nn.models.AGCRN'),
    Entry('STGCN', 'Yu et al. 2018', 'pyg_ext.nn.models.STGCN'),
    Entry('ASTGCN', 'Guo et al. 2019', 'pyg_ext.nn.models.ASTGCN'),
    Entry('GraphWaveNet', 'Wu et al. 2019', 'pyg_ext.nn.models.GraphWaveNet'),
    Entry('GMAN', 'Zheng et al. 2020', 'pyg_ext.nn.models.GMAN'),
    Entry('STTransformer', 'Vaswani et al. 2017; Child et al. 2019 for long inputs',
          'pyg_ext.nn.models.STTransformer'),
    Entry('GRUBaseline', 'graph-free GRU per node (forecasting baseline)',
          'pyg_ext.nn.models.GRUBaseline'),
    Entry('HistoricalAverage', 'historical average (forecasting baseline)',
          'pyg_ext.nn.models.HistoricalAverage'),
]


def format_catalogue(markdown: bool = False) -> str:
    rows = [(e.name, e.paper, e.path) for e in CATALOGUE]
    if markdown:
        lines = ['| module | paper | where it lives |', '| --- | --- | --- |']
        lines += [f'| `{n}` | {p} | `{w}` |' for n, p, w in rows]
        return '\n'.join(lines)
    widths = [max(len(r[i]) for r in rows + [('module', 'paper', 'where')]) for i in range(3)]
    fmt = '  '.join(f'{{:<{w}}}' for w in widths)
    lines = [fmt.format('module', 'paper', 'where'), fmt.format(*('-' * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return '\n'.join(lines)
