"""Small datasets in OGB's on-disk layout, written with ``ogb.io.DatasetSaver``.

Each fixture returns the ``meta_dict`` that DatasetSaver wrote (its ``dir_path`` points at the
dataset folder), so ogb's own dataset classes load them as they load official datasets. They
take real OGB names so that ogb's ``Evaluator`` knows their metric.
"""
import contextlib
import io
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from ogb.io import DatasetSaver
from ogb.utils.features import get_atom_feature_dims, get_bond_feature_dims
from torch_geometric.data import Batch, Data


def _save(tmp, name, graphs, split, task_type, metric, labels=None, num_classes=None):
    root = str(tmp / 'submission')
    with contextlib.redirect_stdout(io.StringIO()):  # DatasetSaver prints a lot
        saver = DatasetSaver(dataset_name=name, is_hetero=False, version=1, root=root)
        saver.save_graph_list(graphs)
        if labels is not None:
            saver.save_target_labels(labels)
        saver.save_task_info(task_type, metric, num_classes=num_classes)
        saver.save_split(split, split_name='random')
        mapping = tmp / 'mapping'
        mapping.mkdir(exist_ok=True)
        (mapping / 'README.md').write_text('fixture\n')
        saver.copy_mapping_dir(str(mapping))
        meta_dict = saver.get_meta_dict()
    return meta_dict


def _split(n, rng):
    perm = rng.permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return {'train': perm[:a], 'valid': perm[a:b], 'test': perm[b:]}


def _molecules(rng, num_graphs):
    atom_dims, bond_dims = get_atom_feature_dims(), get_bond_feature_dims()
    graphs = []
    for _ in range(num_graphs):
        n = int(rng.integers(3, 9))
        src = np.arange(n - 1)
        ring = rng.random() < 0.5
        if ring:
            src = np.arange(n)
        dst = (src + 1) % n
        edge_index = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
        bonds = np.stack([rng.integers(0, d, len(src)) for d in bond_dims], axis=1)
        graphs.append({
            'num_nodes': n,
            'edge_index': edge_index.astype(np.int64),
            'node_feat': np.stack([rng.integers(0, min(d, 4), n) for d in atom_dims],
                                  axis=1).astype(np.int64),
            'edge_feat': np.concatenate([bonds, bonds]).astype(np.int64),
        })
    return graphs


@pytest.fixture(scope='session')
def graph_fixture(tmp_path_factory):
    """'ogbg-molhiv'-style: 40 molecules, one binary task (ROC-AUC)."""
    rng = np.random.default_rng(0)
    graphs = _molecules(rng, 40)
    labels = np.array([[float(g['num_nodes'] % 2)] for g in graphs])
    return _save(tmp_path_factory.mktemp('graph'), 'ogbg-molhiv', graphs, _split(40, rng),
                 'binary classification', 'rocauc', labels, num_classes=2)


@pytest.fixture(scope='session')
def regression_fixture(tmp_path_factory):
    """'ogbg-molesol'-style: 30 molecules, one regression task (RMSE)."""
    rng = np.random.default_rng(1)
    graphs = _molecules(rng, 30)
    labels = np.array([[float(g['num_nodes']) / 3.0] for g in graphs])
    return _save(tmp_path_factory.mktemp('regression'), 'ogbg-molesol', graphs,
                 _split(30, rng), 'regression', 'rmse', labels)


def _random_graph(rng, n, m):
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = src != dst
    pairs = np.unique(np.sort(np.stack([src[keep], dst[keep]], 1), axis=1), axis=0)
    return pairs  # [P, 2], undirected, no duplicates


@pytest.fixture(scope='session')
def node_fixture(tmp_path_factory):
    """'ogbn-arxiv'-style: 120 nodes, 8 features, 4 classes (accuracy)."""
    rng = np.random.default_rng(2)
    n = 120
    pairs = _random_graph(rng, n, 500)
    labels = rng.integers(0, 4, (n, 1))
    feat = (rng.standard_normal((n, 8)) + labels).astype(np.float32)
    graph = {'num_nodes': n, 'edge_index': pairs.T.astype(np.int64), 'node_feat': feat}
    return _save(tmp_path_factory.mktemp('node'), 'ogbn-arxiv', [graph], _split(n, rng),
                 'multiclass classification', 'acc', labels.astype(np.int64), num_classes=4)


