r"""A stack of temporal layers with residual connections.

Legend: B - batch, T - input time steps, T_l - time steps after layer l, N - nodes (or any
extra dimensions), F_l - features after layer l.
"""
from typing import Optional, Sequence, Tuple

from torch import Tensor
from torch.nn import Identity, Module, ModuleList, Sequential

from pyg_ext.blocks.pointwise_conv import PointwiseConv
from pyg_ext.blocks.temporal_conv import check_temporal_input


def layer_channels(layer: Module) -> Tuple[Optional[int], Optional[int]]:
    r"""``(in_channels, out_channels)`` of a layer, read from its attributes or, for a
    :class:`torch.nn.Sequential`, from its first and last children that define them;
    ``None`` where unknown."""
    if hasattr(layer, 'in_channels') and hasattr(layer, 'out_channels'):
        return layer.in_channels, layer.out_channels
    if isinstance(layer, Sequential):
        ins = [layer_channels(child)[0] for child in layer]
        outs = [layer_channels(child)[1] for child in layer]
        ins, outs = [c for c in ins if c is not None], [c for c in outs if c is not None]
        return (ins[0] if ins else None), (outs[-1] if outs else None)
    return None, None


class ResidualTemporalStack(Module):
    r"""Temporal layers chained with residual connections, as in the `"Deep Residual Learning
    for Image Recognition" <https://arxiv.org/abs/1512.03385>`_ paper (and WaveNet, TCN,
    GraphWaveNet):

    .. math::
        \mathbf{Y}^{(l+1)} = \mathbf{P}_l\big(\mathrm{crop}(\mathbf{Y}^{(l)})\big) +
        f_l\big(\mathbf{Y}^{(l)}\big), \qquad \mathbf{Y}^{(0)} = \mathbf{X}

    where :math:`\mathbf{P}_l` is the identity when :math:`f_l` keeps the width and a
    bias-free :class:`~pyg_ext.blocks.pointwise_conv.PointwiseConv` otherwise, and
    :math:`\mathrm{crop}` keeps the last :math:`T_{l+1}` steps (the most recent ones) when a
    ``'valid'`` layer shortens time. Layers must not lengthen time.

    Args:
        layers (Sequence[torch.nn.Module]): The residual branches :math:`f_l`, each mapping
            ``[B, T_l, (N,) F_l]`` to ``[B, T_{l+1}, (N,) F_{l+1}]``. Their widths are read
            from ``in_channels``/``out_channels`` attributes (for a
            :class:`torch.nn.Sequential`, of its first and last children that have them).
        projection (Sequence[torch.nn.Module or None], optional): One shortcut module (or
            :obj:`None` for the identity) per layer, replacing the automatic ones; needed
            when a layer's widths cannot be read. (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(B, T, F_0)` or :math:`(B, T, N, F_0)`
        - **output:** :math:`(B, T_L, F_L)` or :math:`(B, T_L, N, F_L)`
    """
    def __init__(self, layers: Sequence[Module],
                 projection: Optional[Sequence[Optional[Module]]] = None):
        super().__init__()
        layers = list(layers)
        if len(layers) == 0:
            raise ValueError("'layers' is empty; pass at least one temporal layer")
        channels = [layer_channels(layer) for layer in layers]
        for i in range(len(layers) - 1):
            out, nxt = channels[i][1], channels[i + 1][0]
            if out is not None and nxt is not None and out != nxt:
                raise ValueError(f"layer {i} outputs {out} features but layer {i + 1} expects "
                                 f"{nxt}; build layer {i + 1} with in_channels={out}")
        if projection is None:
            projection = []
            for i, ((c_in, c_out), layer) in enumerate(zip(channels, layers)):
                if c_in is None or c_out is None:
                    raise ValueError(
                        f"cannot read in_channels/out_channels of layer {i} "
                        f"({layer.__class__.__name__}); give it those attributes or pass "
                        f"projection=[...] with one module (or None) per layer")
                projection.append(None if c_in == c_out else
                                  PointwiseConv(c_in, c_out, bias=False))
        elif len(projection) != len(layers):
            raise ValueError(f"got {len(projection)} projections for {len(layers)} layers; "
                             f"pass one module (or None for the identity) per layer")
        self.in_channels = channels[0][0]
        self.out_channels = channels[-1][1]
        self.layers = ModuleList(layers)
        self.projections = ModuleList([Identity() if p is None else p for p in projection])
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the layers and projections."""
        for module in list(self.layers) + list(self.projections):
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()
            else:
                for child in module.modules():
                    if child is not module and hasattr(child, 'reset_parameters'):
                        child.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        in_channels = self.in_channels
        check_temporal_input(x, x.size(-1) if in_channels is None and x.dim() else in_channels)
        for i, (layer, proj) in enumerate(zip(self.layers, self.projections)):
            out = layer(x)  # [B, T_{l+1}, (N,) F_{l+1}]
            if out.size(1) > x.size(1):
                raise ValueError(
                    f"layer {i} turned {x.size(1)} time steps into {out.size(1)}; residual "
                    f"connections need layers that keep or shorten time")
            x = proj(x[:, x.size(1) - out.size(1):]) + out  # [B, T_{l+1}, (N,) F_{l+1}]
        return x

    def __repr__(self) -> str:
        widths = ''
        if self.in_channels is not None and self.out_channels is not None:
            widths = f'{self.in_channels}, {self.out_channels}, '
        return f'{self.__class__.__name__}({widths}num_layers={len(self.layers)})'
