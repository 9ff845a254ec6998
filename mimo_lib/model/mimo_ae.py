"""MiMo-AE: per-modality encoders -> tokens -> fusion -> latent -> per-modality decoders."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mimo_lib.config import ModelConfig
from mimo_lib.model.blocks import BLOCK_SECOND_KERNEL
from mimo_lib.model.decoder import Decoder
from mimo_lib.model.encoder import Encoder, stage_lengths
from mimo_lib.model.fusion import get_fusion


@dataclass
class AEOutput:
    """One forward pass: ``reconstruction [B,M,T]``, ``latent [B,latent_dim]``, modality ``weights [B,M]``."""

    reconstruction: Tensor
    latent: Tensor
    weights: Tensor


class Bottleneck(nn.Module):
    """Per-modality map from encoder features ``[B, M*C, L]`` to tokens ``[B, S, M, D]``.

    The feature map is resampled (linear interpolation, only when needed) to
    ``S * r`` steps with ``r = ceil(L / S)``, then a grouped convolution with kernel
    and stride ``r`` turns every chunk of ``r`` steps into one ``D``-dim token. With
    ``S = 1`` this is exactly flatten + linear per modality (the flat bottleneck).
    """

    def __init__(self, n_modalities: int, channels: int, length: int, steps: int, dim: int) -> None:
        super().__init__()
        self.n_modalities, self.steps, self.dim = n_modalities, steps, dim
        self.chunk = math.ceil(length / steps)
        self.resample = self.chunk * steps != length
        self.proj = nn.Conv1d(
            n_modalities * channels, n_modalities * dim, self.chunk, stride=self.chunk, groups=n_modalities
        )

    def forward(self, features: Tensor) -> Tensor:
        if self.resample:
            features = F.interpolate(features, size=self.chunk * self.steps, mode="linear", align_corners=False)
        tokens = self.proj(features)  # [B, M*D, S]
        return tokens.view(tokens.shape[0], self.n_modalities, self.dim, self.steps).permute(0, 3, 1, 2)


class MiMoAE(nn.Module):
    """Multimodal autoencoder for windows ``[B, M, T]`` of ``M`` signals of length ``window_length``."""

    def __init__(self, cfg: ModelConfig, modalities: list[str], window_length: int) -> None:
        super().__init__()
        if not modalities:
            raise ValueError("MiMoAE needs at least one modality")
        if window_length < 1:
            raise ValueError(f"window_length must be >= 1, got {window_length}")
        if cfg.kernel_size % 2 == 0:
            raise ValueError(f"model.kernel_size must be odd (same-length convolutions), got {cfg.kernel_size}")
        self.modalities = list(modalities)
        self.window_length = window_length
        self.latent_dim = cfg.latent_dim
        self.config = cfg
        n_mod = len(modalities)
        self.lengths = stage_lengths(window_length, len(cfg.stages), cfg.kernel_size, cfg.stem_stride)
        steps = cfg.latent_steps if cfg.bottleneck == "temporal" else 1
        token_dim = cfg.latent_dim // steps
        branch = dict(
            base_width=cfg.base_width, kernel_size=cfg.kernel_size, dropout=cfg.dropout,
            second_kernel=BLOCK_SECOND_KERNEL[cfg.block],
        )
        self.encoder = Encoder(
            n_mod, grouped=cfg.grouped, compress_channels=cfg.compress_channels, stem_stride=cfg.stem_stride,
            stages=list(cfg.stages), **branch
        )
        self.bottleneck = Bottleneck(n_mod, cfg.compress_channels, self.lengths[-1], steps, token_dim)
        self.fusion = get_fusion(cfg.fusion)(n_mod, token_dim, heads=cfg.attention_heads, dropout=cfg.dropout)
        self.decoder = Decoder(
            n_mod,
            latent_steps=steps,
            latent_dim=cfg.latent_dim,
            shared_channels=cfg.compress_channels,
            lengths=self.lengths,
            grouped=cfg.grouped,
            stages=list(cfg.decoder_stages or cfg.stages),
            **branch,
        )

    def _check(self, x: Tensor, present: Tensor | None) -> Tensor:
        expected = (len(self.modalities), self.window_length)
        if x.dim() != 3 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected windows of shape [batch, {expected[0]}, {expected[1]}] "
                f"(modalities {self.modalities}), got {list(x.shape)}"
            )
        if present is None:
            return torch.ones(x.shape[0], x.shape[1], dtype=x.dtype, device=x.device)
        if tuple(present.shape) != tuple(x.shape[:2]):
            raise ValueError(f"present mask must have shape {list(x.shape[:2])}, got {list(present.shape)}")
        return present.to(x.dtype)

    def encode(self, x: Tensor, present: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Latent ``[B, latent_dim]`` and modality weights ``[B, M]`` (averaged over latent steps).

        Absent modalities (``present == 0``) are masked at the token level: their
        tokens are replaced by zeros before fusion, so their input values (zeros,
        NaN, or the real signal during modality-dropout training) never reach the
        latent. Their encoders still see the input, which keeps BatchNorm's batch
        statistics those of real signals while training.
        """
        present = self._check(x, present)
        tokens = self.bottleneck(self.encoder(x))
        absent = present[:, None, :, None] == 0
        fused, weights = self.fusion(tokens.masked_fill(absent, 0.0), present)
        return fused.reshape(x.shape[0], self.latent_dim), weights.mean(dim=1)

    def decode(self, latent: Tensor) -> Tensor:
        """Reconstruction ``[B, M, window_length]`` from latent vectors ``[B, latent_dim]``."""
        return self.decoder(latent)

    def forward(self, x: Tensor, present: Tensor | None = None, latent_noise: float = 0.0) -> AEOutput:
        """Encode and decode ``x``; with ``latent_noise`` the decoder sees the latent plus uniform noise of that
        width in units of each dimension's standard deviation over the batch (of two windows or more), as a
        quantiser's rounding would add: a width of 0.2 is about the step of 5 bits over a dimension's range.
        ``latent`` is returned clean."""
        latent, weights = self.encode(x, present)
        decoded = latent
        if latent_noise > 0 and len(latent) > 1:
            spread = latent.detach().std(dim=0, keepdim=True)
            decoded = latent + (torch.rand_like(latent) - 0.5) * latent_noise * spread
        return AEOutput(reconstruction=self.decode(decoded), latent=latent, weights=weights)


def build_model(cfg: ModelConfig, modalities: list[str], window_length: int) -> MiMoAE:
    """A :class:`MiMoAE` for these modality names and window length (in samples)."""
    return MiMoAE(cfg, modalities, window_length)
