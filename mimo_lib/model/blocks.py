"""1-D convolution building blocks shared by encoders and decoders.

Every block takes ``groups``: with ``groups=G`` it holds G independent copies of
itself (one per modality), stacked along the channel axis as one grouped
convolution. ``groups=1`` is a single ordinary branch. Batch normalisation over
``G * C`` channels normalises each channel on its own, so a grouped block computes
exactly what G separate blocks would.
"""

from __future__ import annotations

from torch import Tensor, nn


def conv_output_length(length: int, kernel_size: int, stride: int = 1) -> int:
    """Length after a ``Conv1d`` with padding ``kernel_size // 2``."""
    padding = kernel_size // 2
    return (length + 2 * padding - kernel_size) // stride + 1


class ConvNorm(nn.Sequential):
    """Grouped Conv1d (no bias) -> BatchNorm, optionally followed by ReLU."""

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
            nn.Conv1d(
                groups * in_channels,
                groups * out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm1d(groups * out_channels),
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
