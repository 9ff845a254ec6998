"""Numbers on a fixed number of bits: a uniform quantiser per dimension, or float16/float32 as they are.

``bits`` names the format everywhere in :mod:`mimo_lib.evaluation.codecs`:
:data:`UNIFORM_BITS` (2 … 12) quantise uniformly, 16 and 32 store IEEE
half/single precision floats (:data:`FLOAT_BITS`). A uniform quantiser may
also give each dimension its own depth (:data:`DEPTHS`, chosen by
:func:`allocate_depths`); the depths then travel in its table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimo_lib.evaluation.codecs.bits import bits_uint, uint_bits

UNIFORM_BITS = range(2, 13)
DEPTHS = range(1, 13)
DEPTH_BITS = 4  # one depth of DEPTHS in a quantiser's table
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

    ``bits`` is one depth for every dimension (2 … 12) or an array of one depth
    per dimension (1 … 12). Values inside the range come back within half a
    step (:attr:`step`); values outside are clipped to it. A dimension with
    ``low == high`` has one value.
    """

    low: np.ndarray
    high: np.ndarray
    bits: int | np.ndarray

    def __post_init__(self) -> None:
        low, high = np.asarray(self.low, np.float32), np.asarray(self.high, np.float32)
        if low.shape != high.shape or low.ndim != 1:
            raise ValueError(f"low and high must be 1-D of one shape, got {low.shape} and {high.shape}")
        if np.any(~np.isfinite(low) | ~np.isfinite(high) | (high < low)):
            raise ValueError("quantiser ranges must be finite with low <= high")
        if np.ndim(self.bits) == 0:
            if self.bits not in UNIFORM_BITS:
                raise ValueError(f"a uniform quantiser takes {UNIFORM_BITS.start}-{UNIFORM_BITS.stop - 1} bits, "
                                 f"got {self.bits}")
            object.__setattr__(self, "bits", int(self.bits))
        else:
            depths = np.asarray(self.bits)
            if depths.shape != low.shape or not np.all(np.isin(depths, DEPTHS)):
                raise ValueError(f"per-dimension depths must be {low.shape[0]} integers of {DEPTHS.start}-"
                                 f"{DEPTHS.stop - 1} bits, got shape {depths.shape} and {sorted(set(depths.ravel()))}")
            object.__setattr__(self, "bits", depths.astype(np.int64))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @classmethod
    def fit(cls, values: np.ndarray, bits: int | np.ndarray, clip: float = 0.0) -> UniformQuantizer:
        """Ranges from ``values`` ``(N, D)``: their minimum and maximum, or the ``clip`` and ``1 - clip`` quantiles."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or not len(values):
            raise ValueError(f"fit the quantiser on (N, D) values with N >= 1, got shape {values.shape}")
        if not 0 <= clip < 0.5:
            raise ValueError(f"clip must be in [0, 0.5), got {clip}")
        return cls(np.quantile(values, clip, axis=0), np.quantile(values, 1 - clip, axis=0), bits)

    @property
    def per_dimension(self) -> bool:
        """Whether each dimension has its own depth."""
        return isinstance(self.bits, np.ndarray)

    @property
    def depths(self) -> np.ndarray:
        """Bits of each dimension ``(D,)``."""
        return np.broadcast_to(np.asarray(self.bits, np.int64), self.low.shape)

    @property
    def levels(self) -> np.ndarray:
        """Levels per dimension."""
        return np.left_shift(1, self.depths)

    @property
    def step(self) -> np.ndarray:
        """Distance between neighbouring levels per dimension (float64)."""
        return (self.high.astype(np.float64) - self.low) / (self.levels - 1)

    @property
    def table_bits(self) -> int:
        """Bits of what a decoder needs: two float32 ranges per dimension, and its depth when depths differ."""
        return (64 + DEPTH_BITS * self.per_dimension) * len(self.low)

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Level indices ``0 … 2**bits - 1`` (uint64) of ``(..., D)`` values."""
        step = self.step
        with np.errstate(invalid="ignore", divide="ignore"):
            index = np.where(step > 0, np.rint((np.asarray(values, np.float64) - self.low) / step), 0)
        return np.clip(index, 0, self.levels - 1).astype(np.uint64)

    def dequantize(self, index: np.ndarray) -> np.ndarray:
        """Values (float32) of level indices."""
        return (self.low + np.asarray(index, np.float64) * self.step).astype(np.float32)


def allocate_depths(weights: np.ndarray, total_bits: int, low: int = UNIFORM_BITS.start,
                    high: int = UNIFORM_BITS.stop - 1) -> np.ndarray:
    """Depth per dimension spending ``total_bits`` where a bit lowers the predicted error most.

    A dimension of weight ``w`` (its range squared times the decoder's sensitivity
    to it) coded on ``b`` bits is predicted to add ``w / (2**b - 1)**2`` to the
    squared error. Every dimension starts at ``low`` bits; bits are then added one
    at a time to the dimension whose error drops most, up to ``high`` bits each
    (greedy, which is optimal here since each dimension's gains shrink with ``b``).
    """
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 1 or np.any(~np.isfinite(weights) | (weights < 0)):
        raise ValueError("weights must be one finite, non-negative number per dimension")
    if not DEPTHS.start <= low <= high < DEPTHS.stop:
        raise ValueError(f"depths must lie in {DEPTHS.start}-{DEPTHS.stop - 1} with low <= high, got {low}-{high}")
    extra = total_bits - low * len(weights)
    if not 0 <= extra <= (high - low) * len(weights):
        raise ValueError(f"{total_bits} bits cannot give {len(weights)} dimensions {low}-{high} bits each")
    depth = np.arange(low, high)
    gains = weights[:, None] * (1 / (2.0**depth - 1) ** 2 - 1 / (2.0 ** (depth + 1) - 1) ** 2)
    chosen = np.argsort(-gains, axis=None, kind="stable")[:extra]
    return low + np.bincount(chosen // gains.shape[1], minlength=len(weights))
