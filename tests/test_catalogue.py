import importlib

import pytest

from pyg_ext.catalogue import CATALOGUE, format_catalogue


@pytest.mark.parametrize('entry', CATALOGUE, ids=[e.name for e in CATALOGUE])
def test_entry_imports(entry):
    module, _, name = entry.path.rpartition('.')
    obj = getattr(importlib.import_module(module), name)
    assert obj.__name__ == entry.name
    assert obj.__doc__, f'{entry.path} has no docstring'


def test_names_unique():
    names = [e.name for e in CATALOGUE]
    assert len(names) == len(set(names))


def test_plain_table_aligned():
    lines = format_catalogue().splitlines()
    assert len(lines) == len(CATALOGUE) + 2
    assert lines[0].startswith('module')
