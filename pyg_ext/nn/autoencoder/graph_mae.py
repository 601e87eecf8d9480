"""GraphMAE: masked feature reconstruction with injected encoder and decoder GNNs.

Dimensions: N - nodes, E - edges, F - input features, H - hidden (encoder output) features.
"""
from typing import Any, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, Parameter
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import reset, zeros

from pyg_ext.typing import OptTensor
from pyg_ext.utils.checks import check_feature_size

REMASKS = ('zero', 'token')


def sce_loss(x: Tensor, x_hat: Tensor, gamma: float = 2.0, mask: OptTensor = None) -> Tensor:
    r"""The scaled cosine error of GraphMAE,
    :math:`\frac{1}{|\widetilde{\mathcal{V}}|} \sum_{i \in \widetilde{\mathcal{V}}}
    (1 - \cos(\mathbf{x}_i, \hat{\mathbf{x}}_i))^{\gamma}`, averaged over the nodes where
    the boolean :obj:`mask` of shape :math:`(N)` is :obj:`True` (all nodes if
    :obj:`None`). Computed without indexing by the mask, so it needs no host sync."""
    cos = F.cosine_similarity(x, x_hat, dim=-1)  # [N]
    err = (1.0 - cos).clamp(min=0.0).pow(gamma)  # [N]
    if mask is None:
        return err.mean()
    mask = mask.to(err.dtype)
    return (err * mask).sum() / mask.sum().clamp(min=1.0)


