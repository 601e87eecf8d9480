import math

import pytest
import torch
from torch import nn

from pyg_ext.blocks.ffn import FFN
from pyg_ext.blocks.moe import (
    MoE,
    check_expert_args,
    cv_squared,
    load_balancing_loss,
    noisy_top_k_gating,
    reset_gate,
)


def randomise_gate(moe: MoE, scale: float = 1.0) -> None:
    with torch.no_grad():
        moe.w_gate.normal_(0, scale)
        if moe.w_noise is not None:
            moe.w_noise.normal_(0, scale)


def record_rows(moe: MoE):
    rows = {}

    def hook(index):
        def fn(module, inputs, output):
            assert index not in rows, 'an expert was called twice'
            rows[index] = inputs[0].detach().clone()
        return fn

    handles = [e.register_forward_hook(hook(i)) for i, e in enumerate(moe.experts)]
    return rows, handles


@pytest.mark.parametrize('noisy_gating', [False, True])
def test_all_experts_equals_dense_softmax_mixture(noisy_gating, spatiotemporal):
    moe = MoE(3, 5, num_experts=4, k=4, noisy_gating=noisy_gating).eval()  # eval: no noise
    randomise_gate(moe)
    x = spatiotemporal
    out, aux = moe(x)
    assert out.shape == (2, 6, 7, 5) and aux.shape == ()
    weights = torch.softmax(x @ moe.w_gate, dim=-1)  # [B, T, N, E]
    expected = sum(weights[..., e:e + 1] * moe.experts[e](x) for e in range(4))
    torch.testing.assert_close(out, expected)


def test_top1_gives_exactly_the_argmax_expert(sequence):
    moe = MoE(5, 4, num_experts=4, k=1, noisy_gating=False)
    x = sequence
    out, _ = moe(x)
    choice = (x @ moe.w_gate).argmax(dim=-1)  # [B, T]
    all_outs = torch.stack([e(x) for e in moe.experts], dim=-2)  # [B, T, E, F_out]
    expected = all_outs.gather(-2, choice[..., None, None].expand(-1, -1, 1, 4)).squeeze(-2)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    assert len(choice.unique()) > 1  # the test routes to several experts


def test_only_the_chosen_experts_run_on_their_tokens():
    moe = MoE(4, 3, num_experts=5, k=2, noisy_gating=False)
    with torch.no_grad():  # positive inputs: experts 3 and 4 always lose
        moe.w_gate.uniform_(0.5, 1.5)
        moe.w_gate[:, 3:] = -1.0
    x = torch.rand(30, 4)
    rows, handles = record_rows(moe)
    moe(x)
    for h in handles:
        h.remove()
    selected = torch.zeros(30, 5, dtype=torch.bool)
    selected.scatter_(1, (x @ moe.w_gate).topk(2, dim=-1).indices, True)
    assert set(rows) == {e for e in range(5) if selected[:, e].any()}
    assert not ({3, 4} & set(rows))
    assert sum(r.size(0) for r in rows.values()) == 30 * 2  # S * k rows in all, not S * E
    for e, r in rows.items():
        torch.testing.assert_close(r, x[selected[:, e]])  # exactly its tokens, in order


def test_leading_dimensions_are_flattened_per_token(spatiotemporal):
    moe = MoE(3, 2, num_experts=3, k=2, noisy_gating=False)
    out, aux = moe(spatiotemporal)
    flat, flat_aux = moe(spatiotemporal.reshape(-1, 3))
    torch.testing.assert_close(out, flat.reshape(2, 6, 7, 2))
    torch.testing.assert_close(aux, flat_aux)


def test_aux_loss_hand_computation_top1():
    # One-hot tokens pick rows of W_g as their logits.
    moe = MoE(3, 2, num_experts=3, k=1, noisy_gating=False, aux_loss_weight=0.5)
    with torch.no_grad():
        moe.w_gate.copy_(torch.tensor([[2.0, 0, 0], [0, 1, 0], [0, 0, 3]]))
    x = torch.eye(3)[[0, 0, 1, 2]]
    _, aux = moe(x)
    # importance = load = [2, 1, 1]: mean 4/3, variance 2/9, CV^2 = 1/8 for each term.
    assert aux.item() == pytest.approx(0.5 * (1 / 8 + 1 / 8))


