r"""GMAN: an encoder-decoder of spatio-temporal attention blocks joined by transform attention.

Legend: B - batch, T_in - history steps, T_out - horizon, N - nodes, E - edges, F_in / F_out -
input / output features, D - channels, C - covariates per step, k - Laplacian eigenvectors.
"""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.typing import OptTensor
from torch_geometric.utils import get_laplacian, to_dense_adj, to_undirected

from pyg_ext.blocks.ffn import FFN
from pyg_ext.nn.temporal.st_attention_block import STAttentionBlock
from pyg_ext.nn.temporal.transform_attention import TransformAttention
from pyg_ext.utils.checks import check_edge_index, check_feature_size

SPATIAL_EMBEDDINGS = ('learned', 'laplacian')


class GMAN(nn.Module):
    r"""The graph multi-attention network from the `"GMAN: A Graph Multi-Attention Network
    for Traffic Prediction" <https://arxiv.org/abs/1911.08415>`_ paper (Zheng et al., AAAI
    2020): an input layer, :obj:`num_blocks` :class:`~pyg_ext.nn.temporal.STAttentionBlock`
    on the history, a :class:`~pyg_ext.nn.temporal.TransformAttention` to the forecast
    steps, :obj:`num_blocks` blocks on the forecast steps and an output layer, every part
    reading the spatio-temporal embedding (STE)

    .. math::
        \mathbf{E}_{t, n} = \mathrm{FFN}_S(\mathbf{e}^S_n) + \mathrm{FFN}_T(\mathbf{e}^T_t),
        \qquad t = 1, \ldots, T_{in} + T_{out}

    The paper's spatial embedding :math:`\mathbf{e}^S_n` is node2vec, trained offline; here
    it is either a learned embedding per node (``spatial_embedding='learned'``, needs
    :obj:`num_nodes`) or the :math:`k` eigenvectors of the symmetric normalised Laplacian
    of the undirected graph with the smallest non-zero eigenvalues (``'laplacian'``, computed
    once per forward with :func:`torch.linalg.eigh`, each vector's sign fixed so that its
    largest entry is positive; no node-specific parameters). The temporal embedding
    :math:`\mathbf{e}^T_t` is the step's covariates when :meth:`forward` gets
    ``covariates`` (e.g. :func:`~pyg_ext.data.covariates.time_covariates`: time of day and
    one-hot day of week, the paper's inputs), else a learned vector per position of the
    :math:`T_{in} + T_{out}` window.

    Args:
        in_channels (int): Input features :math:`F_{in}`.
        out_channels (int): Output features :math:`F_{out}`.
        hidden_channels (int, optional): Channels :math:`D`. (default: :obj:`64`)
        horizon (int, optional): Steps to forecast :math:`T_{out}`. (default: :obj:`12`)
        num_nodes (int, optional): Nodes :math:`N`; required for the learned spatial
            embedding. (default: :obj:`None`)
        input_steps (int, optional): History :math:`T_{in}`. (default: :obj:`12`)
        num_blocks (int, optional): ST-attention blocks :math:`L` in the encoder and in the
            decoder. (default: :obj:`3`)
        heads (int, optional): Attention heads. (default: :obj:`8`)
        spatial_embedding (str, optional): ``'learned'`` or ``'laplacian'``.
            (default: :obj:`'learned'`)
        eigenvectors (int, optional): :math:`k` for ``'laplacian'``. (default: :obj:`16`)
        covariate_channels (int, optional): Covariates :math:`C` per step; :obj:`None` =
            learned per-step embeddings. (default: :obj:`None`)
        causal (bool, optional): Mask future steps in the temporal attentions.
            (default: :obj:`False`)
        dropout (float, optional): Dropout on the attention weights. (default: :obj:`0.0`)

    Shapes:
        - **input:** ``x`` :math:`(B, T_{in}, N, F_{in})`, ``edge_index`` :math:`(2, E)`,
          ``edge_weight`` :math:`(E)` *(optional)*, ``covariates`` :math:`(B, T_{in} +
          T_{out}, C)` *(with covariate_channels)*
        - **output:** :math:`(B, T_{out}, N, F_{out})`
    """
    supports_teacher_forcing = False

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 64,
                 horizon: int = 12, num_nodes: Optional[int] = None, input_steps: int = 12,
                 num_blocks: int = 3, heads: int = 8, spatial_embedding: str = 'learned',
                 eigenvectors: int = 16, covariate_channels: Optional[int] = None,
                 causal: bool = False, dropout: float = 0.0):
        super().__init__()
        if spatial_embedding not in SPATIAL_EMBEDDINGS:
            raise ValueError(f"spatial_embedding={spatial_embedding!r} is not supported; use "
                             f"'learned' (needs num_nodes) or 'laplacian'")
        if spatial_embedding == 'learned' and num_nodes is None:
            raise ValueError("the learned spatial embedding has one vector per node; pass "
                             "num_nodes=N or use spatial_embedding='laplacian'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.horizon = horizon
        self.num_nodes = num_nodes
        self.input_steps = input_steps
        self.num_blocks = num_blocks
        self.spatial_embedding = spatial_embedding
        self.eigenvectors = eigenvectors
        self.covariate_channels = covariate_channels
        D = hidden_channels
        self.input_layer = FFN(in_channels, D, D, act='relu')
        if spatial_embedding == 'learned':
            self.node_embedding = nn.Parameter(torch.empty(num_nodes, D))
            se_channels = D
        else:
            self.register_parameter('node_embedding', None)
            se_channels = eigenvectors
        if covariate_channels is None:
            self.step_embedding = nn.Parameter(torch.empty(input_steps + horizon, D))
            te_channels = D
        else:
            self.register_parameter('step_embedding', None)
            te_channels = covariate_channels
        self.spatial_ffn = FFN(se_channels, D, D, act='relu')
        self.temporal_ffn = FFN(te_channels, D, D, act='relu')
        self.encoder = nn.ModuleList([STAttentionBlock(D, heads, causal, dropout)
                                      for _ in range(num_blocks)])
        self.transform = TransformAttention(D, heads, dropout)
        self.decoder = nn.ModuleList([STAttentionBlock(D, heads, causal, dropout)
                                      for _ in range(num_blocks)])
        self.output_layer = FFN(D, D, out_channels, act='relu')
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets the embeddings (standard normal), every block and the FFNs."""
        for p in (self.node_embedding, self.step_embedding):
            if p is not None:
                nn.init.normal_(p)
        for module in [self.input_layer, self.spatial_ffn, self.temporal_ffn, self.transform,
                       self.output_layer, *self.encoder, *self.decoder]:
            module.reset_parameters()

    def laplacian_eigenvectors(self, edge_index: Tensor, edge_weight: OptTensor,
                               num_nodes: int, dtype: torch.dtype) -> Tensor:
        r"""The :math:`k` eigenvectors :math:`[N, k]` of the symmetric normalised Laplacian
        of the undirected graph after the first (constant-like) one, sign-fixed; zero
        columns pad :math:`k \geq N`."""
        index, weight = to_undirected(edge_index, edge_weight, num_nodes=num_nodes)
        index, weight = get_laplacian(index, weight, 'sym', dtype, num_nodes)
        lap = to_dense_adj(index, edge_attr=weight.to(dtype), max_num_nodes=num_nodes)[0]
        _, vectors = torch.linalg.eigh(lap)  # [N, N], ascending eigenvalues
        vectors = vectors[:, 1:self.eigenvectors + 1]  # [N, <= k]
        rows = vectors.abs().argmax(dim=0)  # [k]
        vectors = vectors * vectors.gather(0, rows[None]).sign()  # largest entry positive
        return nn.functional.pad(vectors, (0, self.eigenvectors - vectors.size(1)))

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None,
                covariates: OptTensor = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"'x' has shape {list(x.shape)}; expected [B, T_in, N, F_in] (add "
                             f"a batch dimension with x.unsqueeze(0))")
        check_feature_size(x, self.in_channels)
        B, T, N, _ = x.shape
        steps = self.input_steps + self.horizon
        if T != self.input_steps:
            raise ValueError(f"'x' has {T} time steps, but the model was built with "
                             f"input_steps={self.input_steps}; build GMAN(..., input_steps={T})")
        if self.spatial_embedding == 'learned':
            if N != self.num_nodes:
                raise ValueError(f"'x' has {N} nodes, but the model learns embeddings for "
                                 f"num_nodes={self.num_nodes}; build it with num_nodes={N}")
            se = self.node_embedding  # [N, D]
        else:
            check_edge_index(edge_index)
            se = self.laplacian_eigenvectors(edge_index, edge_weight, N, x.dtype)  # [N, k]
        if self.covariate_channels is None:
            if covariates is not None:
                raise ValueError("'covariates' were given, but the model was built without "
                                 "them; build it with covariate_channels=C")
            te = self.step_embedding.expand(B, steps, -1)  # [B, T_in + T_out, D]
        else:
            if covariates is None or covariates.shape[:2] != (B, steps):
                shape = None if covariates is None else list(covariates.shape)
                raise ValueError(f"'covariates' is {shape}; the model needs the covariates of "
                                 f"the history and the forecast steps, [B={B}, T_in + T_out="
                                 f"{steps}, C={self.covariate_channels}]")
            te = covariates
        ste = self.spatial_ffn(se) + self.temporal_ffn(te)[:, :, None]  # [B, T_in+T_out, N, D]
        ste_history, ste_future = ste[:, :T], ste[:, T:]  # [B, T_in, N, D], [B, T_out, N, D]
        h = self.input_layer(x)  # [B, T_in, N, D]
        for block in self.encoder:
            h = block(h, ste_history)  # [B, T_in, N, D]
        h = self.transform(h, ste_history, ste_future)  # [B, T_out, N, D]
        for block in self.decoder:
            h = block(h, ste_future)  # [B, T_out, N, D]
        return self.output_layer(h)  # [B, T_out, N, F_out]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'hidden_channels={self.hidden_channels}, horizon={self.horizon}, '
                f'num_blocks={self.num_blocks}, '
                f'spatial_embedding={self.spatial_embedding!r})')
