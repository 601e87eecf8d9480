"""pyg_ext declares torch-scatter but must import and work without it."""
import subprocess
import sys
import textwrap

CODE = textwrap.dedent('''
    import sys
    sys.modules['torch_scatter'] = None  # any import of torch_scatter now fails
    import torch
    import torch_geometric.typing
    assert not torch_geometric.typing.WITH_TORCH_SCATTER
    import pyg_ext, pyg_ext.blocks, pyg_ext.nn, pyg_ext.data
    from pyg_ext.blocks import GRUCell, MultiHeadAttention
    out = MultiHeadAttention(8, 2)(torch.randn(2, 5, 8))
    assert out.shape == (2, 5, 8)
    print('ok')
''')


def test_import_and_run_without_torch_scatter():
    res = subprocess.run([sys.executable, '-c', CODE], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith('ok')
