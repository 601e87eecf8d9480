import subprocess
import sys

import pytest

from pyg_ext.malloc import keep_freed_memory

# Page faults of allocating and filling a 64 MB tensor again and again, in a fresh process
# (mallopt changes the whole process): per allocation, as a fraction of its 4 KB pages.
SCRIPT = '''
import resource, sys, torch
from pyg_ext.malloc import keep_freed_memory
if sys.argv[1] == 'keep':
    assert keep_freed_memory()
for _ in range(15):  # the first few (about 10 here) are faulted in while the heap settles
    torch.ones(16 * 2**20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.ones(16 * 2**20)  # 64 MB, freed at once
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(faults / 10 / (64 * 2**20 / 4096))
'''


def _faults_per_page(mode):
    out = subprocess.run([sys.executable, '-c', SCRIPT, mode], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')
def test_large_tensors_reuse_freed_memory_instead_of_new_mappings():
    import platform
    if platform.libc_ver()[0] != 'glibc':
        assert not keep_freed_memory()  # nothing to set: reported, not raised
        return
    # glibc's default: each 64 MB tensor is a fresh mapping, faulted in page by page
    assert _faults_per_page('system') > 0.9
    # with freed memory kept, later tensors reuse the same pages (measured: 0)
    assert _faults_per_page('keep') < 0.35
