"""Windows coded as latent vectors: every latent number on ``bits`` bits, plus each window's scale.

One record per window, in whole bytes: the ``latent_dim`` numbers (uniform level
indices, or float16/float32 bit patterns), then the window's mean and standard
deviation per modality as float16 (:data:`SIDE_BITS` each), which the decoder
needs to return the window in recording units. A uniform quantiser's table (two
float32 ranges per latent dimension, and each dimension's depth when depths
differ) is stored once per code. The code's size is counted exactly: record
bytes plus that table (:attr:`LatentCode.n_bits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimo_lib.evaluation.codecs.bits import bits_uint, pack_records, record_bytes, uint_bits, unpack_records
from mimo_lib.evaluation.codecs.quantize import FLOAT_BITS, UniformQuantizer, bits_float, check_bits, float_bits

SIDE_BITS = 16


@dataclass(frozen=True)
class LatentCode:
    """``records`` ``(N, bytes)``: one per window; ``quantizer`` is set for the uniform formats (``bits`` 2 … 12,
    or ``None`` for a quantiser with a depth per dimension)."""

    records: np.ndarray
    bits: int | None
    latent_dim: int
    n_modalities: int
    quantizer: UniformQuantizer | None = None

    def __post_init__(self) -> None:
        if self.bits is None:
            if self.quantizer is None or not self.quantizer.per_dimension:
                raise ValueError("a latent code without one bit depth needs a quantiser with a depth per dimension")
        else:
            check_bits(self.bits)
            if (self.bits in FLOAT_BITS) != (self.quantizer is None):
                raise ValueError(f"a {self.bits}-bit latent code "
                                 f"{'takes no' if self.bits in FLOAT_BITS else 'needs a'} quantiser")
            if self.quantizer is not None and self.quantizer.per_dimension:
                raise ValueError(f"a {self.bits}-bit latent code cannot use a quantiser with a depth per dimension")
        if self.records.ndim != 2 or self.records.shape[1] != record_bytes(self.payload_bits):
            raise ValueError(f"records must be (N, {record_bytes(self.payload_bits)}) bytes for {self.latent_dim} "
                             f"numbers of {self.mean_bits:g} bits on average and {self.n_modalities} modalities; "
                             f"got {self.records.shape}")

    def __len__(self) -> int:
        return len(self.records)

    @property
    def depths(self) -> np.ndarray:
        """Bits of each latent number ``(latent_dim,)``."""
        if self.bits is None:
            return self.quantizer.depths
        return np.full(self.latent_dim, self.bits)

    @property
    def mean_bits(self) -> float:
        """Bits per latent number, on average over the dimensions."""
        return float(self.depths.mean())

    @property
    def payload_bits(self) -> int:
        """Bits of one window's fields before padding to whole bytes."""
        return int(self.depths.sum()) + 2 * self.n_modalities * SIDE_BITS

    @property
    def table_bits(self) -> int:
        """Bits stored once per code: the quantiser's table (none for float formats)."""
        return 0 if self.quantizer is None else self.quantizer.table_bits

    @property
    def n_bits(self) -> int:
        """Exact size of the code: every record's bytes plus the quantiser table."""
        return 8 * self.records.size + self.table_bits

    def decode(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latent vectors ``(N, latent_dim)`` and the float16 means and standard deviations ``(N, M)``, as float32."""
        m = self.n_modalities
        latent, mean, std = unpack_records(self.records, [int(self.depths.sum()), m * SIDE_BITS, m * SIDE_BITS])
        if self.quantizer is None:
            values = bits_float(latent.reshape(len(self), self.latent_dim, self.bits))
        else:
            values = self.quantizer.dequantize(_split_uint(latent, self.depths))
        scale = [bits_float(part.reshape(len(self), m, SIDE_BITS)) for part in (mean, std)]
        return values, scale[0], scale[1]


def _split_uint(bits: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Unsigned integers ``(N, D)`` from rows of ``D`` fields of ``widths`` bits side by side."""
    if np.all(widths == widths[0]):
        return bits_uint(bits.reshape(len(bits), len(widths), int(widths[0])))
    fields = np.split(bits, np.cumsum(widths)[:-1], axis=1)
    return np.stack([bits_uint(field) for field in fields], axis=1)


def _join_uint(values: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Bits ``(N, Σ widths)`` of ``(N, D)`` unsigned integers, column ``j`` on ``widths[j]`` bits."""
    if np.all(widths == widths[0]):
        return uint_bits(values, int(widths[0])).reshape(len(values), -1)
    return np.concatenate([uint_bits(values[:, j], int(width)) for j, width in enumerate(widths)], axis=1)


def encode_latent(
    latent: np.ndarray, mean: np.ndarray, std: np.ndarray, bits: int | np.ndarray,
    quantizer: UniformQuantizer | None = None,
) -> LatentCode:
    """Code ``(N, D)`` latent vectors with per-window ``mean``/``std`` ``(N, M)`` on ``bits`` bits per number.

    ``bits`` is a format (:func:`~mimo_lib.evaluation.codecs.quantize.check_bits`) or
    one depth per dimension (uniform, e.g. from :func:`~mimo_lib.evaluation.codecs.quantize.allocate_depths`).
    Uniform formats use ``quantizer`` (its ``bits`` must match) or, without one,
    a quantiser fitted on ``latent`` itself (its minimum and maximum per dimension).
    """
    per_dimension = np.ndim(bits) > 0
    if not per_dimension:
        check_bits(bits)
    latent = np.asarray(latent, np.float32)
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    if latent.ndim != 2 or mean.shape != std.shape or mean.shape[:1] != latent.shape[:1] or mean.ndim != 2:
        raise ValueError(f"expected latent (N, D) and mean, std (N, M); got {latent.shape}, {mean.shape}, {std.shape}")
    side = np.concatenate([mean, std], axis=1)
    with np.errstate(over="ignore"):
        representable = np.all(np.isfinite(side.astype(np.float16)))
    if not representable:
        raise ValueError("a window's mean or standard deviation is not finite as float16 (|value| > 65504 or NaN); "
                         "rescale the recording's units")
    if not per_dimension and bits in FLOAT_BITS:
        quantizer, values = None, float_bits(latent, bits)
    else:
        quantizer = quantizer or UniformQuantizer.fit(latent, bits)
        if not np.array_equal(quantizer.bits, bits) or len(quantizer.low) != latent.shape[1]:
            raise ValueError(f"quantiser of {quantizer.bits} bits and {len(quantizer.low)} dimensions cannot code "
                             f"{latent.shape[1]} numbers on {bits} bits")
        values = _join_uint(quantizer.quantize(latent), quantizer.depths)
    records = pack_records([values, float_bits(mean, SIDE_BITS), float_bits(std, SIDE_BITS)])
    return LatentCode(records, None if per_dimension else bits, latent.shape[1], mean.shape[1], quantizer)
