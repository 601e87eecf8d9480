r"""The gated recurrent unit with graph convolutions as gates (GConvGRU, DCGRU, T-GCN, AGCRN).

Dimensions: B - batch, T - time, N - nodes, E - edges, F - input features, H - hidden size.
``*`` stands for the leading dimensions of one time step (``[N]`` or ``[B, N]``).
"""
from typing import Callable, Optional

from torch import nn
from torch_geometric.nn import GCNConv

from pyg_ext.blocks.gru_cell import GRUCell
from pyg_ext.nn.conv.cheb_conv import ChebConv
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.conv.node_adaptive_conv import NodeAdaptiveConv

#: A gate factory: ``conv(in_channels, out_channels)`` returns a graph convolution.
ConvFactory = Callable[[int, int], nn.Module]


def _build(conv: ConvFactory, in_channels: int, out_channels: int) -> nn.Module:
    if isinstance(conv, nn.Module) or not callable(conv):
        raise ValueError(f"'conv' must be a callable conv(in_channels, out_channels) that "
                         f"builds a graph convolution (e.g. lambda i, o: ChebConv(i, o, K=2)), "
                         f"not a {type(conv).__name__}: the cell builds one conv per gate "
                         f"group with its own sizes")
    module = conv(in_channels, out_channels)
    if not isinstance(module, nn.Module):
        raise ValueError(f"conv({in_channels}, {out_channels}) returned a "
                         f"{type(module).__name__}; it must return a torch.nn.Module")
    return module


