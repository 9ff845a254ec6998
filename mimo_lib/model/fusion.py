"""Fusion strategies: many modality tokens per time step -> one fused vector.

A fusion module maps tokens ``[B, S, M, D]`` (S time steps, M modalities, D
features) and a presence mask ``[B, M]`` (1 = present) to fused features
``[B, S, D]`` and modality weights ``[B, S, M]`` that sum to one over the present
modalities. Add a strategy by registering a class::

    @register_fusion("mine")
    class MyFusion(Fusion):
        ...

and set ``model.fusion: mine`` in the params.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mimo_lib.registry import FUSIONS


def register_fusion(name: str) -> Callable[[type[Fusion]], type[Fusion]]:
    """Class decorator adding a :class:`Fusion` subclass to :data:`~mimo_lib.registry.FUSIONS` under ``name``."""
    return FUSIONS.register(name)


def get_fusion(name: str) -> type[Fusion]:
    """The fusion class registered as ``name``."""
    return FUSIONS.lookup(name)


def effective_mask(present: Tensor) -> Tensor:
    """Presence mask as floats; a window with no modality present counts all as present."""
    present = present.to(torch.float32)
    none = present.sum(dim=1, keepdim=True) == 0
    return torch.where(none, torch.ones_like(present), present)


class Fusion(nn.Module):
    """Base class: ``forward(tokens [B,S,M,D], present [B,M]) -> (fused [B,S,D], weights [B,S,M])``."""

    def __init__(self, n_modalities: int, dim: int, *, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_modalities = n_modalities
        self.dim = dim

    def forward(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError


@register_fusion("concat")
class ConcatFusion(Fusion):
    """Concatenate the modality tokens (absent ones zeroed) and map them linearly to ``dim``.

    Reported weights are uniform over the present modalities.
    """

    def __init__(self, n_modalities: int, dim: int, *, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__(n_modalities, dim)
        self.proj = nn.Linear(n_modalities * dim, dim)

    def forward(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        batch, steps = tokens.shape[:2]
        mask = effective_mask(present).to(tokens.dtype)
        fused = self.proj((tokens * mask[:, None, :, None]).reshape(batch, steps, -1))
        weights = mask / mask.sum(dim=1, keepdim=True)
        return fused, weights[:, None, :].expand(batch, steps, self.n_modalities)


@register_fusion("gated")
class GatedFusion(Fusion):
    """Sigmoid gates computed from all modalities weight each modality's token; the weighted tokens are summed.

    Gates of absent modalities are zeroed and the gates renormalised to sum to one,
    so the fused vector is a convex combination of the present modalities' tokens.
    """

    def __init__(self, n_modalities: int, dim: int, *, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__(n_modalities, dim)
        self.gate = nn.Linear(n_modalities * dim, n_modalities)

    def forward(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        batch, steps = tokens.shape[:2]
        mask = effective_mask(present).to(tokens.dtype)[:, None, :]
        masked = tokens * mask[..., None]
        gates = torch.sigmoid(self.gate(masked.reshape(batch, steps, -1))) * mask
        weights = gates / gates.sum(dim=-1, keepdim=True).clamp_min(1e-6)
        return (weights[..., None] * masked).sum(dim=2), weights


@register_fusion("attention")
class AttentionFusion(Fusion):
    """A learned query token attends over one token per modality (multi-head attention).

    Tokens get a learned modality embedding; absent modalities are masked out of
    the attention. The weights are the attention probabilities averaged over heads.
    """

    def __init__(self, n_modalities: int, dim: int, *, heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__(n_modalities, dim)
        if dim % heads:
            raise ValueError(
                f"attention fusion: token size {dim} must be a multiple of model.attention_heads={heads}"
            )
        self.query = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.modality_embedding = nn.Parameter(torch.randn(n_modalities, dim) * dim**-0.5)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)

    def forward(self, tokens: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        batch, steps, n_mod, dim = tokens.shape
        keys = (tokens + self.modality_embedding).reshape(batch * steps, n_mod, dim)
        absent = (effective_mask(present) == 0).repeat_interleave(steps, dim=0)
        fused, weights = self.attention(
            self.query.expand(batch * steps, 1, dim), keys, keys, key_padding_mask=absent, need_weights=True
        )
        return fused.reshape(batch, steps, dim), weights.reshape(batch, steps, n_mod)
