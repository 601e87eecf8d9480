import pytest
import torch

from pyg_ext.forecast.models import (
    MODELS,
    PAPER_LOSSES,
    build_model,
    curriculum_decay_steps,
    model_class,
    parse_model_args,
    training_loss,
)
from pyg_ext.nn.models.historical_average import HistoricalAverage


@pytest.mark.parametrize('name', sorted(set(MODELS) - {'historical_average'}))
def test_every_model_builds_by_name_and_forecasts(name, directed_graph):
    edge_index, edge_weight, num_nodes = directed_graph
    model = build_model(name, in_channels=2, out_channels=1, hidden_channels=8, horizon=3,
                        num_nodes=num_nodes, input_steps=12)
    assert isinstance(getattr(type(model), 'supports_teacher_forcing'), bool)
    out = model(torch.randn(2, 12, num_nodes, 2), edge_index, edge_weight)
    assert out.shape == (2, 3, num_nodes, 1)


def test_lookup_and_errors():
    assert model_class('historical-average') is HistoricalAverage
    with pytest.raises(ValueError, match="unknown model 'nope'; use one of"):
        model_class('nope')
    with pytest.raises(ValueError, match='fitted, not trained'):
        build_model('historical_average', 1, 1, 8, 3, 4, 12)


def test_training_loss_is_the_papers_unless_chosen():
    assert training_loss('stgcn') == 'mse'  # Yu et al. 2018, Eq. 11: L2
    assert training_loss('TGCN') == training_loss('a3tgcn') == 'mse'
    for name in ('dcrnn', 'graph_wave_net', 'agcrn', 'gman', 'gru_baseline'):
        assert training_loss(name) == 'mae'
    assert training_loss('stgcn', 'mae') == 'mae' and training_loss('dcrnn', 'mse') == 'mse'
    assert set(PAPER_LOSSES) <= set(MODELS)


def test_scheduled_sampling_decay_follows_the_run_length():
    from pyg_ext.blocks.seq2seq import inverse_sigmoid_schedule
    # DCRNN's k = 2000 on METR-LA: ~375 batches per epoch for 100 epochs.
    assert curriculum_decay_steps(375 * 100) == pytest.approx(2000, rel=0.02)
    k = curriculum_decay_steps(220)
    assert inverse_sigmoid_schedule(0.4 * 220, k) == pytest.approx(0.5)
    model = build_model('dcrnn', 2, 1, 4, 3, 7, 12, total_batches=220)
    assert model.seq2seq.cl_decay_steps == pytest.approx(k)
    model = build_model('dcrnn', 2, 1, 4, 3, 7, 12, total_batches=220, cl_decay_steps=50.0)
    assert model.seq2seq.cl_decay_steps == 50.0
    assert build_model('dcrnn', 2, 1, 4, 3, 7, 12).seq2seq.cl_decay_steps == 2000


def test_hidden_size_defaults_to_the_models_own():
    assert build_model('graph_wave_net', 2, 1, None, 3, 7, 12).hidden_channels == 32
    assert build_model('dcrnn', 2, 1, None, 3, 7, 12).hidden_channels == 64  # no default
    assert build_model('gru_baseline', 2, 1, 16, 3, 7, 12).hidden_channels == 16


def test_model_args_reach_the_constructor_and_bad_ones_are_named():
    assert parse_model_args(['K=3', 'graph_residual=True', 'normalization=rw', 'x=None']) == {
        'K': 3, 'graph_residual': True, 'normalization': 'rw', 'x': None}
    with pytest.raises(ValueError, match='KEY=VALUE'):
        parse_model_args(['K3'])
    model = build_model('stgcn', 2, 1, 8, 3, 7, 12,
                        model_args={'graph_residual': True, 'node_affine': True, 'K': 2})
    assert model.graph_residual and model.node_bias.shape == (7, 3)  # num_nodes from the data
    assert len(model.blocks[0].conv.lins) == 2  # K = 2 Chebyshev polynomials
    with pytest.raises(ValueError, match=r"STGCN \(stgcn\) takes no argument 'nope'; its own "
                                         r"arguments: K, dropout, gated_shortcut, graph_residual"):
        build_model('stgcn', 2, 1, 8, 3, 7, 12, model_args={'nope': 1})
    with pytest.raises(ValueError, match="takes no argument 'horizon' here"):
        build_model('stgcn', 2, 1, 8, 3, 7, 12, model_args={'horizon': 6})


def test_target_channels_reach_dcrnn_only():
    dcrnn = build_model('dcrnn', 3, 1, 8, 3, 7, 12, model_args={'go_input': 'last'},
                        target_channels=[2])
    assert dcrnn.go_input == 'last' and dcrnn.target_channels == [2]
    assert build_model('dcrnn', 3, 1, 8, 3, 7, 12).target_channels == [0]  # the first F_out
    gru = build_model('gru_baseline', 3, 1, 8, 3, 7, 12, target_channels=[2])  # not its keyword
    assert gru.in_channels == 3
    with pytest.raises(ValueError, match="takes no argument 'target_channels' here"):
        build_model('dcrnn', 3, 1, 8, 3, 7, 12, model_args={'target_channels': [1]})
