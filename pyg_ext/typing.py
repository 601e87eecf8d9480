"""Type aliases shared across pyg_ext."""
from typing import Optional, Tuple, Union

from torch import Tensor
from torch_geometric.typing import Adj, OptPairTensor, OptTensor, PairTensor, SparseTensor

#: The state of a recurrent cell: ``h`` for RNN/GRU cells, ``(h, c)`` for LSTM cells.
RNNState = Union[Tensor, Tuple[Tensor, Tensor]]
OptRNNState = Optional[RNNState]

__all__ = [
    'Adj',
    'OptPairTensor',
    'OptTensor',
    'OptRNNState',
    'PairTensor',
    'RNNState',
    'SparseTensor',
]