class GraphMAE(Module):
    r"""The masked graph autoencoder from the `"GraphMAE: Self-Supervised Masked Graph
    Autoencoders" <https://arxiv.org/abs/2205.10803>`_ paper (Hou et al., KDD 2022).

    A random set :math:`\widetilde{\mathcal{V}}` of :math:`\lfloor pN \rfloor` nodes has its
    features replaced by a learnable :obj:`[MASK]` token :math:`\mathbf{x}_{[M]}`, the
    injected encoder :math:`f_E` embeds the corrupted graph, a linear map
    :math:`\mathbf{W}_{ED}` hands the embedding to the decoder, the masked nodes'
    embeddings are masked again (with zeros, the paper's :obj:`[DMASK]`, or a second
    learnable token), and the injected decoder :math:`f_D` reconstructs the features:

    .. math::
        \widetilde{\mathbf{x}}_i &= \begin{cases} \mathbf{x}_{[M]} & i \in
        \widetilde{\mathcal{V}} \\ \mathbf{x}_i & \text{otherwise} \end{cases}, \qquad
        \mathbf{H} = f_E(\mathbf{A}, \widetilde{\mathbf{X}}) \mathbf{W}_{ED}, \qquad
        \widetilde{\mathbf{h}}_i = \begin{cases} \mathbf{h}_{[DM]} & i \in
        \widetilde{\mathcal{V}} \\ \mathbf{h}_i & \text{otherwise} \end{cases}

        \mathbf{Z} &= f_D(\mathbf{A}, \widetilde{\mathbf{H}}), \qquad
        \mathcal{L}_{\mathrm{SCE}} = \frac{1}{|\widetilde{\mathcal{V}}|}
        \sum_{i \in \widetilde{\mathcal{V}}} \left(1 - \frac{\mathbf{x}_i^{\top}
        \mathbf{z}_i}{\|\mathbf{x}_i\| \, \|\mathbf{z}_i\|}\right)^{\gamma}

    With :obj:`replace_rate > 0`, that fraction of the masked nodes gets the features of
    random nodes instead of the token (the paper's random substitution); they stay in the
    loss. After pre-training, :meth:`embed` gives the encoder's output on the clean graph.

    Args:
        encoder (torch.nn.Module): The encoder GNN, called as
            :obj:`encoder(x, edge_index, *args, **kwargs)`, mapping :math:`F \to H`.
        decoder (torch.nn.Module): The decoder GNN, called as
            :obj:`decoder(h, edge_index, *args, **kwargs)`, mapping :math:`H \to F`
            (the paper uses one GAT or GIN layer).
        in_channels (int): Size of each input node feature, :math:`F`.
        hidden_channels (int): Size of the encoder's output, :math:`H`.
        mask_rate (float, optional): Fraction :math:`p` of nodes masked per call.
            (default: :obj:`0.5`)
        gamma (float, optional): The scaling exponent :math:`\gamma \geq 1` of the
            scaled cosine error. (default: :obj:`2.0`)
        replace_rate (float, optional): Fraction of the masked nodes given random nodes'
            features instead of the :obj:`[MASK]` token. (default: :obj:`0.0`)
        remask (str, optional): What replaces the masked nodes' embeddings before the
            decoder: :obj:`'zero'` (the paper's :obj:`[DMASK]`) or :obj:`'token'` (a
            learnable vector, initialised to zero). (default: :obj:`'zero'`)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`
        - **forward output:** the scalar loss :math:`()`
        - **embed output:** node embeddings :math:`(N, H)`
    """
    def __init__(self, encoder: Module, decoder: Module, in_channels: int,
                 hidden_channels: int, mask_rate: float = 0.5, gamma: float = 2.0,
                 replace_rate: float = 0.0, remask: str = 'zero'):
        super().__init__()
        if not 0.0 < mask_rate < 1.0:
            raise ValueError(f"'mask_rate' is {mask_rate}; choose a fraction in (0, 1)")
        if not 0.0 <= replace_rate < 1.0:
            raise ValueError(f"'replace_rate' is {replace_rate}; choose a fraction in [0, 1)")
        if gamma < 1.0:
            raise ValueError(f"'gamma' is {gamma}; the scaled cosine error needs gamma >= 1")
        if remask not in REMASKS:
            raise ValueError(f"'remask' is {remask!r}; choose one of {REMASKS}")
        self.encoder = encoder
        self.decoder = decoder
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.mask_rate = mask_rate
        self.gamma = gamma
        self.replace_rate = replace_rate
        self.remask = remask

        self.mask_token = Parameter(torch.empty(1, in_channels))  # [MASK]
        self.encoder_to_decoder = Linear(hidden_channels, hidden_channels, bias=False)
        if remask == 'token':
            self.dmask_token = Parameter(torch.empty(1, hidden_channels))  # [DMASK]
        else:
            self.register_parameter('dmask_token', None)
        self.reset_parameters()

    def reset_parameters(self):
        reset(self.encoder)
        reset(self.decoder)
        self.encoder_to_decoder.reset_parameters()
        zeros(self.mask_token)
        zeros(self.dmask_token)

    def forward(self, x: Tensor, edge_index: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        r"""Masks, reconstructs and returns the scaled cosine error on the masked nodes.
        Extra arguments go to both the encoder and the decoder."""
        x_masked, mask = self.mask(x)
        x_hat = self.reconstruct(x_masked, mask, edge_index, *args, **kwargs)
        return sce_loss(x, x_hat, self.gamma, mask)

    def embed(self, x: Tensor, edge_index: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        r"""The encoder's output on the unmasked graph, :math:`(N, H)`."""
        check_feature_size(x, self.in_channels)
        return self.encoder(x, edge_index, *args, **kwargs)

    def mask(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns the corrupted features :math:`(N, F)` and the boolean mask :math:`(N)`
        of the :math:`\max(1, \lfloor pN \rfloor)` masked nodes."""
        check_feature_size(x, self.in_channels)
        num_nodes = x.size(0)
        num_mask = max(1, int(self.mask_rate * num_nodes))
        num_noise = int(self.replace_rate * num_mask)
        perm = torch.randperm(num_nodes, device=x.device)
        mask = torch.zeros(num_nodes, dtype=torch.bool, device=x.device)
        mask[perm[:num_mask]] = True
        token = mask
        if num_noise > 0:
            noise_nodes = perm[:num_noise]  # the first masked nodes get random features
            source = torch.randint(0, num_nodes, (num_noise, ), device=x.device)
            x = x.index_copy(0, noise_nodes, x[source])  # [N, F]
            token = mask.index_fill(0, noise_nodes, False)
        x_masked = torch.where(token.unsqueeze(-1), self.mask_token.to(x.dtype), x)  # [N, F]
        return x_masked, mask

    def reconstruct(self, x_masked: Tensor, mask: Tensor, edge_index: Tensor, *args: Any,
                    **kwargs: Any) -> Tensor:
        r"""Encodes the corrupted graph, re-masks and decodes: :math:`\mathbf{Z}`,
        :math:`(N, F)`, for every node."""
        h = self.encoder(x_masked, edge_index, *args, **kwargs)  # [N, H]
        if h.size(-1) != self.hidden_channels:
            raise ValueError(f"the encoder returns {h.size(-1)} features, but GraphMAE was "
                             f"built with hidden_channels={self.hidden_channels}; pass "
                             f"hidden_channels={h.size(-1)}")
        h = self.encoder_to_decoder(h)  # [N, H]
        if self.dmask_token is None:
            h = h.masked_fill(mask.unsqueeze(-1), 0.0)  # [N, H]
        else:
            h = torch.where(mask.unsqueeze(-1), self.dmask_token.to(h.dtype), h)  # [N, H]
        x_hat = self.decoder(h, edge_index, *args, **kwargs)  # [N, F]
        if x_hat.size(-1) != self.in_channels:
            raise ValueError(f"the decoder returns {x_hat.size(-1)} features, but it must "
                             f"reconstruct the {self.in_channels} input features; build it "
                             f"with {self.in_channels} output channels")
        return x_hat

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, '
                f'mask_rate={self.mask_rate}, gamma={self.gamma})')
