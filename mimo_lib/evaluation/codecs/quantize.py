"""Numbers on a fixed number of bits: a uniform quantiser per dimension, or float16/float32 as they are.

``bits`` names the format everywhere in :mod:`mimo_lib.evaluation.codecs`:
:data:`UNIFORM_BITS` (2 … 12) quantise uniformly, 16 and 32 store IEEE
half/single precision floats (:data:`FLOAT_BITS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimo_lib.evaluation.codecs.bits import bits_uint, uint_bits

UNIFORM_BITS = range(2, 13)
FLOAT_BITS = {16: (np.float16, np.uint16), 32: (np.float32, np.uint32)}


def check_bits(bits: int) -> int:
    """``bits`` when it names a format: 2 … 12 (uniform quantiser), 16 (float16) or 32 (float32)."""
    if bits not in UNIFORM_BITS and bits not in FLOAT_BITS:
        raise ValueError(f"bits must be {UNIFORM_BITS.start}-{UNIFORM_BITS.stop - 1} (uniform quantiser), "
                         f"16 (float16) or 32 (float32); got {bits}")
    return bits


def float_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Bits ``(..., bits)`` of ``values`` rounded to float16 (``bits=16``) or float32 (``bits=32``)."""
    dtype, word = FLOAT_BITS[bits]
    return uint_bits(np.asarray(values).astype(dtype).view(word), bits)


def bits_float(bits: np.ndarray) -> np.ndarray:
    """Float32 values of float16/float32 bit patterns ``(..., 16 or 32)`` (inverse of :func:`float_bits`)."""
    dtype, word = FLOAT_BITS[bits.shape[-1]]
    return bits_uint(bits).astype(word).view(dtype).astype(np.float32)


@dataclass(frozen=True)
class UniformQuantizer:
    """``2**bits`` evenly spaced levels from ``low`` to ``high`` (float32, one pair per dimension of the last axis).

    Values inside the range come back within half a step (:attr:`step`); values
    outside are clipped to it. A dimension with ``low == high`` has one value.
    """

    low: np.ndarray
    high: np.ndarray
    bits: int

    def __post_init__(self) -> None:
        if self.bits not in UNIFORM_BITS:
            raise ValueError(f"a uniform quantiser takes {UNIFORM_BITS.start}-{UNIFORM_BITS.stop - 1} bits, got {self.bits}")
        low, high = np.asarray(self.low, np.float32), np.asarray(self.high, np.float32)
        if low.shape != high.shape or low.ndim != 1:
            raise ValueError(f"low and high must be 1-D of one shape, got {low.shape} and {high.shape}")
        if np.any(~np.isfinite(low) | ~np.isfinite(high) | (high < low)):
            raise ValueError("quantiser ranges must be finite with low <= high")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @classmethod
    def fit(cls, values: np.ndarray, bits: int, clip: float = 0.0) -> UniformQuantizer:
        """Ranges from ``values`` ``(N, D)``: their minimum and maximum, or the ``clip`` and ``1 - clip`` quantiles."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or not len(values):
            raise ValueError(f"fit the quantiser on (N, D) values with N >= 1, got shape {values.shape}")
        if not 0 <= clip < 0.5:
            raise ValueError(f"clip must be in [0, 0.5), got {clip}")
        return cls(np.quantile(values, clip, axis=0), np.quantile(values, 1 - clip, axis=0), bits)

    @property
    def levels(self) -> int:
        return 2**self.bits

    @property
    def step(self) -> np.ndarray:
        """Distance between neighbouring levels per dimension (float64)."""
        return (self.high.astype(np.float64) - self.low) / (self.levels - 1)

    @property
    def table_bits(self) -> int:
        """Bits of the ranges a decoder needs: two float32 per dimension."""
        return 64 * len(self.low)

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Level indices ``0 … 2**bits - 1`` (uint64) of ``(..., D)`` values."""
        step = self.step
        with np.errstate(invalid="ignore", divide="ignore"):
            index = np.where(step > 0, np.rint((np.asarray(values, np.float64) - self.low) / step), 0)
        return np.clip(index, 0, self.levels - 1).astype(np.uint64)

    def dequantize(self, index: np.ndarray) -> np.ndarray:
        """Values (float32) of level indices."""
        return (self.low + np.asarray(index, np.float64) * self.step).astype(np.float32)
