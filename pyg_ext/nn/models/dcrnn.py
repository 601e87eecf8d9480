r"""DCRNN: the diffusion convolutional recurrent neural network (encoder-decoder).

Dimensions: B - batch, T - input steps, N - nodes, E - edges, F - features (F_in, F_out),
H - hidden size, K - diffusion steps.
"""
from typing import Optional, Sequence

from torch import Tensor, nn
from torch_geometric import is_compiling
from torch_geometric.typing import OptTensor

from pyg_ext.blocks.recurrent import Recurrent
from pyg_ext.blocks.seq2seq import Seq2Seq
from pyg_ext.nn.conv.diff_conv import DiffConv
from pyg_ext.nn.models.graph_rnn_model import check_model_input, sparse_adjacency_t
from pyg_ext.nn.recurrent.graph_gru_cell import GraphGRUCell
from pyg_ext.utils.checks import check_index_range


class DCRNN(nn.Module):
    r"""The diffusion convolutional recurrent neural network from the `"Diffusion
    Convolutional Recurrent Neural Network: Data-Driven Traffic Forecasting"
    <https://arxiv.org/abs/1707.01926>`_ paper (Li et al., ICLR 2018): a sequence-to-sequence
    model (:class:`~pyg_ext.blocks.Seq2Seq`) whose encoder and decoder are stacks of
    diffusion-convolutional GRUs (:meth:`GraphGRUCell.dcgru
    <pyg_ext.nn.recurrent.GraphGRUCell.dcgru>`), with the bidirectional diffusion
    convolution (:class:`~pyg_ext.nn.conv.DiffConv`)

    .. math::
        \mathbf{\Theta} \star_{\mathcal{G}} \mathbf{X} = \sum_{k=0}^{K} \left(
        (\mathbf{D}_O^{-1}\mathbf{W})^k \mathbf{X} \mathbf{\Theta}_{k,1} +
        (\mathbf{D}_I^{-1}\mathbf{W}^{\top})^k \mathbf{X} \mathbf{\Theta}_{k,2} \right)

    as every gate map. The encoder reads the window; its final states start the decoder,
    which runs :obj:`horizon` steps from a zero "GO" input, each step's prediction
    (a linear map of the last layer's state, per node) fed back as the next input.
    The decoder reads at step :math:`t` the value of step :math:`t - 1`, but at the first
    step the paper's zero input (on standardised data: the mean) stands where the last
    observation would; :obj:`go_input='last'` feeds that observation instead, the
    :obj:`target_channels` of the last input step (not in the paper). In
    training with :obj:`targets`, each fed-back input is the true target with the
    probability :math:`k / (k + \exp(i / k))` of scheduled sampling (:math:`i` =
    :obj:`batches_seen`, :math:`k` = :obj:`cl_decay_steps`), one coin per step for the
    whole batch, as in the paper; with :obj:`use_curriculum=False` the targets are always
    fed (teacher forcing). :attr:`supports_teacher_forcing` tells a trainer to pass
    ``targets=`` and ``batches_seen=``.

    The diffusion uses the paper's powers :math:`\mathbf{P}^k`; the authors' code uses the
    recursion :math:`\mathbf{x}_k = 2\mathbf{P}\mathbf{x}_{k-1} - \mathbf{x}_{k-2}`, which
    spans the same polynomials (a reparametrisation of :math:`\mathbf{\Theta}`). Their
    reset and update gates start with a bias of 1 (``bias_start=1.0``), so that at first
    :math:`\mathbf{z} \approx \sigma(1)` keeps most of the state; here the biases start at
    :obj:`gate_bias`, 0 by default. The transition matrices are computed from the graph on
    the first forward and cached (``DiffConv(cached=True)``): **the model then serves that
    one graph** (a graph with another node or edge count raises an error; one with the same
    counts would silently reuse the cache). For changing graphs build it with
    :obj:`cached=False`, which computes the transitions once per forward
    (:meth:`DiffConv.transitions <pyg_ext.nn.conv.DiffConv.transitions>`) and shares them
    between all gates and steps; gradients then also flow to :obj:`edge_weight`. Either
    way the transitions are CSR matrices, and every diffusion step is one sparse matmul
    over the whole batch whose backward pass uses their prebuilt transposes.

    Args:
        in_channels (int): Input features :math:`F_{in}` (e.g. 2: speed and time of day).
        out_channels (int): Output features :math:`F_{out}` per predicted step.
        hidden_channels (int): Hidden size :math:`H` (the paper's ``rnn_units``, 64).
        horizon (int): Number of predicted steps (12 in the paper).
        num_nodes (int, optional): If given, inputs must have this many nodes (the model
            has no node-specific parameters). (default: :obj:`None`)
        K (int, optional): Diffusion steps per direction (``max_diffusion_step``).
            (default: :obj:`2`)
        num_layers (int, optional): Layers of the encoder and of the decoder.
            (default: :obj:`2`)
        cl_decay_steps (float, optional): The scheduled sampling constant :math:`k`.
            (default: :obj:`2000`)
        use_curriculum (bool, optional): Scheduled sampling (:obj:`True`) or plain
            teacher forcing when targets are given in training. (default: :obj:`True`)
        dropout (float, optional): Dropout between recurrent layers. (default: :obj:`0.`)
        cached (bool, optional): Cache the graph's transition matrices (see above).
            (default: :obj:`True`)
        gate_bias (float, optional): The starting bias of every reset and update gate
            (the authors' code: 1). (default: :obj:`0.`)
        go_input (str, optional): The first decoder input: :obj:`'zeros'` (the paper's
            "GO" symbol) or :obj:`'last'` (the last input step's :obj:`target_channels`,
            on the scale of the inputs, which must be that of the targets).
            (default: :obj:`'zeros'`)
        target_channels (sequence of int, optional): The :math:`F_{out}` input channels
            holding the forecast features, read by :obj:`go_input='last'`.
            (default: :obj:`None`, the first :math:`F_{out}` channels)

    Shapes:
        - **input:** x :math:`(B, T, N, F_{in})`, edge_index :math:`(2, E)`, edge_weight
          :math:`(E)` *(optional)*, targets :math:`(B, horizon, N, F_{out})` *(optional)*,
          batches_seen: :obj:`int` *(needed in training with targets and curriculum)*
        - **output:** :math:`(B, horizon, N, F_{out})`
    """
    #: :meth:`forward` takes ``targets`` and ``batches_seen`` (scheduled sampling).
    supports_teacher_forcing = True

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int,
                 horizon: int, num_nodes: Optional[int] = None, K: int = 2,
                 num_layers: int = 2, cl_decay_steps: float = 2000,
                 use_curriculum: bool = True, dropout: float = 0.0, cached: bool = True,
                 gate_bias: float = 0.0, go_input: str = 'zeros',
                 target_channels: Optional[Sequence[int]] = None):
        super().__init__()
        if go_input not in ('zeros', 'last'):
            raise ValueError(f"go_input={go_input!r}; use 'zeros' (the paper's GO symbol) or "
                             f"'last' (the last observed values)")
        channels = list(range(out_channels) if target_channels is None else target_channels)
        if len(channels) != out_channels or not all(0 <= c < in_channels for c in channels):
            raise ValueError(f'target_channels={channels} must name {out_channels} input '
                             f'channel(s) (out_channels) among 0..{in_channels - 1}: those of '
                             f'the forecast features')
        self.go_input = go_input
        self.target_channels = channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_nodes = num_nodes
        self.K = K
        self.num_layers = num_layers
        self.cached = cached
        self.gate_bias = gate_bias
        H = hidden_channels

        def stack(first: int) -> Recurrent:
            return Recurrent([GraphGRUCell.dcgru(first if i == 0 else H, H, K, cached=cached,
                                                 gate_bias=gate_bias)
                              for i in range(num_layers)], dropout=dropout)

        self.seq2seq = Seq2Seq(stack(in_channels), stack(out_channels),
                               nn.Linear(H, out_channels), horizon,
                               cl_decay_steps=cl_decay_steps, use_curriculum=use_curriculum)
        self.reset_parameters()

    @property
    def encoder(self) -> Recurrent:
        return self.seq2seq.encoder

    @property
    def decoder(self) -> Recurrent:
        return self.seq2seq.decoder

    def reset_parameters(self):
        r"""Resets the encoder, the decoder and the readout (and clears the cached
        transition matrices); the gate biases start at :obj:`gate_bias`."""
        self.seq2seq.reset_parameters()  # each cell starts its gate biases at gate_bias

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None,
                targets: Optional[Tensor] = None,
                batches_seen: Optional[int] = None) -> Tensor:
        check_model_input(x, edge_index, edge_weight, self.in_channels, self.num_nodes)
        if is_compiling():
            return self._forward(x, edge_index, edge_weight, targets, batches_seen)
        try:
            return self._forward(x, edge_index, edge_weight, targets, batches_seen)
        except (IndexError, RuntimeError) as e:
            check_index_range(edge_index, x.size(2), error=e)
            raise

    def _forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor,
                 targets: Optional[Tensor], batches_seen: Optional[int]) -> Tensor:
        # One CSR adjacency per forward, so DiffConv propagates with sparse matmuls. Cached
        # gates normalise it on their first call only; otherwise it is normalised here,
        # once for all gates and steps (never per gate call).
        N = x.size(2)
        graph = sparse_adjacency_t(edge_index, edge_weight, N, x.dtype)  # [N, N] CSR
        if not self.cached:
            graph = DiffConv.transitions(graph, num_nodes=N, dtype=x.dtype)
        go = None
        if self.go_input == 'last':
            go = x[:, -1, :, self.target_channels]  # [B, N, F_out]
        pred, _ = self.seq2seq(x, graph, targets=targets, batches_seen=batches_seen, go=go)
        return pred  # [B, horizon, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_layers={self.num_layers}, K={self.K}'
                + (", go_input='last'" if self.go_input == 'last' else '') + ')')