def _link_fixture(tmp, name, metric, rng, with_features):
    n = 60
    pairs = _random_graph(rng, n, 400)
    perm = rng.permutation(len(pairs))
    a, b = int(0.7 * len(pairs)), int(0.85 * len(pairs))
    train, valid, test = pairs[perm[:a]], pairs[perm[a:b]], pairs[perm[b:]]
    graph = {'num_nodes': n, 'edge_index': np.concatenate([train.T, train[:, ::-1].T], 1)}
    if with_features:
        graph['node_feat'] = rng.standard_normal((n, 6)).astype(np.float32)
    split = {'train': {'edge': train},
             'valid': {'edge': valid, 'edge_neg': rng.integers(0, n, (40, 2))},
             'test': {'edge': test, 'edge_neg': rng.integers(0, n, (40, 2))}}
    return _save(tmp, name, [graph], split, 'link prediction', metric)


@pytest.fixture(scope='session')
def link_fixture(tmp_path_factory):
    """'ogbl-ddi'-style: 60 featureless nodes, official-style negatives (Hits@20)."""
    return _link_fixture(tmp_path_factory.mktemp('link'), 'ogbl-ddi', 'hits@20',
                         np.random.default_rng(3), with_features=False)


@pytest.fixture(scope='session')
def collab_fixture(tmp_path_factory):
    """'ogbl-collab'-style: 60 nodes with 6 features (Hits@50)."""
    return _link_fixture(tmp_path_factory.mktemp('collab'), 'ogbl-collab', 'hits@50',
                         np.random.default_rng(4), with_features=True)


@pytest.fixture
def fresh(tmp_path):
    """Copy a fixture's dataset folder so that a test can write ``processed/`` afresh."""
    def copy(meta_dict):
        target = tmp_path / osp.basename(meta_dict['dir_path'])
        shutil.copytree(meta_dict['dir_path'], target)
        return dict(meta_dict, dir_path=str(target))
    return copy


def _molecule_batch(emb_dim=8):
    """Three small molecules (a chain, a ring, a branched one) with every bond feature."""
    graphs = []
    for n, ring in ((3, False), (5, True), (4, False)):
        src = torch.arange(n if ring else n - 1)
        dst = (src + 1) % n
        edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
        bonds = torch.stack([torch.randint(0, d, (src.numel(),))
                             for d in get_bond_feature_dims()], 1)
        graphs.append(Data(x=torch.randn(n, emb_dim), edge_index=edge_index,
                           edge_attr=torch.cat([bonds, bonds])))
    return Batch.from_data_list(graphs)


@pytest.fixture
def molecules():
    """``molecules(emb_dim=8)``: a Batch of three small molecules with OGB bond features."""
    return _molecule_batch


@pytest.fixture
def matches_pyg_conv():
    """check(ours, ref, x, edge_index, layout): a cached conv of pyg_ext.ogb against the PyG
    conv it reimplements, with ref's weights loaded (the same state dict keys): the outputs,
    the layout of the cached matrix ('csr' or 'dense'), and the gradients of x and of every
    parameter for the same output gradient."""
    def check(ours, ref, x, edge_index, layout):
        ours.load_state_dict(ref.state_dict())
        x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
        out, expected = ours(x1, edge_index), ref(x2, edge_index)
        assert torch.allclose(out, expected, atol=1e-5)
        assert ours._cache[0].layout == (torch.sparse_csr if layout == 'csr' else torch.strided)
        grad = torch.randn_like(out)
        out.backward(grad)
        expected.backward(grad)
        assert torch.allclose(x1.grad, x2.grad, atol=1e-5)
        for name, param in ours.named_parameters():
            atol = 1e-5 if name.endswith('bias') else 1e-4
            assert torch.allclose(param.grad, ref.get_parameter(name).grad, atol=atol), name
    return check
