from pyg_ext.utils.checks import check_edge_index, check_feature_size, check_mask

__all__ = ['check_edge_index', 'check_feature_size', 'check_mask']
