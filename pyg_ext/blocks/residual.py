r"""A residual (skip) connection around any module.

Dimensions: ``*`` - any leading dimensions, ``F`` - features (``F_in``, ``F_out``).
"""
from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.utils.checks import check_feature_size


class Residual(nn.Module):
    r"""A residual connection from `"Deep Residual Learning for Image Recognition"
    <https://arxiv.org/abs/1512.03385>`_ (He et al. 2016) around a module :math:`f`:

    .. math::
        \mathbf{y} = P(\mathbf{x}) + \mathrm{Dropout}\big(f(\mathbf{x}, \ldots)\big)

    where :math:`P` is the identity when :math:`f` keeps the shape, and otherwise a
    projection shortcut (the given :obj:`projection`, or a bias-free
    :class:`torch.nn.Linear` :math:`\mathbf{W}_s \mathbf{x}` built from
    :obj:`in_channels` and :obj:`out_channels`).

    Extra positional and keyword arguments of :meth:`forward` go to :math:`f`, so a graph
    layer can be wrapped as ``Residual(conv)(x, edge_index)``. If :math:`f` returns a tuple
    ``(out, *extras)`` (e.g. :class:`~pyg_ext.blocks.moe.MoE`'s ``(out, aux_loss)``), the
    skip is added to ``out`` and ``(y, *extras)`` is returned; otherwise a tensor.

    Like every pyg_ext layer, building it calls :meth:`reset_parameters`, which
    re-initialises :obj:`module`: load pretrained weights after wrapping.

    Args:
        module (torch.nn.Module): The residual branch :math:`f`.
        projection (torch.nn.Module, optional): The shortcut :math:`P` for a branch that
            changes the shape. (default: :obj:`None`)
        dropout (float, optional): Dropout probability on the branch output.
            (default: :obj:`0.0`)
        in_channels (int, optional): Input size :math:`F_{in}`; checked in :meth:`forward`
            when given. (default: :obj:`None`)
        out_channels (int, optional): Branch output size :math:`F_{out}`. When it differs
            from :obj:`in_channels` and no :obj:`projection` is given, a bias-free
            :class:`torch.nn.Linear` shortcut is built. (default: :obj:`None`)

    Shapes:
        - **input:** :math:`(*, F_{in})`, plus whatever extra arguments :math:`f` takes
        - **output:** :math:`(*, F_{out})` (or a tuple whose first entry has that shape,
          when :math:`f` returns a tuple)
    """
    def __init__(
        self,
        module: nn.Module,
        projection: Optional[nn.Module] = None,
        dropout: float = 0.0,
        in_channels: Optional[int] = None,
        out_channels: Optional[int] = None,
    ):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.out_channels = out_channels if out_channels is not None else in_channels
        self.dropout = dropout

        self.module = module
        if (projection is None and in_channels is not None
                and self.out_channels != in_channels):
            projection = nn.Linear(in_channels, self.out_channels, bias=False)
        self.projection = projection
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the branch and of the projection."""
        reset(self.module)
        if self.projection is not None:
            reset(self.projection)

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        if self.in_channels is not None:
            check_feature_size(x, self.in_channels)
        out = self.module(x, *args, **kwargs)
        extras = None
        if isinstance(out, tuple):
            out, extras = out[0], out[1:]
        out = F.dropout(out, p=self.dropout, training=self.training)  # [*, F_out]
        skip = x if self.projection is None else self.projection(x)  # [*, F_out]
        if skip.shape != out.shape:
            raise ValueError(
                f"The residual branch maps an input of shape {list(x.shape)} to "
                f"{list(out.shape)}, which cannot be added to the shortcut of shape "
                f"{list(skip.shape)}; pass projection=<module mapping the input to "
                f"{list(out.shape)}> or in_channels={x.size(-1)}, "
                f"out_channels={out.size(-1)} to build a linear shortcut")
        out = skip + out
        if extras is not None:
            return (out, *extras)
        return out

    def __repr__(self) -> str:
        extra = ''
        if self.projection is not None:
            extra += f', projection={self.projection}'
        if self.dropout > 0:
            extra += f', dropout={self.dropout}'
        return f'{self.__class__.__name__}({self.module}{extra})'

