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


def test_the_program_keeps_freed_memory_for_training_commands_only(monkeypatch):
    import pyg_ext.malloc
    from pyg_ext import cli
    calls = []
    monkeypatch.setattr(pyg_ext.malloc, 'keep_freed_memory', lambda: calls.append(1) or True)
    ran = []
    for name in ('forecast', 'ogb'):
        help_text, add_arguments, _ = cli.COMMANDS[name]
        monkeypatch.setitem(cli.COMMANDS, name,
                            (help_text, add_arguments, lambda args: ran.append(args) or 0))
    assert main(['forecast'], process=True) == 0 and calls == [1]
    assert main(['ogb', 'ogbl-ddi'], process=True) == 0 and calls == [1, 1]
    assert main(['forecast', '--system-malloc'], process=True) == 0 and calls == [1, 1]
    assert main(['ogb', 'ogbl-ddi', '--system-malloc'], process=True) == 0
    assert main(['forecast']) == 0 and main(['catalogue'], process=True) == 0
    assert calls == [1, 1]  # called from Python, or a command that trains nothing: untouched
    assert len(ran) == 5


def test_console_script_is_the_program():
    from importlib.metadata import entry_points
    script = entry_points(group='console_scripts', name='pyg-ext')
    assert [ep.value for ep in script] == ['pyg_ext.cli:console_main']
