r"""The receptive field over time of a stack of (strided, dilated) convolutions.

Legend: L - layers, K - kernel size, s - stride, d - dilation.
"""
from typing import Optional, Sequence, Union

from torch.nn import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Module

from pyg_ext.blocks.temporal_conv import TemporalConv
from pyg_ext.blocks.transposed_temporal_conv import TransposedTemporalConv


def _layers_of(module: Module):
    r"""Kernel sizes, strides and dilations of the :class:`TemporalConv` layers in
    ``module``, in registration order."""
    kernels, strides, dilations = [], [], []
    for child in module.modules():
        if isinstance(child, (TransposedTemporalConv, Conv1d, Conv2d, ConvTranspose1d,
                              ConvTranspose2d)):
            raise ValueError(
                f"cannot read the receptive field of a {child.__class__.__name__} inside "
                f"{module.__class__.__name__}; pass kernel_sizes, strides and dilations "
                f"explicitly")
        if isinstance(child, TemporalConv):
            kernels.append(child.kernel_size)
            strides.append(child.stride)
            dilations.append(child.dilation)
    return kernels, strides, dilations


def receptive_field(kernel_sizes: Union[Sequence[int], Module],
                    strides: Optional[Sequence[int]] = None,
                    dilations: Optional[Sequence[int]] = None) -> int:
    r"""The receptive field :math:`r_0` (in input steps) of one output step of a stack of
    convolutions over time, in the closed form of the `"Computing Receptive Fields of
    Convolutional Neural Networks" <https://distill.pub/2019/computing-receptive-fields>`_
    article (Araujo et al., 2019), with a dilated kernel counted as its effective size
    :math:`(K_l - 1) d_l + 1`:

    .. math::
        r_0 = 1 + \sum_{l=1}^{L} (K_l - 1)\, d_l \prod_{i=1}^{l-1} s_i

    This is the span from the oldest to the newest input step that the output step depends
    on. When a stride or dilation exceeds the kernel's coverage (e.g. :math:`K=2, d=4` in a
    single layer) some steps inside the span are skipped, so fewer than :math:`r_0` steps
    actually influence the output. Padding does not change :math:`r_0`.

    Args:
        kernel_sizes (Sequence[int] or torch.nn.Module): The kernel sizes :math:`K_l`,
            first layer first; or a module (e.g.
            :class:`~pyg_ext.blocks.residual_temporal_stack.ResidualTemporalStack`,
            :class:`~pyg_ext.blocks.dense_temporal_stack.DenseTemporalStack`, a
            :class:`torch.nn.Sequential`) whose
            :class:`~pyg_ext.blocks.temporal_conv.TemporalConv` layers, in registration
            order, are applied one after another (residual and dense shortcuts do not widen
            the field). Parallel branches are not supported.
        strides (Sequence[int], optional): The strides :math:`s_l`; all :obj:`1` when
            :obj:`None`. (default: :obj:`None`)
        dilations (Sequence[int], optional): The dilations :math:`d_l`; all :obj:`1` when
            :obj:`None`. (default: :obj:`None`)
    """
    if isinstance(kernel_sizes, Module):
        if strides is not None or dilations is not None:
            raise ValueError("strides and dilations are read from the module; pass only the "
                             "module")
        kernel_sizes, strides, dilations = _layers_of(kernel_sizes)
    kernel_sizes = list(kernel_sizes)
    strides = [1] * len(kernel_sizes) if strides is None else list(strides)
    dilations = [1] * len(kernel_sizes) if dilations is None else list(dilations)
    if not len(kernel_sizes) == len(strides) == len(dilations):
        raise ValueError(f"got {len(kernel_sizes)} kernel sizes, {len(strides)} strides and "
                         f"{len(dilations)} dilations; pass one of each per layer")
    for key, values in (('kernel_sizes', kernel_sizes), ('strides', strides),
                        ('dilations', dilations)):
        if any(int(v) != v or v < 1 for v in values):
            raise ValueError(f"{key}={values} must hold positive integers (>= 1)")

    field, jump = 1, 1  # jump: input steps between neighbouring outputs of the layer so far
    for k, s, d in zip(kernel_sizes, strides, dilations):
        field += (k - 1) * d * jump
        jump *= s
    return field
