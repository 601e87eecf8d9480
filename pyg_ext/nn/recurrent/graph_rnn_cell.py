r"""The Elman recurrent cell with graph convolutions as its maps.

Dimensions: B - batch, T - time, N - nodes, E - edges, F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[N]`` or ``[B, N]``).
"""
from pyg_ext.blocks.rnn_cell import RNNCell
from pyg_ext.nn.recurrent.graph_gru_cell import ConvFactory, _build


class GraphRNNCell(RNNCell):
    r"""The graph Elman cell: the shared :class:`~pyg_ext.blocks.RNNCell` (`Elman, 1990
    <https://doi.org/10.1207/s15516709cog1402_1>`_) with graph convolutions
    :math:`\star_{\mathcal{G}}` as its two maps, the simplest graph convolutional recurrent
    network (`Seo et al., 2018 <https://arxiv.org/abs/1612.07659>`_):

    .. math::
        \mathbf{H}' = \sigma\left(\mathbf{W} \star_{\mathcal{G}} \mathbf{X} + \mathbf{U}
        \star_{\mathcal{G}} \mathbf{H}\right)

    with :math:`\sigma` :math:`\tanh` or :math:`\mathrm{ReLU}`. :meth:`input_projection`
    applies :math:`\mathbf{W}` to a whole sequence at once; the extra arguments of
    :meth:`forward` / :meth:`step` go to both convolutions (e.g. ``edge_index,
    edge_weight``; see :class:`~pyg_ext.nn.recurrent.GraphGRUCell` for normalising the
    graph once per sequence).

    Args:
        in_channels (int): Number of input features :math:`F`.
        out_channels (int): Number of hidden features :math:`H`.
        conv (callable): ``conv(in_channels, out_channels)`` builds one convolution; it is
            called with :math:`(F, H)` and :math:`(H, H)`.
        nonlinearity (str, optional): :obj:`"tanh"` or :obj:`"relu"`.
            (default: :obj:`"tanh"`)

    Shapes:
        - **input:** node features :math:`(*, N, F)`, state :math:`(*, N, H)` or
          :obj:`None` (zeros), then the graph arguments of the convolution
        - **output:** new state :math:`(*, N, H)`
    """
    def __init__(self, in_channels: int, out_channels: int, conv: ConvFactory,
                 nonlinearity: str = 'tanh'):
        super().__init__(in_channels, out_channels, nonlinearity=nonlinearity,
                         input_map=_build(conv, in_channels, out_channels),
                         hidden_map=_build(conv, out_channels, out_channels))
        self.in_channels = in_channels
        self.out_channels = out_channels

    def __repr__(self) -> str:
        extra = '' if self.nonlinearity == 'tanh' else f', nonlinearity={self.nonlinearity!r}'
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'{self.hidden_map}{extra})')