def test_aux_loss_hand_computation_top2():
    moe = MoE(3, 2, num_experts=3, k=2, noisy_gating=False, aux_loss_weight=1.0)
    w = [[2.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0.2, 0.0, 3.0]]
    with torch.no_grad():
        moe.w_gate.copy_(torch.tensor(w))
    tokens = [0, 0, 1, 2]
    _, aux = moe(torch.eye(3)[tokens])
    importance, load = [0.0] * 3, [0.0] * 3
    for t in tokens:
        logits = w[t]
        top = sorted(range(3), key=lambda i: -logits[i])[:2]
        z = sum(math.exp(logits[i]) for i in top)
        for i in top:
            importance[i] += math.exp(logits[i]) / z
            load[i] += 1

    def cv2(v):
        mean = sum(v) / len(v)
        return sum((a - mean) ** 2 for a in v) / len(v) / mean ** 2

    assert aux.item() == pytest.approx(cv2(importance) + cv2(load), rel=1e-5)


def test_aux_loss_hand_computation_smooth_load():
    moe = MoE(4, 2, num_experts=5, k=2, aux_loss_weight=1.0).train()
    randomise_gate(moe)
    x = torch.randn(6, 4)
    torch.manual_seed(7)
    _, aux = moe(x)
    torch.manual_seed(7)
    eps = torch.randn(6, 5)  # the noise the layer drew
    clean = (x @ moe.w_gate).tolist()
    std = (torch.nn.functional.softplus(x @ moe.w_noise) + MoE.noise_eps).tolist()
    noisy = (torch.tensor(clean) + eps * torch.tensor(std)).tolist()
    importance, load = [0.0] * 5, [0.0] * 5
    for s in range(6):
        top = sorted(range(5), key=lambda i: -noisy[s][i])[:2]
        z = sum(math.exp(noisy[s][i]) for i in top)
        for i in top:
            importance[i] += math.exp(noisy[s][i]) / z
        for i in range(5):
            kth_excluding = sorted((noisy[s][j] for j in range(5) if j != i), reverse=True)[1]
            arg = (clean[s][i] - kth_excluding) / std[s][i]
            load[i] += 0.5 * (1 + math.erf(arg / math.sqrt(2)))

    def cv2(v):
        mean = sum(v) / len(v)
        return sum((a - mean) ** 2 for a in v) / len(v) / mean ** 2

    assert aux.item() == pytest.approx(cv2(importance) + cv2(load), rel=1e-4)


def test_noise_only_in_training():
    moe = MoE(4, 3, num_experts=6, k=2)
    randomise_gate(moe)
    x = torch.randn(50, 4)
    moe.eval()
    out_a, aux_a = moe(x)
    out_b, aux_b = moe(x)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(aux_a, aux_b)
    moe.train()
    assert not torch.allclose(moe(x)[0], moe(x)[0])


def test_gradients_reach_gate_noise_and_chosen_experts():
    moe = MoE(4, 3, num_experts=6, k=2).train()
    randomise_gate(moe)
    x = torch.randn(2, 4)  # 2 tokens x 2 experts: at most 4 of the 6 experts run
    rows, handles = record_rows(moe)
    out, aux = moe(x)
    (out.square().sum() + aux).backward()
    for h in handles:
        h.remove()
    assert moe.w_gate.grad.abs().sum() > 0 and moe.w_noise.grad.abs().sum() > 0
    for e, expert in enumerate(moe.experts):
        grads = [p.grad for p in expert.parameters()]
        if e in rows:
            assert all(g is not None and g.abs().sum() > 0 for g in grads)
        else:
            assert all(g is None for g in grads)
    assert 0 < len(rows) < 6


def test_fresh_noisy_gate_is_zero_and_still_learns():
    moe = MoE(4, 3, num_experts=4, k=2)
    assert moe.w_gate.abs().sum() == 0 and moe.w_noise.abs().sum() == 0
    out, aux = moe(torch.randn(16, 4))
    (out.sum() + aux).backward()
    assert moe.w_gate.grad.abs().sum() > 0 and moe.w_noise.grad.abs().sum() > 0


def test_expert_factory():
    moe = MoE(4, 3, num_experts=3, k=3, expert=nn.Linear, noisy_gating=False)
    assert all(isinstance(e, nn.Linear) for e in moe.experts)
    x = torch.randn(10, 4)
    weights = torch.softmax(x @ moe.w_gate, dim=-1)
    expected = sum(weights[:, e:e + 1] * (x @ moe.experts[e].weight.t() + moe.experts[e].bias)
                   for e in range(3))
    torch.testing.assert_close(moe(x)[0], expected)
    moe = MoE(4, 3, num_experts=2, expert=lambda i, o: FFN(i, 7, o, act='relu'))
    assert str(moe.experts[0]) == "FFN(4, 7, 3, act='relu')"
    assert MoE(4, 3, num_experts=2, hidden_channels=9).experts[1].hidden_channels == 9


