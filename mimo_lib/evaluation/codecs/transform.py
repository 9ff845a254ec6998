"""Classical transform codecs for one signal: keep each window's largest wavelet or DCT coefficients.

One record per window, in whole bytes:

- the window's mean (float16), subtracted before the transform;
- a scale (float16): the largest kept coefficient magnitude, rounded up;
- which coefficients are kept: one subset rank of ``ceil(log2 C(n, keep))`` bits
  (:class:`~mimo_lib.evaluation.codecs.bits.SubsetRank`);
- the kept coefficients, ``bits`` each: uniform on ``[-scale, scale]`` with
  ``2**bits - 1`` levels (zero among them), or float16/float32 (``bits`` 16, 32).

The DCT-II (``norm="ortho"``) is orthonormal, so its largest coefficients carry
the most energy; so are orthogonal wavelets (``sym*``, ``db*``, ``coif*``) with
periodic extension. The default wavelet is the biorthogonal CDF 9/7 (``bior4.4``,
JPEG 2000's), nearly orthogonal and the one with the lowest PRDN of those tried
on BIDMC at compression ratios 10 and 20 (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pywt
from scipy import fft

from mimo_lib.evaluation.codecs.bits import (
    bits_int,
    bits_uint,
    int_bits,
    pack_records,
    record_bytes,
    subset_bits,
    subset_rank,
    uint_bits,
    unpack_records,
)
from mimo_lib.evaluation.codecs.quantize import FLOAT_BITS, bits_float, check_bits, float_bits

TRANSFORMS = ("wavelet", "dct")
SIDE_BITS = 16
WAVELET_MODE = "periodization"


@dataclass(frozen=True)
class TransformCodec:
    """Codes windows of ``length`` samples by their ``keep`` largest coefficients on ``bits`` bits each."""

    transform: str
    length: int
    keep: int
    bits: int
    wavelet: str = "bior4.4"

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.transform!r}; choose one of {TRANSFORMS}")
        if self.transform == "wavelet" and self.wavelet not in pywt.wavelist(kind="discrete"):
            raise ValueError(f"unknown discrete wavelet {self.wavelet!r}; see pywt.wavelist(kind='discrete')")
        check_bits(self.bits)
        if not 0 <= self.keep <= self.n_coefficients:
            raise ValueError(f"keep must be 0..{self.n_coefficients} coefficients, got {self.keep}")

    @cached_property
    def _bands(self) -> list[int]:
        """Lengths of the coefficient bands (one band for the DCT)."""
        if self.transform == "dct":
            return [self.length]
        return [len(band) for band in pywt.wavedec(np.zeros(self.length), self.wavelet, mode=WAVELET_MODE)]

    @property
    def n_coefficients(self) -> int:
        return sum(self._bands)

    @property
    def rank_bits(self) -> int:
        return subset_bits(self.n_coefficients, self.keep)

    @property
    def payload_bits(self) -> int:
        """Bits of one window's fields before padding to whole bytes."""
        return 2 * SIDE_BITS + self.rank_bits + self.keep * self.bits

    @property
    def record_bits(self) -> int:
        """Bits of one window's record (whole bytes)."""
        return 8 * record_bytes(self.payload_bits)

    @classmethod
    def within(cls, transform: str, length: int, budget_bits: float, bits: int, wavelet: str = "bior4.4") -> TransformCodec | None:
        """The codec keeping the most coefficients whose record fits in ``budget_bits``; None if none fits."""
        codec = cls(transform, length, 0, bits, wavelet)
        fits = [keep for keep in range(codec.n_coefficients + 1)
                if 8 * record_bytes(2 * SIDE_BITS + subset_bits(codec.n_coefficients, keep) + keep * bits) <= budget_bits]
        return cls(transform, length, max(fits), bits, wavelet) if fits else None

    def forward(self, windows: np.ndarray) -> np.ndarray:
        """Coefficients ``(N, n_coefficients)`` of ``(N, length)`` windows."""
        if self.transform == "dct":
            return fft.dct(windows, norm="ortho", axis=-1)
        return np.concatenate(pywt.wavedec(windows, self.wavelet, mode=WAVELET_MODE, axis=-1), axis=-1)

    def inverse(self, coefficients: np.ndarray) -> np.ndarray:
        """Windows ``(N, length)`` from coefficients (inverse of :meth:`forward`)."""
        if self.transform == "dct":
            return fft.idct(coefficients, norm="ortho", axis=-1)
        bands = np.split(coefficients, np.cumsum(self._bands)[:-1], axis=-1)
        return pywt.waverec(bands, self.wavelet, mode=WAVELET_MODE, axis=-1)[..., : self.length]

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """Records ``(N, record_bits / 8)`` (uint8) of ``(N, length)`` windows."""
        windows = np.asarray(windows, np.float64)
        if windows.ndim != 2 or windows.shape[1] != self.length or not np.all(np.isfinite(windows)):
            raise ValueError(f"expected finite windows (N, {self.length}), got shape {windows.shape}")
        mean = windows.mean(axis=1).astype(np.float16)
        coefficients = self.forward(windows - mean[:, None])
        largest = np.argpartition(-np.abs(coefficients), max(self.keep - 1, 0), axis=1)[:, : self.keep]
        positions = np.sort(largest, axis=1)
        kept = np.take_along_axis(coefficients, positions, axis=1)
        scale = _round_up_float16(np.abs(kept).max(axis=1, initial=0.0))
        fields = [float_bits(mean, SIDE_BITS), float_bits(scale, SIDE_BITS)]
        if self.rank_bits:
            fields.append(int_bits(subset_rank(self.n_coefficients).rank(positions), self.rank_bits))
        fields.append(self._value_bits(kept, scale.astype(np.float64)))
        return pack_records(fields)

    def decode(self, records: np.ndarray) -> np.ndarray:
        """Windows ``(N, length)`` (float64) from records (inverse of :meth:`encode`, up to quantisation)."""
        mean, scale, rank, values = unpack_records(
            records, [SIDE_BITS, SIDE_BITS, self.rank_bits, self.keep * self.bits])
        if self.rank_bits:
            positions = subset_rank(self.n_coefficients).unrank(bits_int(rank), self.keep)
        else:  # keep 0 or all: one possible subset
            positions = np.broadcast_to(np.arange(self.keep), (len(records), self.keep))
        coefficients = np.zeros((len(records), self.n_coefficients))
        kept = self._values(values.reshape(len(records), self.keep, self.bits), bits_float(scale))
        np.put_along_axis(coefficients, positions, kept, axis=1)
        return self.inverse(coefficients) + bits_float(mean)[:, None]

    @property
    def _half_levels(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def _value_bits(self, kept: np.ndarray, scale: np.ndarray) -> np.ndarray:
        if self.bits in FLOAT_BITS:
            return float_bits(kept, self.bits)
        step = np.where(scale > 0, scale / self._half_levels, 1.0)[:, None]
        index = np.clip(np.rint(kept / step), -self._half_levels, self._half_levels) + self._half_levels
        return uint_bits(index.astype(np.uint64), self.bits)

    def _values(self, bits: np.ndarray, scale: np.ndarray) -> np.ndarray:
        if self.bits in FLOAT_BITS:
            return bits_float(bits).astype(np.float64)
        step = scale.astype(np.float64)[:, None] / self._half_levels
        return (bits_uint(bits).astype(np.float64) - self._half_levels) * step


def _round_up_float16(values: np.ndarray) -> np.ndarray:
    """``values`` as float16, each rounded up to the next float16 at or above it (a range that still covers it)."""
    with np.errstate(over="ignore"):
        rounded = values.astype(np.float16)
    low = rounded.astype(np.float64) < values
    rounded[low] = np.nextafter(rounded[low], np.float16(np.inf))
    if not np.all(np.isfinite(rounded)):
        raise ValueError("a coefficient exceeds float16's range (65504); rescale the recording's units")
    return rounded


def encode_modalities(codecs: list[TransformCodec], windows: np.ndarray) -> list[np.ndarray]:
    """Records per modality of ``(N, M, T)`` windows, one codec per modality."""
    if windows.ndim != 3 or windows.shape[1] != len(codecs):
        raise ValueError(f"expected (N, {len(codecs)}, T) windows for {len(codecs)} codecs, got shape {windows.shape}")
    return [codec.encode(windows[:, i]) for i, codec in enumerate(codecs)]


def decode_modalities(codecs: list[TransformCodec], records: list[np.ndarray]) -> np.ndarray:
    """``(N, M, T)`` windows from the records of :func:`encode_modalities`."""
    return np.stack([codec.decode(part) for codec, part in zip(codecs, records, strict=True)], axis=1)
