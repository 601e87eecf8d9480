"""OGB benchmarks: ogb's own datasets and evaluators, loaded safely on torch >= 2.6, the
official baselines, a model registry, and a shared runner with resumable checkpoints."""
from pyg_ext.ogb.bond_encoded_conv import BondEncodedConv
from pyg_ext.ogb.cached_gcn_conv import CachedGCNConv
from pyg_ext.ogb.cached_sage_conv import CachedSAGEConv
from pyg_ext.ogb.datasets import load_dataset, load_split, make_evaluator
from pyg_ext.ogb.link_predictor import LinkPredictor
from pyg_ext.ogb.logger import Logger
from pyg_ext.ogb.mol_gcn_conv import MolGCNConv
from pyg_ext.ogb.mol_ggnn import MolGGNN
from pyg_ext.ogb.mol_gin_conv import MolGINConv
from pyg_ext.ogb.mol_gnn import MolGNN
from pyg_ext.ogb.mol_graph_attention_conv import MolGraphAttentionConv
from pyg_ext.ogb.mol_graph_transformer_conv import MolGraphTransformerConv
from pyg_ext.ogb.node_gnn import NodeGNN
from pyg_ext.ogb.pair_decoder import PairDecoder
from pyg_ext.ogb.registry import GRAPH_MODELS, LINK_MODELS, NODE_MODELS
from pyg_ext.ogb.runner import Runner
from pyg_ext.ogb.safe_load import ogb_safe_globals
from pyg_ext.ogb.torch_neighbor_sampler import TorchNeighborSampler

__all__ = [
    'BondEncodedConv',
    'CachedGCNConv',
    'CachedSAGEConv',
    'GRAPH_MODELS',
    'LINK_MODELS',
    'LinkPredictor',
    'Logger',
    'MolGCNConv',
    'MolGGNN',
    'MolGINConv',
    'MolGNN',
    'MolGraphAttentionConv',
    'MolGraphTransformerConv',
    'NODE_MODELS',
    'NodeGNN',
    'PairDecoder',
    'Runner',
    'TorchNeighborSampler',
    'load_dataset',
    'load_split',
    'make_evaluator',
    'ogb_safe_globals',
]
