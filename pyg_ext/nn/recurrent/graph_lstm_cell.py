r"""The long short-term memory cell with graph convolutions as gates (GConvLSTM).

Dimensions: B - batch, T - time, N - nodes, E - edges, F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[N]`` or ``[B, N]``).
"""
from typing import Optional

from pyg_ext.blocks.lstm_cell import LSTMCell
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.recurrent.graph_gru_cell import ConvFactory, _build


class GraphLSTMCell(LSTMCell):
    r"""The graph LSTM: the shared :class:`~pyg_ext.blocks.LSTMCell` with graph
    convolutions :math:`\star_{\mathcal{G}}` as its gate maps, and optional peepholes, as in
    GConvLSTM (model 2 of `"Structured Sequence Modeling with Graph Convolutional Recurrent
    Networks" <https://arxiv.org/abs/1612.07659>`_, Seo et al., ICONIP 2018):

    .. math::
        \mathbf{i} &= \sigma(\mathbf{W}_i \star_{\mathcal{G}} \mathbf{X} + \mathbf{U}_i
        \star_{\mathcal{G}} \mathbf{H} + \mathbf{w}_{ci} \odot \mathbf{C})

        \mathbf{f} &= \sigma(\mathbf{W}_f \star_{\mathcal{G}} \mathbf{X} + \mathbf{U}_f
        \star_{\mathcal{G}} \mathbf{H} + \mathbf{w}_{cf} \odot \mathbf{C})

        \mathbf{C}' &= \mathbf{f} \odot \mathbf{C} + \mathbf{i} \odot
        \tanh(\mathbf{W}_g \star_{\mathcal{G}} \mathbf{X} + \mathbf{U}_g
        \star_{\mathcal{G}} \mathbf{H})

        \mathbf{o} &= \sigma(\mathbf{W}_o \star_{\mathcal{G}} \mathbf{X} + \mathbf{U}_o
        \star_{\mathcal{G}} \mathbf{H} + \mathbf{w}_{co} \odot \mathbf{C}')

        \mathbf{H}' &= \mathbf{o} \odot \tanh(\mathbf{C}')

    The four gates that read :math:`\mathbf{X}` are one ``conv(F, 4H)`` (applied to a whole
    sequence at once by :meth:`input_projection`), the four that read :math:`\mathbf{H}`
    one ``conv(H, 4H)``, so each graph propagation is done once for all gates; the gate
    order is torch's :math:`(i, f, g, o)`. The peephole weights
    :math:`\mathbf{w}_{c\cdot} \in \mathbb{R}^H` are shared by all nodes, as in the paper.

    The extra arguments of :meth:`forward` / :meth:`step` go to every gate map (e.g.
    ``edge_index, edge_weight``). To normalise the graph once per sequence instead of once
    per gate and step, build the convolutions with ``normalize=False`` and pass the
    normalised graph (see :class:`~pyg_ext.nn.recurrent.GraphGRUCell`).

    Args:
        in_channels (int): Number of input features :math:`F`.
        out_channels (int): Number of hidden features :math:`H`.
        conv (callable): ``conv(in_channels, out_channels)`` builds one gate convolution;
            it is called twice, with :math:`(F, 4H)` and :math:`(H, 4H)`.
        peephole (bool, optional): If set to :obj:`True`, adds the peephole terms.
            (default: :obj:`False`)

    Shapes:
        - **input:** node features :math:`(*, N, F)`, state ``(h, c)`` each
          :math:`(*, N, H)` or :obj:`None` (zeros), then the graph arguments of the gate
          convolution
        - **output:** new state ``(h', c')``, each :math:`(*, N, H)`
        - :meth:`input_projection`: :math:`(B, T, N, F) \to (B, T, N, 4H)` in one call
    """
    def __init__(self, in_channels: int, out_channels: int, conv: ConvFactory,
                 peephole: bool = False):
        H = out_channels
        super().__init__(in_channels, out_channels, peephole=peephole,
                         input_map=_build(conv, in_channels, 4 * H),
                         hidden_map=_build(conv, H, 4 * H))
        self.in_channels = in_channels
        self.out_channels = out_channels

    @classmethod
    def gconv_lstm(cls, in_channels: int, out_channels: int, K: int,
                   normalization: Optional[str] = 'sym', normalize: bool = True,
                   peephole: bool = True, bias: bool = True) -> 'GraphLSTMCell':
        r"""GConvLSTM (Seo et al., 2018): :class:`~pyg_ext.nn.conv.ChebConv` gates with
        :math:`K` Chebyshev polynomials and peepholes."""
        return cls(in_channels, out_channels, lambda i, o: ChebConv(
            i, o, K, normalization=normalization, normalize=normalize, bias=bias),
            peephole=peephole)

    def __repr__(self) -> str:
        extra = ', peephole=True' if self.peephole else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'{self.hidden_map}{extra})')
