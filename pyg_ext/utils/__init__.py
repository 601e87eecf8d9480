from pyg_ext.utils.checks import (
    check_edge_index,
    check_edge_inputs,
    check_edge_weight,
    check_feature_size,
    check_gate_width,
    check_index_range,
    check_mask,
    check_node_inputs,
    check_sparse_edge_attr,
)
from pyg_ext.utils.csr_matmul import csr_matmul
from pyg_ext.utils.nodes_first import fold_nodes_first, unfold_nodes_first

__all__ = [
    'check_edge_index',
    'check_edge_inputs',
    'check_edge_weight',
    'check_feature_size',
    'check_gate_width',
    'check_index_range',
    'check_mask',
    'check_node_inputs',
    'check_sparse_edge_attr',
    'csr_matmul',
    'fold_nodes_first',
    'unfold_nodes_first',
]
