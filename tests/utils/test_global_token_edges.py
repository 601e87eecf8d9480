import torch

from pyg_ext.utils.global_token_edges import global_token_edges


def test_every_node_meets_every_token_of_its_graph():
    batch = torch.tensor([0, 0, 1, 1, 1])
    gather, spread = global_token_edges(5, 2, batch, num_graphs=2)
    pairs = set(map(tuple, gather.t().tolist()))
    assert pairs == {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (4, 2), (4, 3)}
    # spread: the same pairs reversed, tokens numbered after the 5 nodes.
    assert torch.equal(spread, torch.stack([gather[1] + 5, gather[0]]))


def test_one_graph_by_default():
    gather, spread = global_token_edges(3, 1)
    assert torch.equal(gather, torch.tensor([[0, 1, 2], [0, 0, 0]]))
    assert torch.equal(spread, torch.tensor([[3, 3, 3], [0, 1, 2]]))
