r"""Activation functions by name, shared by every block that takes an ``act`` argument.

Dimensions: ``*`` - any leading dimensions, ``F`` - features. Activations are element-wise,
so the output has the shape of the input.
"""
from typing import Callable, Dict, Optional, Union

import torch
from torch import Tensor, nn


class SquaredReLU(nn.Module):
    r"""The squared ReLU of `"Primer: Searching for Efficient Transformers for Language
    Modeling" <https://arxiv.org/abs/2109.08668>`_ (So et al. 2021):

    .. math::
        \mathrm{SquaredReLU}(x) = \max(x, 0)^2

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`, same shape as the input
    """
    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x).square()


_ACTIVATIONS: Dict[str, Callable[[], nn.Module]] = {
    'relu': nn.ReLU,
    'gelu': nn.GELU,  # exact (erf) GELU, as torch.nn.TransformerEncoderLayer's 'gelu'
    'gelu_tanh': lambda: nn.GELU(approximate='tanh'),
    'silu': nn.SiLU,
    'swish': nn.SiLU,
    'squared_relu': SquaredReLU,
    'tanh': nn.Tanh,
    'sigmoid': nn.Sigmoid,
    'elu': nn.ELU,
    'leaky_relu': nn.LeakyReLU,
    'identity': nn.Identity,
    'linear': nn.Identity,
}

#: The names :func:`activation_resolver` understands.
ACTIVATION_NAMES = tuple(sorted(_ACTIVATIONS))


def activation_resolver(act: Optional[Union[str, nn.Module, type]] = 'relu') -> nn.Module:
    r"""Return the activation :class:`torch.nn.Module` that ``act`` names.

    Args:
        act (str or torch.nn.Module or type, optional): one of
            ``'relu'``, ``'gelu'`` (exact erf form), ``'gelu_tanh'``, ``'silu'`` (alias
            ``'swish'``), ``'squared_relu'`` (Primer, :math:`\max(x, 0)^2`), ``'tanh'``,
            ``'sigmoid'``, ``'elu'``, ``'leaky_relu'``, ``'identity'`` (alias ``'linear'``);
            names are case-insensitive and ``'-'`` reads as ``'_'``. A module instance is
            returned as is, a module class is instantiated without arguments, and
            :obj:`None` gives :class:`torch.nn.Identity`. (default: :obj:`'relu'`)

    Returns:
        torch.nn.Module: a fresh module for a name or class, ``act`` itself for an instance.
    """
    if act is None:
        return nn.Identity()
    if isinstance(act, nn.Module):
        return act
    if isinstance(act, type) and issubclass(act, nn.Module):
        return act()
    if isinstance(act, str):
        key = act.lower().replace('-', '_')
        if key not in _ACTIVATIONS:
            raise ValueError(
                f"Unknown activation '{act}'; use one of {list(ACTIVATION_NAMES)} or pass "
                f"an nn.Module instance (e.g. act=torch.nn.PReLU())")
        return _ACTIVATIONS[key]()
    raise ValueError(
        f"act must be a name, an nn.Module or an nn.Module class, got "
        f"{type(act).__name__}; wrap a plain function in an nn.Module so the layer can be "
        f"saved and printed")


def activation_name(act: Optional[Union[str, nn.Module, type]]) -> str:
    r"""A short printable name for ``act``, used in the ``__repr__`` of blocks."""
    if act is None:
        return 'identity'
    if isinstance(act, str):
        return act
    if isinstance(act, type):
        return act.__name__
    return act.__class__.__name__
