r"""The ``--model`` registries of the OGB scripts, one per task type.

An entry maps a name to ``build(info, args)``: ``info`` holds the dataset's facts
(``num_tasks``, ``num_features``, ``num_classes``, ``num_nodes``) and ``args`` the resolved
hyperparameters (``num_layers``, ``hidden``, ``dropout``, ...). The helpers below make an
entry from a conv, so adding one of pyg_ext's layers is one line, e.g.::

    GRAPH_MODELS['graph-transformer'] = mol_model(MolGraphTransformerConv)
    NODE_MODELS['attention-dot'] = node_model(_attention('dot'))
    LINK_MODELS['gcn-bilinear'] = link_model(_gcn, lambda h, a: PairDecoder(BilinearDecoder(h)))

Graph-task convs are built from ``emb_dim`` and get OGB's bond features when their
``forward`` takes ``edge_attr`` (pyg_ext's convs get them through a wrapper that owns a
``BondEncoder``, as OGB's GIN and GCN layers do); node and link convs are built from
``(in_channels, out_channels, args)`` and called as ``conv(x, adj)``. A link entry returns
``(encoder, decoder)``: the decoder maps two embeddings to a link probability in [0, 1],
shape [P, 1] (pyg_ext's autoencoder decoders through :class:`PairDecoder`).

pyg_ext's models:

- molecules: ``graph-transformer`` (``-virtual``), :class:`MolGraphTransformerConv` layers in
  :class:`MolGNN` (see the class for why MolGNN's batch norm, ReLU and dropout stay);
  ``attention-{additive,bilinear,dot,scaled-dot}``, :class:`MolGraphAttentionConv` layers
  (``HEADS`` heads of ``hidden / HEADS`` channels) in :class:`MolGNN`; ``ggnn``,
  :class:`MolGGNN`, one GGNN layer of ``num_layers`` steps (see the class for why one layer).
- nodes (arxiv, products) and link encoders (``attention-dot``): ``attention-*``,
  :class:`GraphAttentionConv` in :class:`NodeGNN` (see :func:`_attention`).
- link decoders: ``{gcn,sage}-{bilinear,mlp,inner}``, the GCN or SAGE encoder with
  :class:`BilinearDecoder`, :class:`MLPDecoder` (Hadamard, the function of OGB's
  :class:`LinkPredictor`) or PyG's :class:`InnerProductDecoder`.
"""
from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch_geometric.nn import GCNConv, SAGEConv
from torch_geometric.nn.models import InnerProductDecoder

from pyg_ext.nn.autoencoder.bilinear_decoder import BilinearDecoder
from pyg_ext.nn.autoencoder.mlp_decoder import MLPDecoder
from pyg_ext.nn.conv.graph_attention_conv import GraphAttentionConv
from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv
from pyg_ext.ogb.cached_sage_conv import CachedSAGEConv
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.mol_gcn_conv import MolGCNConv
from pyg_ext.ogb.mol_ggnn import MolGGNN
from pyg_ext.ogb.mol_gin_conv import MolGINConv
from pyg_ext.ogb.mol_gnn import MolGNN
from pyg_ext.ogb.mol_graph_attention_conv import MolGraphAttentionConv
from pyg_ext.ogb.mol_graph_transformer_conv import MolGraphTransformerConv
from pyg_ext.ogb.node_gnn import NodeGNN
from pyg_ext.ogb.pair_decoder import PairDecoder

Build = Callable[[Dict[str, Any], Any], Any]

#: Attention heads of pyg_ext's attention and transformer layers in every registry.
HEADS = 4


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


def link_model(conv: Callable[[int, int, Any], torch.nn.Module],
               decoder: Optional[Callable[[int, Any], torch.nn.Module]] = None) -> Build:
    r"""An entry for a :class:`NodeGNN` encoder with a decoder built as
    ``decoder(hidden, args)`` (default: OGB's :class:`LinkPredictor`)."""
    def build(info: Dict[str, Any], args: Any) -> Tuple[NodeGNN, torch.nn.Module]:
        encoder = NodeGNN(lambda i, o: conv(i, o, args), info['num_features'], args.hidden,
                          args.hidden, num_layers=args.num_layers, dropout=args.dropout,
                          batch_norm=False)
        if decoder is None:
            return encoder, LinkPredictor(args.hidden, args.hidden, 1,
                                          num_layers=args.num_layers, dropout=args.dropout)
        return encoder, decoder(args.hidden, args)
    return build


