r"""A PyG transform that stores a random expander per graph (Exphormer), built once.

Dimensions: N - nodes, d - expander degree.
"""
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_ext.utils.expander_edges import expander_edges


class AddExpanderEdges(BaseTransform):
    r"""Adds the edges of a random :math:`d`-regular expander
    (:func:`~pyg_ext.utils.expander_edges.expander_edges`, from `"Exphormer: Sparse
    Transformers for Graphs" <https://arxiv.org/abs/2303.06147>`_) to each graph as
    :obj:`data[attr_name]`, an :math:`[2, N d]` edge index kept apart from
    :obj:`edge_index`. The name ends in ``index``, so PyG's batching offsets it like
    :obj:`edge_index`; pass it on as
    :class:`~pyg_ext.nn.conv.graph_transformer_conv.GraphTransformerConv`'s
    :obj:`expander_edge_index`.

    Use it once per graph (a dataset's :obj:`pre_transform`, or on a list of graphs), so
    each graph keeps its expander: the :math:`t`-th graph transformed gets the seed
    :obj:`seed + t`, so the same graphs in the same order always get the same edges. As a
    per-access :obj:`transform` it draws a fresh expander every time (an augmentation).

    Args:
        degree (int): The even degree :math:`d`.
        seed (int, optional): Seed of the first graph. (default: :obj:`0`)
        attr_name (str, optional): The attribute to store the edges in; must end in
            ``index``. (default: :obj:`'expander_edge_index'`)
    """
    def __init__(self, degree: int, seed: int = 0, attr_name: str = 'expander_edge_index'):
        if not attr_name.endswith('index'):
            raise ValueError(f"attr_name='{attr_name}' must end in 'index', so that PyG's "
                             f"batching offsets it by the number of nodes; e.g. "
                             f"'expander_edge_index'")
        expander_edges(2, degree)  # checks the degree
        self.degree, self.seed, self.attr_name = degree, seed, attr_name
        self._count = 0

    def forward(self, data: Data) -> Data:
        device = data.edge_index.device if data.edge_index is not None else torch.device('cpu')
        data[self.attr_name] = expander_edges(data.num_nodes, self.degree,
                                              self.seed + self._count, device=device)
        self._count += 1
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(degree={self.degree}, seed={self.seed})'
