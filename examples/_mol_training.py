r"""The OGB molecule loading, training and evaluation loop shared by the ``*_molecules.py``
examples in this folder (the scripts import it as ``from _mol_training import ...``; Python
puts the script's folder on ``sys.path``).

:func:`load_molecules` symlinks OGB's on-disk folder into a temporary writable root (ogb
writes a ``processed/`` folder next to ``raw/``), loads it with pyg_ext's safe ogb loader and
returns the dataset (held in memory) and a loader for each part of the official scaffold
split. :func:`fit` trains with BCE with logits on the labelled tasks (MSE for regression),
scores ``valid`` and ``test`` with ogb's ``Evaluator`` after every epoch, prints one line
per epoch and reports the test score at the epoch with the best validation score.

A model maps a PyG batch to the task predictions ``[B, T]``, or to ``([B, T], aux_loss)``;
an auxiliary loss (e.g. a mixture of experts' load-balancing loss) is added to the task
loss and printed beside it.

Dimensions: B graphs in a batch, T tasks.
"""
import os
import os.path as osp
import tempfile
from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.loader import DataLoader

from pyg_ext.ogb.datasets import load_dataset, load_split

#: The molecule datasets that ship in OGB's layout in ``shared/data/ogb``.
MOLECULES = ('ogbg-molbace', 'ogbg-molbbbp', 'ogbg-molesol', 'ogbg-molfreesolv')
#: ``shared/data/ogb`` beside the repository.
DATA_DIR = osp.join(osp.dirname(__file__), '..', '..', 'shared', 'data', 'ogb')


def load_molecules(name: str, data_dir: str, batch_size: int,
                   transform: Optional[Callable[[Data], Data]] = None
                   ) -> Tuple[InMemoryDataset, Dict[str, DataLoader]]:
    r"""The dataset ``name`` (e.g. ``'ogbg-molbace'``) from ``data_dir`` (OGB's on-disk
    layout: ``data_dir/ogbg_molbace/raw``) and ``{'train', 'valid', 'test'}`` loaders over
    its official split (the training one shuffled). :obj:`transform` is applied once per
    molecule before batching (e.g. positional encodings)."""
    folder = name.replace('-', '_')
    source = osp.join(data_dir, folder)
    if not osp.isdir(source):
        raise ValueError(f"'{source}' does not exist; pass --data a folder that holds "
                         f"'{folder}/' in OGB's layout (e.g. ../shared/data/ogb)")
    with tempfile.TemporaryDirectory(prefix='pyg_ext_ogb_') as root:
        os.makedirs(osp.join(root, folder))
        for entry in os.listdir(source):  # ogb only reads these; it writes processed/
            os.symlink(osp.abspath(osp.join(source, entry)), osp.join(root, folder, entry))
        dataset = load_dataset(name, root=root)
        split = load_split(dataset)
    graphs = [data if transform is None else transform(data) for data in dataset]
    loaders = {part: DataLoader([graphs[i] for i in split[part].tolist()], batch_size,
                                shuffle=part == 'train') for part in ('train', 'valid', 'test')}
    return dataset, loaders


def _unpack(out: Any) -> Tuple[Tensor, Optional[Tensor]]:
    return out if isinstance(out, tuple) else (out, None)  # [B, T], [] or None


def task_loss(pred: Tensor, y: Tensor, regression: bool) -> Tensor:
    r"""MSE (regression) or BCE with logits over the labelled entries of ``y`` ``[B, T]``."""
    y = y.to(pred.dtype)
    labelled = ~torch.isnan(y)  # OGB marks missing labels with NaN
    if regression:
        return F.mse_loss(pred[labelled], y[labelled])
    return F.binary_cross_entropy_with_logits(pred[labelled], y[labelled])


def train_epoch(model: torch.nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                regression: bool) -> Tuple[float, Optional[float]]:
    r"""One pass over ``loader``; the mean task loss per graph and the mean auxiliary loss
    (:obj:`None` when the model returns none)."""
    device = next(model.parameters()).device
    model.train()
    total = total_aux = torch.zeros((), dtype=torch.float64, device=device)
    count, has_aux = 0, False
    for data in loader:
        data = data.to(device)
        optimizer.zero_grad()
        pred, aux = _unpack(model(data))  # [B, T], []
        loss = task_loss(pred, data.y, regression)
        (loss if aux is None else loss + aux).backward()
        optimizer.step()
        total = total + loss.detach().double() * data.num_graphs  # no host sync per step
        if aux is not None:
            total_aux, has_aux = total_aux + aux.detach().double() * data.num_graphs, True
        count += data.num_graphs
    return float(total) / count, float(total_aux) / count if has_aux else None


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, evaluator: Any) -> float:
    r"""``evaluator``'s metric of ``model``'s predictions over ``loader``."""
    device = next(model.parameters()).device
    model.eval()
    preds, ys = [], []
    for data in loader:
        preds.append(_unpack(model(data.to(device)))[0].cpu())  # [B, T]
        ys.append(data.y.cpu())  # [B, T]
    result = evaluator.eval({'y_true': torch.cat(ys), 'y_pred': torch.cat(preds)})
    return result[evaluator.eval_metric]


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loaders: Dict[str, DataLoader],
        evaluator: Any, regression: bool, epochs: int) -> Dict[str, float]:
    r"""Train for ``epochs`` epochs on ``loaders['train']``, score ``'valid'`` and ``'test'``
    after each, print a line per epoch and the test score at the best validation epoch
    (lowest for regression, highest otherwise); returns ``{'epoch', 'valid', 'test'}``."""
    metric = evaluator.eval_metric
    better = (lambda a, b: a < b) if regression else (lambda a, b: a > b)
    best = None
    for epoch in range(1, epochs + 1):
        loss, aux = train_epoch(model, loaders['train'], optimizer, regression)
        valid = evaluate(model, loaders['valid'], evaluator)
        test = evaluate(model, loaders['test'], evaluator)
        if best is None or better(valid, best['valid']):
            best = {'epoch': epoch, 'valid': valid, 'test': test}
        aux_text = '' if aux is None else f'  aux {aux:.4f}'
        print(f'epoch {epoch:3d}  loss {loss:.4f}{aux_text}  valid {metric} {valid:.4f}  '
              f'test {metric} {test:.4f}')
    print(f"best valid {metric} {best['valid']:.4f} at epoch {best['epoch']}: "
          f"test {metric} {best['test']:.4f}")
    return best
