import pytest
import torch

from pyg_ext.nn.autoencoder.link_metrics import (
    average_precision,
    hits_at_k,
    roc_auc,
    sample_negative_edges,
)

# Worked out by hand: positives 0.9, 0.8, 0.4; negatives 0.7, 0.4, 0.3, 0.1.
POS = torch.tensor([0.9, 0.8, 0.4])
NEG = torch.tensor([0.7, 0.4, 0.1, 0.3])


def test_roc_auc_by_hand():
    # Pairs won: 0.9 -> 4, 0.8 -> 4, 0.4 -> 2 and a tie (1/2): 10.5 of 12.
    assert float(roc_auc(POS, NEG)) == pytest.approx(10.5 / 12)
    assert float(roc_auc(torch.ones(3), torch.ones(5))) == pytest.approx(0.5)
    assert float(roc_auc(torch.tensor([2.0]), torch.tensor([1.0]))) == 1.0


def test_average_precision_by_hand():
    # Thresholds 0.9 (P=1, R=1/3), 0.8 (P=1, R=2/3), 0.7 (P=2/3, R=2/3),
    # 0.4 (the tie: P=3/5, R=1): AP = 1/3 + 1/3 + 1/3 * 3/5 = 13/15.
    assert float(average_precision(POS, NEG)) == pytest.approx(13 / 15)
    assert float(average_precision(torch.tensor([3.0, 2.0]), NEG)) == pytest.approx(1.0)


def test_hits_at_k_by_hand():
    # K-th highest negative: 0.7, 0.4, 0.3; positives strictly above it.
    assert float(hits_at_k(POS, NEG, 1)) == pytest.approx(2 / 3)
    assert float(hits_at_k(POS, NEG, 2)) == pytest.approx(2 / 3)  # 0.4 is not above 0.4
    assert float(hits_at_k(POS, NEG, 3)) == pytest.approx(1.0)
    assert float(hits_at_k(POS, NEG, 5)) == 1.0  # fewer than K negatives, as OGB


def test_against_sklearn():
    sklearn = pytest.importorskip('sklearn.metrics')
    for trial in range(6):
        if trial % 2:  # many ties
            pos, neg = torch.randint(0, 4, (40, )).float(), torch.randint(0, 4, (70, )).float()
        else:
            pos, neg = torch.randn(40) + 0.5, torch.randn(70)
        y = [1] * 40 + [0] * 70
        scores = torch.cat([pos, neg]).numpy()
        assert float(roc_auc(pos, neg)) == pytest.approx(sklearn.roc_auc_score(y, scores))
        assert float(average_precision(pos, neg)) == pytest.approx(
            sklearn.average_precision_score(y, scores))


def test_hits_against_ogb_evaluator():
    evaluate = pytest.importorskip('ogb.linkproppred')
    evaluator = evaluate.Evaluator('ogbl-ddi')  # Hits@20, metadata ships with ogb
    pos, neg = torch.randn(50) + 1.0, torch.randn(300)
    neg[:30] = neg[:30].round()  # ties at the threshold
    for k in (1, 10, 20, 50):
        evaluator.K = k
        expected = evaluator.eval({'y_pred_pos': pos, 'y_pred_neg': neg})[f'hits@{k}']
        assert float(hits_at_k(pos, neg, k)) == pytest.approx(expected)


def test_metrics_return_tensors_on_the_input_device():
    out = roc_auc(POS, NEG), average_precision(POS, NEG), hits_at_k(POS, NEG, 2)
    assert all(isinstance(o, torch.Tensor) and o.dim() == 0 for o in out)


def test_sample_negative_edges():
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]])
    neg = sample_negative_edges(edge_index, num_nodes=30, ratio=3.0)
    assert neg.shape == (2, 18)
    existing = set(map(tuple, edge_index.t().tolist()))
    assert not existing & set(map(tuple, neg.t().tolist()))
    assert bool((neg[0] != neg[1]).all())  # no self-loops
    assert int(neg.max()) >= 5  # isolated nodes beyond edge_index.max() are sampled too
    assert int(neg.max()) < 30

    undirected = sample_negative_edges(edge_index, num_nodes=30, force_undirected=True)
    pairs = set(map(tuple, undirected.t().tolist()))
    assert all((j, i) in pairs for i, j in pairs)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match=r'flatten it with .view\(-1\)'):
        roc_auc(POS[:, None], NEG)
    with pytest.raises(ValueError, match='at least one positive and one negative'):
        average_precision(POS, NEG[:0])
    with pytest.raises(ValueError, match='needs k >= 1'):
        hits_at_k(POS, NEG, 0)
    with pytest.raises(ValueError, match=r'pass edge_index.t\(\)'):
        sample_negative_edges(torch.zeros(5, 2, dtype=torch.long), num_nodes=5)
    with pytest.raises(ValueError, match='positive number of negatives'):
        sample_negative_edges(torch.zeros(2, 5, dtype=torch.long), num_nodes=5, ratio=0)
