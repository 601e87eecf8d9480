import pytest
import torch

from pyg_ext.utils import check_edge_index, check_feature_size, check_mask


def test_feature_size():
    check_feature_size(torch.zeros(3, 4), 4)
    with pytest.raises(ValueError, match='in_channels=5'):
        check_feature_size(torch.zeros(3, 5), 4)
    with pytest.raises(ValueError, match='scalar'):
        check_feature_size(torch.tensor(1.0), 4)


def test_edge_index():
    check_edge_index(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*\.t\(\)'):
        check_edge_index(torch.zeros(5, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\.long\(\)'):
        check_edge_index(torch.zeros(2, 5))
    # sparse adjacencies are left to the layer
    check_edge_index(torch.eye(3).to_sparse())


def test_mask():
    check_mask(None, (2, 3))
    check_mask(torch.zeros(1, 3, dtype=torch.bool), (2, 3))
    with pytest.raises(ValueError, match=r'does not broadcast to \[2, 3\]'):
        check_mask(torch.zeros(4, 3, dtype=torch.bool), (2, 3))