def _gcn(i: int, o: int, args: Any) -> torch.nn.Module:
    # The official examples use GCNConv(cached=True): one fixed graph, its normalised
    # adjacency cached. CachedGCNConv is that function, faster on the CPU (see its docs);
    # mini-batches of sampled subgraphs need the uncached GCNConv.
    if getattr(args, 'full_batch', True):
        return CachedGCNConv(i, o)
    return GCNConv(i, o)


def _sage(i: int, o: int, args: Any) -> torch.nn.Module:
    # The official examples use SAGEConv (mean) on one fixed graph; CachedSAGEConv is that
    # function with its mean matrix cached, faster on the CPU (see its docs).
    if getattr(args, 'full_batch', True):
        return CachedSAGEConv(i, o)
    return SAGEConv(i, o)


def _attention(score: str) -> Callable[[int, int, Any], GraphAttentionConv]:
    r"""pyg_ext's :class:`GraphAttentionConv` with ``score`` as a node or link layer, as GAT
    stacks it: a hidden layer (``out == args.hidden``) concatenates ``HEADS`` heads of
    ``out / HEADS`` channels, the output layer (e.g. ``out`` = the number of classes)
    averages ``HEADS`` heads of ``out`` channels (so does a hidden layer when ``HEADS`` does
    not divide it). Self-loops added, no attention dropout (NodeGNN's dropout acts between
    layers); it takes the runners' sparse ``adj_t`` or an ``edge_index``."""
    def conv(i: int, o: int, args: Any) -> GraphAttentionConv:
        if o == args.hidden and o % HEADS == 0:
            return GraphAttentionConv(i, o // HEADS, HEADS, score=score)
        return GraphAttentionConv(i, o, HEADS, score=score, concat=False)
    return conv


def _ggnn(info: Dict[str, Any], args: Any) -> MolGGNN:
    return MolGGNN(info['num_tasks'], num_layers=args.num_layers, emb_dim=args.hidden,
                   dropout=args.dropout)


def _bilinear(hidden: int, args: Any) -> PairDecoder:
    return PairDecoder(BilinearDecoder(hidden))


def _mlp(hidden: int, args: Any) -> PairDecoder:
    # OGB's LinkPredictor as pyg_ext's MLPDecoder: same depth, width and dropout.
    return PairDecoder(MLPDecoder(hidden, hidden, num_layers=args.num_layers,
                                  dropout=args.dropout))


def _inner(hidden: int, args: Any) -> PairDecoder:
    return PairDecoder(InnerProductDecoder())


#: Names of the attention scores in ``--model attention-SCORE``.
SCORES = {'additive': 'additive', 'bilinear': 'bilinear', 'dot': 'dot',
          'scaled-dot': 'scaled_dot'}

GRAPH_MODELS: Dict[str, Build] = {
    'gcn': mol_model(MolGCNConv),
    'gcn-virtual': mol_model(MolGCNConv, virtual_node=True),
    'gin': mol_model(MolGINConv),
    'gin-virtual': mol_model(MolGINConv, virtual_node=True),
    'graph-transformer': mol_model(partial(MolGraphTransformerConv, heads=HEADS)),
    'graph-transformer-virtual': mol_model(partial(MolGraphTransformerConv, heads=HEADS),
                                           virtual_node=True),
    'ggnn': _ggnn,
    **{f'attention-{name}': mol_model(partial(MolGraphAttentionConv, score=score, heads=HEADS))
       for name, score in SCORES.items()},
}

NODE_MODELS: Dict[str, Build] = {
    'gcn': node_model(_gcn),
    'sage': node_model(_sage),
    **{f'attention-{name}': node_model(_attention(score)) for name, score in SCORES.items()},
}

LINK_MODELS: Dict[str, Build] = {
    'gcn': link_model(_gcn),
    'sage': link_model(_sage),
    'attention-dot': link_model(_attention('dot')),
    **{f'{encoder}-{name}': link_model(conv, decoder)
       for encoder, conv in (('gcn', _gcn), ('sage', _sage))
       for name, decoder in (('bilinear', _bilinear), ('mlp', _mlp), ('inner', _inner))},
}


def build_model(registry: Dict[str, Build], name: str, info: Dict[str, Any], args: Any) -> Any:
    r"""Build ``registry[name]``, or say which names exist."""
    if name not in registry:
        raise ValueError(f"unknown --model '{name}'; choose one of {sorted(registry)}")
    return registry[name](info, args)
