import pytest
import torch

from pyg_ext.data.standard_scaler import StandardScaler


def test_masked_statistics_by_hand():
    x = torch.tensor([[[1.], [10.]], [[3.], [float('nan')]], [[100.], [14.]]])  # [T=3, N=2, F=1]
    mask = torch.tensor([[[True], [True]], [[True], [True]], [[False], [True]]])
    sc = StandardScaler(dim=(0,)).fit(x, mask)  # per node
    assert sc.mean.flatten().tolist() == [2., 12.]  # 100 is masked, NaN is skipped
    assert sc.std.flatten().tolist() == [1., 2.]
    pooled = StandardScaler().fit(x, mask)
    ref = torch.tensor([1., 10., 3., 14.])
    assert torch.allclose(pooled.mean.flatten(), ref.mean().reshape(1))
    assert torch.allclose(pooled.std.flatten(), ref.std(unbiased=False).reshape(1))
    assert repr(sc) == 'StandardScaler(dim=(0,))'


def test_round_trip_batched_and_fill():
    x = torch.randn(50, 4, 3) * 5 + 2
    sc = StandardScaler().fit(x)
    z = sc.transform(x)
    assert torch.allclose(z.mean((0, 1)), torch.zeros(3), atol=1e-5)
    batch = torch.randn(2, 6, 4, 3)  # [B, T, N, F]
    assert torch.allclose(sc.inverse_transform(sc(batch)), batch, atol=1e-5)
    mask = torch.rand(2, 6, 4, 3) > 0.5
    assert (sc.transform(batch, mask)[~mask] == 0).all()


def test_constant_and_unobserved_and_save(tmp_path):
    x = torch.ones(5, 2, 1)
    mask = torch.tensor([True, False]).reshape(1, 2, 1).expand(5, 2, 1)
    sc = StandardScaler(dim=(0,)).fit(x, mask)
    assert sc.std.flatten().tolist() == [1., 1.] and sc.mean.flatten().tolist() == [1., 0.]
    torch.save(sc.state_dict(), tmp_path / 'sc.pt')
    new = StandardScaler(dim=(0,))
    new.load_state_dict(torch.load(tmp_path / 'sc.pt'))
    assert torch.equal(new.mean, sc.mean)
    torch.save(sc, tmp_path / 'whole.pt')
    assert torch.equal(torch.load(tmp_path / 'whole.pt', weights_only=False).std, sc.std)


def test_errors():
    with pytest.raises(ValueError, match='call scaler.fit'):
        StandardScaler().transform(torch.randn(3, 2, 1))
    with pytest.raises(ValueError, match=r'training series \[T, N, F\]'):
        StandardScaler().fit(torch.randn(3, 2))
