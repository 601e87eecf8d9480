r"""A highway layer: a learned gate between a transform and the identity.

Dimensions: ``*`` - any leading dimensions, ``F`` - features.
"""
from typing import Any, Optional, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from pyg_ext.blocks.activation import activation_name, activation_resolver
from pyg_ext.utils.checks import check_feature_size


class Highway(nn.Module):
    r"""The highway layer from `"Highway Networks" <https://arxiv.org/abs/1505.00387>`_
    (Srivastava et al. 2015):

    .. math::
        \mathbf{y} = T(\mathbf{x}) \odot H(\mathbf{x})
        + \big(1 - T(\mathbf{x})\big) \odot \mathbf{x}, \qquad
        T(\mathbf{x}) = \sigma(\mathbf{W}_T \mathbf{x} + \mathbf{b}_T)

    The transform gate's bias :math:`\mathbf{b}_T` starts at :obj:`gate_bias`; a negative
    value (the paper uses :math:`-1` to :math:`-3`) makes a fresh layer carry most of its
    input through, :math:`T(\mathbf{x}) \approx \sigma(-2) \approx 0.12`, so that deep
    stacks start close to the identity.

    Args:
        channels (int): Size of each input and output feature vector, :math:`F`.
        transform (torch.nn.Module, optional): The transform :math:`H`, mapping
            :math:`(*, F)` to :math:`(*, F)`; extra arguments of :meth:`forward` go to it,
            so a graph layer works as ``Highway(F, GCNConv(F, F))(x, edge_index)``.
            (default: :class:`torch.nn.Linear` followed by
            :obj:`act`)
        gate_bias (float, optional): Initial value of :math:`\mathbf{b}_T`.
            (default: :obj:`-2.0`)
        act (str or torch.nn.Module, optional): The activation of the default transform;
            ignored when :obj:`transform` is given. (default: :obj:`'relu'`)

    Shapes:
        - **input:** :math:`(*, F)`, plus whatever extra arguments :math:`H` takes
        - **output:** :math:`(*, F)`
    """
    def __init__(
        self,
        channels: int,
        transform: Optional[nn.Module] = None,
        gate_bias: float = -2.0,
        act: Union[str, nn.Module, None] = 'relu',
    ):
        super().__init__()
        self.channels = channels
        self.gate_bias = gate_bias
        self.act_name = activation_name(act) if transform is None else None

        self.gate = nn.Linear(channels, channels)
        if transform is None:
            transform = nn.Sequential(nn.Linear(channels, channels), activation_resolver(act))
        self.transform = transform
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters; :math:`\mathbf{b}_T` goes back to
        :obj:`gate_bias`."""
        self.gate.reset_parameters()
        with torch.no_grad():
            self.gate.bias.fill_(self.gate_bias)
        reset(self.transform)

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        check_feature_size(x, self.channels)
        t = torch.sigmoid(self.gate(x))  # [*, F]
        h = self.transform(x, *args, **kwargs)  # [*, F]
        return x + t * (h - x)  # = t * h + (1 - t) * x

    def __repr__(self) -> str:
        if self.act_name is not None:
            extra = f", act='{self.act_name}'"
        else:
            extra = f', transform={self.transform}'
        return (f'{self.__class__.__name__}({self.channels}, gate_bias={self.gate_bias}'
                f'{extra})')
