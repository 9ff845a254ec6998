"""Shared latent expansion followed by per-modality 1-D ResNet decoders."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mimo_lib.model.blocks import ConvNorm, ResBlock, from_rows, row_conv, to_rows
from mimo_lib.model.encoder import stage_widths


class DecoderBranch(nn.Module):
    """``groups`` modality decoders as one stack of grouped convolutions.

    Input: the shared expansion ``[B, shared, T_last]``; output ``[B, G, T]``. The
    stages mirror the encoder; after each stage the signal is upsampled to the
    encoder's length one level up (nearest neighbour, exact size), ending at the
    window length ``lengths[0]`` before the linear output convolution, so the
    output has exactly the window length, whatever it is.
    """

    def __init__(
        self,
        *,
        groups: int,
        shared_channels: int,
        base_width: int,
        stages: list[int],
        kernel_size: int,
        lengths: list[int],
        dropout: float,
        second_kernel: int | None = None,
    ) -> None:
        super().__init__()
        widths = stage_widths(base_width, len(stages))
        self.lengths = list(lengths)
        self.expand = ConvNorm(shared_channels, groups * widths[-1], 1)
        self.stages = nn.ModuleList(
            nn.Sequential(
                *[
                    ResBlock(width, width, kernel_size, groups=groups, dropout=dropout, second_kernel=second_kernel)
                    for _ in range(n_blocks)
                ]
            )
            for width, n_blocks in zip(widths[::-1], stages[::-1], strict=True)
        )
        self.ups = nn.ModuleList(
            ConvNorm(widths[i], widths[i - 1], kernel_size, groups=groups) for i in range(len(widths) - 1, 0, -1)
        )
        self.head = row_conv(groups * widths[0], groups, kernel_size, groups=groups)
        self.to(memory_format=torch.channels_last)

    def forward(self, shared: Tensor) -> Tensor:
        h = self.expand(to_rows(shared))
        targets = self.lengths[::-1][1:]  # stage lengths from the deepest, then the window length
        for index, stage in enumerate(self.stages):
            h = F.interpolate(stage(h), size=(1, targets[index]), mode="nearest")
            if index < len(self.ups):
                h = self.ups[index](h)
        return from_rows(self.head(h))


class LatentToMap(nn.Module):
    """Each latent step ``[B, S, D]`` -> its own chunk of the shared map ``[B, C, L]`` (one transposed conv).

    The mirror of the encoder's :class:`~mimo_lib.model.mimo_ae.Bottleneck`: one map
    shared by all steps, so what the decoder learns at one time step serves every
    other; with a single step (the flat bottleneck) it is a plain linear layer.
    The map is resampled (linear interpolation) when ``S * chunk != L``.
    """

    def __init__(self, steps: int, dim: int, channels: int, length: int) -> None:
        super().__init__()
        self.steps, self.dim, self.length = steps, dim, length
        self.chunk = math.ceil(length / steps)
        self.proj = nn.ConvTranspose1d(dim, channels, self.chunk, stride=self.chunk)

    def forward(self, latent: Tensor) -> Tensor:
        steps = latent.view(latent.shape[0], self.steps, self.dim).transpose(1, 2)
        shared = self.proj(steps)
        if shared.shape[-1] != self.length:
            shared = F.interpolate(shared, size=self.length, mode="linear", align_corners=False)
        return F.relu(shared)


class Decoder(nn.Module):
    """Latent steps -> a shared ``[shared, T_last]`` map (:class:`LatentToMap`), then per-modality decoders."""

    def __init__(
        self,
        n_modalities: int,
        *,
        latent_steps: int,
        latent_dim: int,
        shared_channels: int,
        lengths: list[int],
        grouped: bool,
        **branch: object,
    ) -> None:
        super().__init__()
        self.grouped = grouped
        self.shared = LatentToMap(latent_steps, latent_dim // latent_steps, shared_channels, lengths[-1])
        options = dict(shared_channels=shared_channels, lengths=lengths, **branch)
        if grouped:
            self.branches = nn.ModuleList([DecoderBranch(groups=n_modalities, **options)])
        else:
            self.branches = nn.ModuleList([DecoderBranch(groups=1, **options) for _ in range(n_modalities)])

    def forward(self, latent: Tensor) -> Tensor:
        shared = self.shared(latent)
        if self.grouped:
            return self.branches[0](shared)
        return torch.cat([branch(shared) for branch in self.branches], dim=1)
