r"""The ``--model`` registries of the OGB scripts, one per task type.

An entry maps a name to ``build(info, args)``: ``info`` holds the dataset's facts
(``num_tasks``, ``num_features``, ``num_classes``, ``num_nodes``) and ``args`` the resolved
hyperparameters (``num_layers``, ``hidden``, ``dropout``, ...). The helpers below make an
entry from a conv, so adding one of pyg_ext's layers is one line, e.g.::

    GRAPH_MODELS['graph-transformer'] = mol_model(lambda d: GraphTransformer(d, d))
    NODE_MODELS['attention-dot'] = node_model(lambda i, o, a: AttentionConv(i, o, 'dot'))
    LINK_MODELS['ggnn'] = link_model(lambda i, o, a: GatedGraphConv(o, a.num_layers))

Graph-task convs are built from ``emb_dim`` and get OGB's bond features when their
``forward`` takes ``edge_attr``; node and link convs are built from
``(in_channels, out_channels, args)`` and called as ``conv(x, adj)``. A link entry returns
``(encoder, decoder)``: the decoder maps two embeddings to a link probability in [0, 1].
"""
from typing import Any, Callable, Dict, Tuple

import torch
from torch_geometric.nn import GCNConv, SAGEConv

from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.mol_gcn_conv import MolGCNConv
from pyg_ext.ogb.mol_gin_conv import MolGINConv
from pyg_ext.ogb.mol_gnn import MolGNN
from pyg_ext.ogb.node_gnn import NodeGNN

Build = Callable[[Dict[str, Any], Any], Any]


def mol_model(conv: Callable[[int], torch.nn.Module], virtual_node: bool = False) -> Build:
    r"""An entry for :class:`MolGNN` (OGB's molecule model) with the given conv."""
    def build(info: Dict[str, Any], args: Any) -> MolGNN:
        return MolGNN(conv, info['num_tasks'], num_layers=args.num_layers,
                      emb_dim=args.hidden, dropout=args.dropout, virtual_node=virtual_node)
    return build


def node_model(conv: Callable[[int, int, Any], torch.nn.Module]) -> Build:
    r"""An entry for :class:`NodeGNN` (OGB's arxiv/products model) with the given conv."""
    def build(info: Dict[str, Any], args: Any) -> NodeGNN:
        return NodeGNN(lambda i, o: conv(i, o, args), info['num_features'], args.hidden,
                       info['num_classes'], num_layers=args.num_layers, dropout=args.dropout,
                       batch_norm=args.batch_norm)
    return build


def link_model(conv: Callable[[int, int, Any], torch.nn.Module]) -> Build:
    r"""An entry for a :class:`NodeGNN` encoder with OGB's :class:`LinkPredictor`."""
    def build(info: Dict[str, Any], args: Any) -> Tuple[NodeGNN, LinkPredictor]:
        encoder = NodeGNN(lambda i, o: conv(i, o, args), info['num_features'], args.hidden,
                          args.hidden, num_layers=args.num_layers, dropout=args.dropout,
                          batch_norm=False)
        decoder = LinkPredictor(args.hidden, args.hidden, 1, num_layers=args.num_layers,
                                dropout=args.dropout)
        return encoder, decoder
    return build


def _gcn(i: int, o: int, args: Any) -> torch.nn.Module:
    # The official examples use GCNConv(cached=True): one fixed graph, its normalised
    # adjacency cached. CachedGCNConv is that function, faster on the CPU (see its docs);
    # mini-batches of sampled subgraphs need the uncached GCNConv.
    if getattr(args, 'full_batch', True):
        return CachedGCNConv(i, o)
    return GCNConv(i, o)


def _sage(i: int, o: int, args: Any) -> SAGEConv:
    return SAGEConv(i, o)


GRAPH_MODELS: Dict[str, Build] = {
    'gcn': mol_model(MolGCNConv),
    'gcn-virtual': mol_model(MolGCNConv, virtual_node=True),
    'gin': mol_model(MolGINConv),
    'gin-virtual': mol_model(MolGINConv, virtual_node=True),
}

NODE_MODELS: Dict[str, Build] = {
    'gcn': node_model(_gcn),
    'sage': node_model(_sage),
}

LINK_MODELS: Dict[str, Build] = {
    'gcn': link_model(_gcn),
    'sage': link_model(_sage),
}


def build_model(registry: Dict[str, Build], name: str, info: Dict[str, Any], args: Any) -> Any:
    r"""Build ``registry[name]``, or say which names exist."""
    if name not in registry:
        raise ValueError(f"unknown --model '{name}'; choose one of {sorted(registry)}")
    return registry[name](info, args)