class GraphGRUCell(GRUCell):
    r"""The graph gated recurrent unit: the shared :class:`~pyg_ext.blocks.GRUCell` (the
    reset-before form of `Cho et al., 2014 <https://arxiv.org/abs/1406.1078>`_) with graph
    convolutions :math:`\star_{\mathcal{G}}` as its gate maps, as in GConvGRU (`Seo et al.,
    2018 <https://arxiv.org/abs/1612.07659>`_), DCRNN's DCGRU (`Li et al., 2018
    <https://arxiv.org/abs/1707.01926>`_), T-GCN (`Zhao et al., 2019
    <https://arxiv.org/abs/1811.05320>`_) and AGCRN (`Bai et al., 2020
    <https://arxiv.org/abs/2007.02842>`_):

    .. math::
        \mathbf{r} &= \sigma(\mathbf{W}_r \star_{\mathcal{G}} \mathbf{X} +
        \mathbf{U}_r \star_{\mathcal{G}} \mathbf{H})

        \mathbf{z} &= \sigma(\mathbf{W}_z \star_{\mathcal{G}} \mathbf{X} +
        \mathbf{U}_z \star_{\mathcal{G}} \mathbf{H})

        \mathbf{\tilde{H}} &= \tanh(\mathbf{W}_n \star_{\mathcal{G}} \mathbf{X} +
        \mathbf{C} \star_{\mathcal{G}} (\mathbf{r} \odot \mathbf{H}))

        \mathbf{H}' &= \mathbf{z} \odot \mathbf{H} + (1 - \mathbf{z}) \odot
        \mathbf{\tilde{H}}

    The gates that read the same input are fused into one wider convolution: the input map
    :math:`[\mathbf{W}_r, \mathbf{W}_z, \mathbf{W}_n]` is one ``conv(F, 3H)`` (applied to
    a whole sequence at once by :meth:`input_projection`), the hidden map
    :math:`[\mathbf{U}_r, \mathbf{U}_z]` one ``conv(H, 2H)``, and the candidate map
    :math:`\mathbf{C}` one ``conv(H, H)``. For convolutions that are linear in their
    weights (all of the above), this equals separate per-gate convolutions with the weights
    stacked along the output channels, and each graph propagation is done once for all
    gates. The gate order is torch's :math:`(r, z, n)`.

    The extra arguments of :meth:`forward` / :meth:`step` go to every gate map, e.g.
    ``edge_index, edge_weight``. Each gate convolution normalises the graph it is given; to
    normalise once for a whole sequence, build the cell with ``normalize=False`` and pass
    the normalised graph (:meth:`ChebConv.scaled_laplacian
    <pyg_ext.nn.conv.ChebConv.scaled_laplacian>`, PyG's ``gcn_norm``), or, for DiffConv and
    a graph that never changes, ``cached=True``. The models of :mod:`pyg_ext.nn.models`
    do this.

    The factories build the papers' cells: :meth:`gconv_gru` (Chebyshev gates),
    :meth:`dcgru` (diffusion gates), :meth:`tgcn` (GCN gates) and :meth:`agcrn`
    (node-adaptive gates).

    Args:
        in_channels (int): Number of input features :math:`F`.
        out_channels (int): Number of hidden features :math:`H`.
        conv (callable): ``conv(in_channels, out_channels)`` builds one gate convolution;
            it is called three times, with :math:`(F, 3H)`, :math:`(H, 2H)`, :math:`(H, H)`.
        gate_bias (float, optional): The starting bias of the reset and update gates, put
            in the input map's bias (see :class:`~pyg_ext.blocks.GRUCell`; DCRNN's and
            T-GCN's code start at 1). (default: :obj:`0.`)

    Shapes:
        - **input:** node features :math:`(*, N, F)`, state :math:`(*, N, H)` or
          :obj:`None` (zeros), then the graph arguments of the gate convolution
        - **output:** new state :math:`(*, N, H)`
        - :meth:`input_projection`: :math:`(B, T, N, F) \to (B, T, N, 3H)` in one call
    """
    def __init__(self, in_channels: int, out_channels: int, conv: ConvFactory,
                 gate_bias: float = 0.0):
        H = out_channels
        super().__init__(in_channels, out_channels, reset_after=False,
                         input_map=_build(conv, in_channels, 3 * H),
                         hidden_map=_build(conv, H, 2 * H),
                         candidate_map=_build(conv, H, H), gate_bias=gate_bias)
        self.in_channels = in_channels
        self.out_channels = out_channels

    @classmethod
    def gconv_gru(cls, in_channels: int, out_channels: int, K: int,
                  normalization: Optional[str] = 'sym', normalize: bool = True,
                  bias: bool = True) -> 'GraphGRUCell':
        r"""GConvGRU (Seo et al., 2018): :class:`~pyg_ext.nn.conv.ChebConv` gates with
        :math:`K` Chebyshev polynomials."""
        return cls(in_channels, out_channels, lambda i, o: ChebConv(
            i, o, K, normalization=normalization, normalize=normalize, bias=bias))

    @classmethod
    def dcgru(cls, in_channels: int, out_channels: int, K: int, cached: bool = False,
              normalize: bool = True, bias: bool = True,
              gate_bias: float = 0.0) -> 'GraphGRUCell':
        r"""DCRNN's diffusion-convolutional GRU (Li et al., 2018):
        :class:`~pyg_ext.nn.conv.DiffConv` gates with :math:`K` diffusion steps in each
        direction; the authors' code starts the reset and update gate biases at 1
        (:obj:`gate_bias=1.`)."""
        return cls(in_channels, out_channels, lambda i, o: DiffConv(
            i, o, K, bias=bias, cached=cached, normalize=normalize), gate_bias=gate_bias)

    @classmethod
    def tgcn(cls, in_channels: int, out_channels: int, normalize: bool = True,
             cached: bool = False, bias: bool = True,
             gate_bias: float = 0.0) -> 'GraphGRUCell':
        r"""T-GCN's cell (Zhao et al., 2019): :class:`torch_geometric.nn.conv.GCNConv`
        gates, :math:`\hat{\mathbf{A}} = \tilde{\mathbf{D}}^{-1/2}(\mathbf{A} +
        \mathbf{I})\tilde{\mathbf{D}}^{-1/2}`, applied to the input *and* the state as in
        the authors' code (``_gc`` on the concatenation :math:`[\mathbf{X}_t,
        \mathbf{H}_{t-1}]`). The paper's equations write :math:`f(\mathbf{A},
        \mathbf{X}_t)` for the input only, with the state entering through a dense
        layer; PyG Temporal's ``TGCN`` follows the equations. The authors' code also starts
        the reset and update gate biases at 1 (:obj:`gate_bias=1.`); by default they start
        at 0. With :obj:`normalize=False` the gates take the normalised graph, self-loops
        included (PyG's ``gcn_norm``)."""
        return cls(in_channels, out_channels, lambda i, o: GCNConv(
            i, o, normalize=normalize, cached=cached, bias=bias), gate_bias=gate_bias)

    @classmethod
    def agcrn(cls, in_channels: int, out_channels: int, K: int, embedding_dim: int,
              bias: bool = True) -> 'GraphGRUCell':
        r"""AGCRN's cell (Bai et al., 2020): :class:`~pyg_ext.nn.conv.NodeAdaptiveConv`
        gates, called with ``(adj, node_emb)``. The reference code names the gates the
        other way round (its ``z`` resets and its ``r`` updates); the maths is this cell's.
        """
        return cls(in_channels, out_channels, lambda i, o: NodeAdaptiveConv(
            i, o, K, embedding_dim, bias=bias))

    def __repr__(self) -> str:
        # The candidate map, conv(H, H), shows the gate convolution and its size.
        extra = f', gate_bias={self.gate_bias}' if self.gate_bias != 0.0 else ''
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'{self.candidate_map}{extra})')
