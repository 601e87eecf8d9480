r"""OGB's link predictor: an MLP on the element-wise product of two node embeddings.

Dimensions: P node pairs, H features.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from pyg_ext.utils.checks import check_feature_size


class LinkPredictor(torch.nn.Module):
    r"""The decoder of OGB's link-prediction baselines
    (`"Open Graph Benchmark" <https://arxiv.org/abs/2005.00687>`_): the probability of a
    link between :math:`i` and :math:`j` is

    .. math::
        p_{ij} = \sigma\big(\mathrm{MLP}(\mathbf{h}_i \odot \mathbf{h}_j)\big),

    with ``num_layers`` linear layers, ReLU and dropout between them.

    Args:
        in_channels (int): embedding size :math:`H`.
        hidden_channels (int): hidden size of the MLP.
        out_channels (int, optional): outputs per pair. (default: ``1``)
        num_layers (int, optional): linear layers. (default: ``2``)
        dropout (float, optional): dropout between them. (default: ``0.0``)

    Shapes:
        - **input:** ``h_src`` :math:`(P, H)`, ``h_dst`` :math:`(P, H)`
        - **output:** probabilities :math:`(P, \text{out})`
    """
    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int = 1,
                 num_layers: int = 2, dropout: float = 0.0):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'num_layers={num_layers}; pass num_layers >= 1')
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.num_layers, self.dropout = out_channels, num_layers, dropout
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.lins = torch.nn.ModuleList([torch.nn.Linear(i, o)
                                         for i, o in zip(sizes[:-1], sizes[1:])])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, h_src: Tensor, h_dst: Tensor) -> Tensor:
        check_feature_size(h_src, self.in_channels, name='h_src')
        x = h_src * h_dst  # [P, H]
        for lin in self.lins[:-1]:
            x = F.dropout(F.relu(lin(x)), p=self.dropout, training=self.training)
        return torch.sigmoid(self.lins[-1](x))  # [P, out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, '
                f'{self.out_channels}, num_layers={self.num_layers})')
