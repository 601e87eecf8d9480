"""Graph autoencoders: PyG's GAE/VGAE/ARGA/ARGVA, plus decoders, GraphMAE and link metrics."""
from torch_geometric.nn.models import ARGA, ARGVA, GAE, VGAE, InnerProductDecoder

from pyg_ext.nn.autoencoder.bilinear_decoder import BilinearDecoder
from pyg_ext.nn.autoencoder.graph_mae import GraphMAE, sce_loss
from pyg_ext.nn.autoencoder.link_metrics import (
    average_precision,
    hits_at_k,
    roc_auc,
    sample_negative_edges,
)
from pyg_ext.nn.autoencoder.mlp_decoder import MLPDecoder

__all__ = [
    'GAE',
    'VGAE',
    'ARGA',
    'ARGVA',
    'InnerProductDecoder',
    'BilinearDecoder',
    'MLPDecoder',
    'GraphMAE',
    'sce_loss',
    'sample_negative_edges',
    'roc_auc',
    'average_precision',
    'hits_at_k',
]
