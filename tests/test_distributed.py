import pytest
import torch
import torch.distributed as dist

from pyg_ext import distributed

needs_gloo = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason='needs gloo')


@pytest.fixture
def single_process_env(monkeypatch):
    for name in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'):
        monkeypatch.delenv(name, raising=False)
    assert not dist.is_initialized()


@pytest.fixture
def gloo_group(tmp_path):
    r"""A real one-process Gloo group, started by the test (not by :func:`setup`)."""
    dist.init_process_group('gloo', init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_single_process_is_a_no_op(single_process_env):
    ctx = distributed.setup('cpu')
    assert ctx == distributed.Context(0, 1, torch.device('cpu'), owns_group=False)
    assert ctx.is_main and not dist.is_initialized() and not distributed.active()
    assert distributed.rank_and_world_size() == (0, 1)
    x = torch.tensor([1.0, 2.0])
    assert distributed.all_reduce_sum_(x) is x and x.tolist() == [1.0, 2.0]
    distributed.barrier()
    distributed.teardown(ctx)
    assert not dist.is_initialized()


def test_auto_device_and_missing_gpu(single_process_env):
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert distributed.pick_device('auto').type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='no GPU is visible'):
            distributed.setup('cuda')


def test_is_main_process_without_a_group_reads_torchrun_rank(single_process_env, monkeypatch):
    assert distributed.is_main_process()
    monkeypatch.setenv('RANK', '1')
    assert not distributed.is_main_process()
    monkeypatch.setenv('RANK', '0')
    assert distributed.is_main_process()


@needs_gloo
def test_a_group_started_by_the_caller_is_joined_and_left_running(
        single_process_env, gloo_group, monkeypatch):
    # As under torchrun inside a program that started its own group: setup must not start a
    # second one (torch raises on that), and teardown must not end the caller's.
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '0')
    ctx = distributed.setup('cpu')
    assert not ctx.owns_group and ctx.world_size == 2
    assert distributed.is_main_process()  # read from the group
    distributed.teardown(ctx)
    assert dist.is_initialized()


@needs_gloo
def test_teardown_ends_a_group_it_owns(single_process_env, gloo_group):
    distributed.teardown(distributed.Context(0, 1, torch.device('cpu'), owns_group=True))
    assert not dist.is_initialized()
