import subprocess
import sys

import pytest

from pyg_ext.cli import build_parser, main
from pyg_ext.forecast import arguments
from pyg_ext.forecast.datasets import DATASETS
from pyg_ext.forecast.evaluation import DEFAULT_MSE_WEIGHT
from pyg_ext.forecast.models import MODELS


def test_names_in_the_help_match_the_registries(capsys):
    assert arguments.DATASET_NAMES == tuple(sorted(DATASETS))
    assert arguments.MODEL_NAMES == tuple(sorted(MODELS))
    assert arguments.DEFAULT_MODEL in MODELS
    with pytest.raises(SystemExit):
        main(['forecast', '--help'])
    out = capsys.readouterr().out
    assert '--input-steps' in out and 'los_loop' in out and arguments.DEFAULT_MODEL in out


def test_defaults():
    args = build_parser().parse_args(['forecast'])
    assert args.dataset is None and args.model == arguments.DEFAULT_MODEL
    assert (args.horizon, args.input_steps, args.epochs) == (12, 12, arguments.DEFAULT_EPOCHS)
    assert args.resume and args.baselines and args.plots and args.progress
    assert tuple(args.split) == (0.7, 0.1, 0.2)
    assert args.mse_weight == DEFAULT_MSE_WEIGHT  # a literal here: this module imports no torch
    assert not build_parser().parse_args(['forecast', '--no-resume']).resume


def test_the_arguments_do_not_import_torch():
    code = ('import sys, argparse; from pyg_ext.forecast import arguments; '
            'arguments.add_arguments(argparse.ArgumentParser()); print("torch" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == 'False'
