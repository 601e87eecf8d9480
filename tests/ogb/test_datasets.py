import os
import shutil
import stat
import urllib.error

import pytest
import torch

from pyg_ext.ogb import datasets
from pyg_ext.ogb.datasets import load_dataset, load_split, make_evaluator, master_info, task_of


def test_loads_each_task_type(graph_fixture, node_fixture, link_fixture):
    graph = load_dataset('ogbg-molhiv', meta_dict=graph_fixture)
    assert graph.num_tasks == 1 and graph[0].edge_attr.size(1) == 3
    node = load_dataset('ogbn-arxiv', meta_dict=node_fixture)
    assert node[0].num_nodes == 120 and node[0].y.shape == (120, 1)
    link = load_dataset('ogbl-ddi', meta_dict=link_fixture)
    split = load_split(link)
    assert isinstance(split['valid']['edge_neg'], torch.Tensor)
    assert split['train']['edge'].shape[1] == 2


def test_official_dataset_from_shared_data(shared_data, tmp_path):
    source = shared_data / 'ogb' / 'ogbl_ddi'
    if not source.is_dir():
        pytest.skip(f'{source} not found')
    target = tmp_path / 'ogbl_ddi'
    target.mkdir()
    for item in source.iterdir():  # symlink the files: shared/ is read-only
        (target / item.name).symlink_to(item)
    dataset = load_dataset('ogbl-ddi', root=str(tmp_path))
    split = load_split(dataset)
    assert dataset[0].num_nodes == 4267
    assert split['train']['edge'].shape == (1067911, 2)
    assert split['test']['edge_neg'].dtype == torch.long


def test_task_of_and_master():
    assert task_of('ogbl-ddi') == 'linkproppred'
    assert master_info('ogbg-molhiv')['eval metric'] == 'rocauc'
    with pytest.raises(ValueError, match="expected one starting with 'ogbg-', 'ogbn-'"):
        task_of('cora')
    with pytest.raises(ValueError, match='pass the meta_dict that ogb.io.DatasetSaver'):
        master_info('ogbg-nope')


def test_missing_dataset_offline_names_the_fix(tmp_path, monkeypatch):
    import ogb.graphproppred.dataset_pyg as module

    def offline(url):
        raise urllib.error.URLError('no network')
    monkeypatch.setattr(module, 'decide_download', offline)
    with pytest.raises(RuntimeError, match=r'could not be downloaded .* download https?://'
                                           r'snap.stanford.edu/ogb/data/graphproppred/csv_mol_'
                                           r'download/bace.zip, unzip it'):
        load_dataset('ogbg-molbace', root=str(tmp_path))
    assert not (tmp_path / 'ogbg_molbace').exists()  # no half folder left to prompt about


def test_folder_without_release_file(tmp_path):
    (tmp_path / 'ogbg_molbace' / 'raw').mkdir(parents=True)
    with pytest.raises(ValueError, match='has no RELEASE_v1.txt'):
        load_dataset('ogbg-molbace', root=str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason='root ignores file permissions')
def test_read_only_folder(tmp_path, graph_fixture):
    target = tmp_path / 'ogbg_molbace'
    shutil.copytree(graph_fixture['dir_path'], target, ignore=shutil.ignore_patterns('proc*'))
    (target / 'RELEASE_v1.txt').touch()
    target.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ValueError, match='is read-only'):
            load_dataset('ogbg-molbace', root=str(tmp_path))
    finally:
        target.chmod(stat.S_IRWXU)


def test_read_only_check_message(tmp_path, monkeypatch):
    folder = tmp_path / 'ogbg_molbace'
    folder.mkdir()
    (folder / 'RELEASE_v1.txt').touch()
    monkeypatch.setattr(datasets.os, 'access', lambda path, mode: False)
    with pytest.raises(ValueError, match='copy \\(or symlink the files of\\)'):
        datasets._check_folder('ogbg-molbace', str(folder), 1)


def test_evaluator_for_custom_name():
    evaluator = make_evaluator('ogbl-mine', {'eval metric': 'hits@3'})
    pos, neg = torch.tensor([0.9, 0.1]), torch.tensor([0.5, 0.4, 0.3, 0.2])
    assert evaluator.eval({'y_pred_pos': pos, 'y_pred_neg': neg})['hits@3'] == 0.5
