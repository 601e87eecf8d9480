import subprocess
import sys

import pytest

import pyg_ext
from pyg_ext.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(['--version'])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f'pyg-ext {pyg_ext.__version__}'


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(['--help'])
    out = capsys.readouterr().out
    assert 'catalogue' in out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert 'usage: pyg-ext' in capsys.readouterr().out


def test_catalogue_command(capsys):
    assert main(['catalogue', '--markdown']) == 0
    out = capsys.readouterr().out
    assert out.startswith('| module | paper | where it lives |')
    assert '`pyg_ext.blocks.GRUCell`' in out


def test_module_entry_point():
    out = subprocess.run([sys.executable, '-m', 'pyg_ext.cli', '--version'],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith('pyg-ext ')
