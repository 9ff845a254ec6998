"""1-D convolution building blocks shared by encoders and decoders.

Every block takes ``groups``: with ``groups=G`` it holds G independent copies of
itself (one per modality), stacked along the channel axis as one grouped
convolution. ``groups=1`` is a single ordinary branch. Batch normalisation over
``G * C`` channels normalises each channel on its own, so a grouped block computes
exactly what G separate blocks would.

Layout: the blocks run on signals stored as one-row images ``[B, C, 1, L]`` in
channels-last memory (:func:`to_rows`), with ``1 x k`` two-dimensional
convolutions. That is the layout oneDNN convolves in on CPUs, so no convolution
reorders its input or output; it computes exactly what ``Conv1d`` and
``BatchNorm1d`` on ``[B, C, L]`` would, in fewer operations.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def to_rows(x: Tensor) -> Tensor:
    """Signals ``[B, C, L]`` as one-row images ``[B, C, 1, L]`` in channels-last memory."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def from_rows(x: Tensor) -> Tensor:
    """One-row images ``[B, C, 1, L]`` back to contiguous signals ``[B, C, L]``."""
    return x.squeeze(2).contiguous()


def row_conv(
    in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, groups: int = 1, bias: bool = True
) -> nn.Conv2d:
    """A same-padded 1-D convolution along the row of ``[B, C, 1, L]`` (kernel ``1 x kernel_size``)."""
    return nn.Conv2d(
        in_channels,
        out_channels,
        (1, kernel_size),
        stride=(1, stride),
        padding=(0, kernel_size // 2),
        groups=groups,
        bias=bias,
    )


def conv_output_length(length: int, kernel_size: int, stride: int = 1) -> int:
    """Length after a ``Conv1d`` with padding ``kernel_size // 2``."""
    padding = kernel_size // 2
    return (length + 2 * padding - kernel_size) // stride + 1


class ConvNorm(nn.Sequential):
    """Grouped row convolution (no bias) -> BatchNorm, optionally followed by ReLU, on ``[B, C, 1, L]``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        groups: int = 1,
        stride: int = 1,
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            row_conv(groups * in_channels, groups * out_channels, kernel_size, stride=stride, groups=groups,
                     bias=False),
            nn.BatchNorm2d(groups * out_channels),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Two convolutions with a skip connection (projected when the shape changes).

    The first has ``kernel_size``; the second ``second_kernel`` (default the same:
    the basic block; 1 gives the light block, about half the arithmetic).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        groups: int = 1,
        stride: int = 1,
        dropout: float = 0.0,
        second_kernel: int | None = None,
    ) -> None:
        super().__init__()
        second = kernel_size if second_kernel is None else second_kernel
        self.body = nn.Sequential(
            ConvNorm(in_channels, out_channels, kernel_size, groups=groups, stride=stride),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            ConvNorm(out_channels, out_channels, second, groups=groups, relu=False),
        )
        self.skip = (
            ConvNorm(in_channels, out_channels, 1, groups=groups, stride=stride, relu=False)
            if stride != 1 or in_channels != out_channels
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.body(x) + self.skip(x))


BLOCK_SECOND_KERNEL = {"basic": None, "light": 1}
"""``model.block`` -> kernel of the second convolution of every residual block (None: ``kernel_size``)."""