def test_repr_and_reset_parameters():
    moe = MoE(16, 32, num_experts=4)
    assert str(moe) == 'MoE(16, 32, num_experts=4, k=2, noisy_gating=True)'
    randomise_gate(moe)
    before = moe.experts[0].lin1.weight.clone()
    moe.reset_parameters()
    assert moe.w_gate.abs().sum() == 0 and moe.w_noise.abs().sum() == 0
    assert not torch.equal(before, moe.experts[0].lin1.weight)
    moe = MoE(16, 32, num_experts=4, k=1, noisy_gating=False)
    assert str(moe) == 'MoE(16, 32, num_experts=4, k=1, noisy_gating=False)'
    assert moe.w_noise is None and moe.w_gate.abs().max() <= 0.25


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match='choose 1 <= k <= num_experts'):
        MoE(4, 3, num_experts=2, k=3)
    with pytest.raises(ValueError, match='build the layer with num_experts >= 3'):
        MoE(4, 3, num_experts=2, k=3)
    with pytest.raises(ValueError, match='choose 1 <= k <= num_experts'):
        MoE(4, 3, num_experts=2, k=0)
    with pytest.raises(ValueError, match='num_experts must be at least 1'):
        MoE(4, 3, num_experts=0)
    with pytest.raises(ValueError, match='leave hidden_channels=None'):
        MoE(4, 3, num_experts=2, expert=nn.Linear, hidden_channels=8)
    with pytest.raises(ValueError, match='build the layer with in_channels=5'):
        MoE(4, 3, num_experts=2)(torch.randn(3, 5))


def test_empty_input():
    out, aux = MoE(4, 3, num_experts=2)(torch.randn(0, 7, 4))
    assert out.shape == (0, 7, 3) and aux.item() == 0


def test_save_load_round_trip(tmp_path):
    moe = MoE(4, 3, num_experts=3, k=2).eval()
    randomise_gate(moe)
    x = torch.randn(9, 4)
    path = tmp_path / 'moe.pt'
    torch.save(moe, path)
    loaded = torch.load(path, weights_only=False)
    for a, b in zip(loaded(x), moe(x)):
        torch.testing.assert_close(a, b)


def test_compiled_matches_eager_despite_routing_graph_break():
    # The host read of per-expert token counts breaks the graph; the result must not change.
    moe = MoE(4, 3, num_experts=3, k=2, noisy_gating=False).eval()
    x = torch.randn(2, 5, 4)
    compiled = torch.compile(moe, backend='eager')
    for a, b in zip(compiled(x), moe(x)):
        torch.testing.assert_close(a, b)


def test_gating_functions_by_hand():
    v = torch.tensor([1.0, 2.0, 3.0, 6.0])
    assert cv_squared(v).item() == pytest.approx(v.var(correction=0).item() / 9.0, rel=1e-6)
    assert cv_squared(torch.zeros(3)).item() == 0.0

    x, w_gate = torch.randn(7, 4), torch.randn(4, 5)
    idx, gates, balance = noisy_top_k_gating(x, w_gate, None, k=2)  # clean gate
    top, ref_idx = (x @ w_gate).topk(2, dim=-1)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(gates, torch.softmax(top, dim=-1))
    importance = torch.zeros(5).index_add(0, idx.reshape(-1), gates.reshape(-1))
    load = torch.bincount(idx.reshape(-1), minlength=5).float()
    torch.testing.assert_close(balance, cv_squared(importance) + cv_squared(load))
    top3 = (x @ w_gate).topk(3, dim=-1).values
    torch.testing.assert_close(load_balancing_loss(x @ w_gate, top3, idx, gates), balance)


def test_gating_functions_are_the_block_gate():
    moe = MoE(4, 3, num_experts=5, k=2, aux_loss_weight=1.0).train()
    randomise_gate(moe)
    x = torch.randn(9, 4)
    rows, handles = record_rows(moe)
    torch.manual_seed(3)
    _, aux = moe(x)
    for h in handles:
        h.remove()
    torch.manual_seed(3)
    idx, _, balance = noisy_top_k_gating(x, moe.w_gate, moe.w_noise, 2, MoE.noise_eps)
    torch.testing.assert_close(aux, balance)
    for e in range(5):  # each expert saw exactly the tokens the function routed to it
        chosen = (idx == e).any(dim=-1)
        if chosen.any():
            torch.testing.assert_close(rows[e], x[chosen])
        else:
            assert e not in rows


def test_reset_gate_and_expert_args():
    w_gate, w_noise = torch.ones(16, 3), torch.ones(16, 3)
    reset_gate(w_gate, w_noise)
    assert w_gate.abs().sum() == 0 and w_noise.abs().sum() == 0
    reset_gate(w_gate, None)
    assert 0 < w_gate.abs().max() <= 0.25  # uniform in +-1/sqrt(16)
    check_expert_args(4, 4, None, 8)
    with pytest.raises(ValueError, match=r'k=5 experts per node.*e\.g\. k=4'):
        check_expert_args(4, 5, None, None, per='node')
