"""Per-modality 1-D ResNet encoders: stem, residual stages, 1x1 channel compression."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mimo_lib.model.blocks import ConvNorm, ResBlock, conv_output_length, from_rows, row_conv, to_rows


def stage_widths(base_width: int, n_stages: int) -> list[int]:
    """Channels per stage: ``base_width`` doubling at every stage."""
    return [base_width * 2**i for i in range(n_stages)]


def stage_lengths(window_length: int, n_stages: int, kernel_size: int, stem_stride: int = 2) -> list[int]:
    """Time steps of the input and after each stage: ``[T, L_0, ..., L_{S-1}]``.

    The stem downsamples by ``stem_stride`` (``model.stem_stride``); every stage
    after the first starts with a stride-2 block.
    """
    lengths = [window_length, conv_output_length(window_length, kernel_size, stride=stem_stride)]
    for _ in range(n_stages - 1):
        lengths.append(conv_output_length(lengths[-1], kernel_size, stride=2))
    return lengths


class EncoderBranch(nn.Module):
    """``groups`` modality encoders as one stack of grouped convolutions.

    Input ``[B, G, T]`` (one channel per modality), output ``[B, G * compress, T_last]``.
    """

    def __init__(
        self,
        *,
        groups: int,
        base_width: int,
        stages: list[int],
        kernel_size: int,
        compress_channels: int,
        dropout: float,
        stem_stride: int = 2,
        second_kernel: int | None = None,
    ) -> None:
        super().__init__()
        widths = stage_widths(base_width, len(stages))
        self.stem = ConvNorm(1, widths[0], kernel_size, groups=groups, stride=stem_stride)
        blocks: list[nn.Module] = []
        in_width = widths[0]
        for index, (width, n_blocks) in enumerate(zip(widths, stages, strict=True)):
            stage = [
                ResBlock(
                    in_width if b == 0 else width,
                    width,
                    kernel_size,
                    groups=groups,
                    stride=2 if (b == 0 and index > 0) else 1,
                    dropout=dropout,
                    second_kernel=second_kernel,
                )
                for b in range(n_blocks)
            ]
            blocks.append(nn.Sequential(*stage))
            in_width = width
        self.stages = nn.ModuleList(blocks)
        self.compress = row_conv(groups * widths[-1], groups * compress_channels, 1, groups=groups)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(to_rows(x))
        for stage in self.stages:
            h = stage(h)
        return from_rows(self.compress(h))


class Encoder(nn.Module):
    """All modality encoders: one grouped branch, or a loop over separate branches.

    Either way the output is ``[B, M * compress, T_last]`` with modality ``m``'s
    features in channels ``m * compress : (m + 1) * compress``.
    """

    def __init__(self, n_modalities: int, *, grouped: bool, **branch: object) -> None:
        super().__init__()
        self.grouped = grouped
        if grouped:
            self.branches = nn.ModuleList([EncoderBranch(groups=n_modalities, **branch)])
        else:
            self.branches = nn.ModuleList([EncoderBranch(groups=1, **branch) for _ in range(n_modalities)])

    def forward(self, x: Tensor) -> Tensor:
        if self.grouped:
            return self.branches[0](x)
        return torch.cat([branch(x[:, m : m + 1]) for m, branch in enumerate(self.branches)], dim=1)

    def stems(self) -> list[nn.Conv2d]:
        """The first convolution of every branch (one per modality, or one grouped)."""
        return [branch.stem[0] for branch in self.branches]
