import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed

from pyg_ext.cli import main

ROOT = Path(__file__).resolve().parents[2]
ARGS = ['--model', 'gru_baseline', '--input-steps', '4', '--horizon', '3', '--hidden', '8',
        '--epochs', '2', '--no-progress', '--no-plots']


@pytest.mark.skipif(not torch.distributed.is_available() or
                    not torch.distributed.is_gloo_available(), reason='needs gloo')
def test_torchrun_two_processes_equals_one_process_with_twice_the_batch(tiny_files, tmp_path):
    series, adj = tiny_files
    data = ['forecast', '--series', str(series), '--adjacency', str(adj)]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
           '-m', 'pyg_ext.cli', *data, *ARGS, '--batch-size', '4', '--device', 'cpu',
           '--out', str(tmp_path / 'ddp')]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('Test on series') == 1  # only rank 0 logs
    assert done.stdout.count('gru_baseline epoch   2/2') == 1
    ddp = json.loads((tmp_path / 'ddp' / 'metrics.json').read_text())
    assert ddp['world_size'] == 2
    assert (tmp_path / 'ddp' / 'checkpoint_gru_baseline.pt').is_file()

    # DistributedDataParallel averages the two processes' gradients: with no missing
    # values and equal shards, 2 x 4 windows per step equal 1 x 8 windows.
    assert main([*data, *ARGS, '--batch-size', '8', '--device', 'cpu', '--out',
                 str(tmp_path / 'one')]) == 0
    one = json.loads((tmp_path / 'one' / 'metrics.json').read_text())
    for name in one['test']:
        for key, row in one['test'][name].items():
            for metric in ('mae', 'rmse', 'mape'):
                assert ddp['test'][name][key][metric] == pytest.approx(row[metric], rel=1e-4)
    assert ddp['training']['gru_baseline']['history']['val_mae'] == pytest.approx(
        one['training']['gru_baseline']['history']['val_mae'], rel=1e-4)
