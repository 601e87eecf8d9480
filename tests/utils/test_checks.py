import pytest
import torch

from pyg_ext.utils import (
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

EDGES = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])  # [2, E]: a 4-cycle


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


def test_edge_weight():
    check_edge_weight(EDGES, None)
    check_edge_weight(EDGES, torch.rand(4))
    with pytest.raises(ValueError, match=r"'edge_weight' has shape \[4, 1\].*expected shape \[4\]"):
        check_edge_weight(EDGES, torch.rand(4, 1))
    with pytest.raises(ValueError, match=r'has 4 edges; expected shape \[4\]'):
        check_edge_weight(EDGES, torch.rand(3))
    with pytest.raises(ValueError, match=r'expected shape \[2, E\]'):
        check_edge_weight(EDGES.t(), torch.rand(4))


def test_mask():
    check_mask(None, (2, 3))
    check_mask(torch.zeros(1, 3, dtype=torch.bool), (2, 3))
    with pytest.raises(ValueError, match=r'does not broadcast to \[2, 3\]'):
        check_mask(torch.zeros(4, 3, dtype=torch.bool), (2, 3))


def test_index_range():
    check_index_range(EDGES, 4)  # in range: returns
    check_index_range(EDGES.float(), 2)  # not an index tensor: left to check_edge_index
    check_index_range(torch.eye(3).to_sparse(), 1)  # sparse: left to the layer
    check_index_range(torch.zeros(2, 0, dtype=torch.long), 0)  # no edges
    cause = RuntimeError('index 4 is out of bounds')
    with pytest.raises(IndexError, match=r"refers to node 3, but 'x' has 3 nodes in "
                                         r"dimension -2 \(valid indices 0 \.\.\. 2\)") as info:
        check_index_range(EDGES, 3, error=cause)
    assert info.value.__cause__ is cause
    with pytest.raises(IndexError, match='refers to node -1.*relabel the nodes'):
        check_index_range(torch.tensor([[0, -1], [1, 0]]), 4)


def test_index_range_bipartite():
    check_index_range(EDGES, 4, 4)
    check_index_range(torch.tensor([[4, 0], [1, 0]]), 5, 2)  # 5 sources, 2 targets
    with pytest.raises(IndexError, match=r"refers to target node 3, but the target features "
                                         r"have 2 nodes .*valid indices 0 \.\.\. 1\)"):
        check_index_range(EDGES, 4, 2)
    with pytest.raises(IndexError, match='refers to source node -1, but the source features'):
        check_index_range(torch.tensor([[-1], [0]]), 4, 4)


def test_node_inputs():
    check_node_inputs(torch.zeros(5, 3), torch.zeros(2, 4, 7, 2), 3, 2)
    with pytest.raises(ValueError, match=r"'x_dst' has 4 features.*in_channels=4"):
        check_node_inputs(torch.zeros(5, 3), torch.zeros(5, 4), 3, 2)
    with pytest.raises(ValueError, match=r"'x_src' has shape \[5\]; expected \[N, F\] or "
                                         r"\[\*, N, F\].*x\[\.\.\., None\]"):
        check_node_inputs(torch.zeros(5), torch.zeros(5, 2), 1, 2)


def test_edge_inputs():
    attr = torch.zeros(4, 3)  # [E, F_e]
    check_edge_inputs(EDGES, None, None)
    check_edge_inputs(EDGES, attr, 3)
    check_edge_inputs(EDGES, torch.zeros(2, 4, 3), 3)  # [*, E, F_e]
    check_edge_inputs(torch.eye(4).to_sparse(), None, 3)  # the values carry the features
    with pytest.raises(ValueError, match=r'expected shape \[2, E\].*\.t\(\)'):
        check_edge_inputs(EDGES.t(), None, None)
    with pytest.raises(ValueError, match='build it with edge_dim=3'):
        check_edge_inputs(EDGES, attr, None)
    with pytest.raises(ValueError, match=r'pass edge_attr of shape \[E, 3\] or build the '
                                         r'layer with edge_dim=None'):
        check_edge_inputs(EDGES, None, 3)
    with pytest.raises(ValueError, match=r'has 4 edges; expected shape \[4, 3\].*'
                                         r'edge_attr\[:, None\]'):
        check_edge_inputs(EDGES, torch.zeros(4), 3)
    with pytest.raises(ValueError, match=r'expected shape \[4, 3\]'):
        check_edge_inputs(EDGES, torch.zeros(5, 3), 3)
    with pytest.raises(ValueError, match="'edge_attr' has 2 features.*in_channels=2"):
        check_edge_inputs(EDGES, torch.zeros(4, 2), 3)
    with pytest.raises(ValueError, match="put the edge features in the sparse matrix's values"):
        check_edge_inputs(torch.eye(4).to_sparse(), attr, 3)


def test_sparse_edge_attr():
    check_sparse_edge_attr(None, None)
    check_sparse_edge_attr(torch.zeros(4, 3), 3)
    with pytest.raises(ValueError, match='edge_dim=3, but the sparse adjacency has no edge'):
        check_sparse_edge_attr(None, 3)
    with pytest.raises(ValueError, match='edge_dim=None, but the sparse adjacency has edge'):
        check_sparse_edge_attr(torch.zeros(4, 3), None)


def test_gate_width():
    check_gate_width(torch.zeros(2, 5, 6), 6, "'x_proj'", 'Pass it.')
    with pytest.raises(ValueError, match=r"^hidden_map\(h\) has 5 features in its last "
                                         r"dimension; expected 8\. Build it right\.$"):
        check_gate_width(torch.zeros(2, 5), 8, 'hidden_map(h)', 'Build it right.')
