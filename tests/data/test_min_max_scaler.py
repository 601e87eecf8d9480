import pytest
import torch

from pyg_ext.data.min_max_scaler import MinMaxScaler


def test_masked_range_by_hand():
    x = torch.tensor([[[1.], [10.]], [[3.], [float('nan')]], [[100.], [14.]]])
    mask = torch.tensor([[[True], [True]], [[True], [True]], [[False], [True]]])
    sc = MinMaxScaler(dim=(0,)).fit(x, mask)
    assert sc.min.flatten().tolist() == [1., 10.] and sc.max.flatten().tolist() == [3., 14.]
    z = sc.transform(x)
    assert z[0, 0, 0] == 0 and z[1, 0, 0] == 1 and z[2, 1, 0] == 1 and z[2, 0, 0] == 49.5
    sc = MinMaxScaler((-1., 1.)).fit(x, mask)
    assert sc.transform(torch.tensor(1.)) == -1 and sc.transform(torch.tensor(14.)) == 1
    assert repr(sc) == 'MinMaxScaler(feature_range=(-1.0, 1.0), dim=(0, 1))'


def test_round_trip_and_degenerate(tmp_path):
    x = torch.rand(20, 3, 2) * 70
    sc = MinMaxScaler().fit(x)
    batch = torch.rand(4, 5, 3, 2) * 70  # [B, T, N, F]
    assert torch.allclose(sc.inverse_transform(sc(batch)), batch, atol=1e-4)
    mask = torch.rand(4, 5, 3, 2) > 0.5
    assert (sc.transform(batch, mask)[~mask] == 0).all()
    const = MinMaxScaler(dim=(0,)).fit(torch.full((4, 2, 1), 5.),
                                       torch.tensor([True, False]).reshape(1, 2, 1)
                                       .expand(4, 2, 1))
    assert const.min.flatten().tolist() == [5., 0.] and const.max.flatten().tolist() == [6., 1.]
    new = MinMaxScaler(dim=(0,))
    torch.save(const.state_dict(), tmp_path / 'mm.pt')
    new.load_state_dict(torch.load(tmp_path / 'mm.pt'))
    assert torch.equal(new.max, const.max)


def test_errors():
    with pytest.raises(ValueError, match='low < high'):
        MinMaxScaler((1., 0.))
    with pytest.raises(ValueError, match='call scaler.fit'):
        MinMaxScaler().inverse_transform(torch.randn(2))
