r"""A graph-autoencoder decoder called as OGB's link predictor: two embeddings in, a link
probability out.

Dimensions: P node pairs, F features.
"""
import torch
from torch import Tensor


class PairDecoder(torch.nn.Module):
    r"""Wraps an edge decoder with the graph-autoencoder call ``decoder(z, edge_index)``
    (:class:`~pyg_ext.nn.autoencoder.bilinear_decoder.BilinearDecoder`,
    :class:`~pyg_ext.nn.autoencoder.mlp_decoder.MLPDecoder`, PyG's
    :class:`~torch_geometric.nn.models.InnerProductDecoder`, ...: latent node embeddings
    :math:`(N, F)` and node pairs :math:`(2, P)` in, probabilities :math:`(P)` out) so that
    it is called as the link runner calls OGB's
    :class:`~pyg_ext.ogb.link_predictor.LinkPredictor`: the two embeddings of each pair in,
    a probability per pair out,

    .. math::
        p_k = \mathrm{decoder}\big(\mathbf{Z}, (k, P + k)\big), \qquad
        \mathbf{Z} = \begin{bmatrix} \mathbf{H}_{src} \\ \mathbf{H}_{dst} \end{bmatrix}
        \in \mathbb{R}^{2P \times F},

    i.e. :math:`p_k = \sigma(\mathbf{h}_{src,k}^\top \mathbf{W} \mathbf{h}_{dst,k})` for the
    bilinear decoder. The probability must lie in :math:`[0, 1]` (decoders apply their
    sigmoid by default), since the runner's loss is :math:`-\log p`.

    Args:
        decoder (torch.nn.Module): the decoder, called as ``decoder(z, edge_index)``.

    Shapes:
        - **input:** ``h_src`` :math:`(P, F)`, ``h_dst`` :math:`(P, F)`
        - **output:** probabilities :math:`(P, 1)`
    """
    def __init__(self, decoder: torch.nn.Module):
        super().__init__()
        self.decoder = decoder
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if hasattr(self.decoder, 'reset_parameters'):  # InnerProductDecoder has no weights
            self.decoder.reset_parameters()

    def forward(self, h_src: Tensor, h_dst: Tensor) -> Tensor:
        if h_src.dim() != 2:
            raise ValueError(f"'h_src' has shape {list(h_src.shape)}; expected the embeddings "
                             f"of P pairs' first nodes, shape [P, F]")
        if h_dst.shape != h_src.shape:
            raise ValueError(f"'h_dst' has shape {list(h_dst.shape)}, 'h_src' "
                             f"{list(h_src.shape)}; pass one embedding per pair to each, "
                             f"shape [P, F]")
        P = h_src.size(0)
        z = torch.cat([h_src, h_dst], dim=0)  # [2P, F]
        index = torch.arange(P, device=z.device)  # [P]
        pairs = torch.stack([index, index + P])  # [2, P]
        return self.decoder(z, pairs).unsqueeze(-1)  # [P, 1]

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.decoder})'
