"""Windows coded as latent vectors: every latent number on ``bits`` bits, plus each window's scale.

One record per window, in whole bytes: the ``latent_dim`` numbers (uniform level
indices, or float16/float32 bit patterns), then the window's mean and standard
deviation per modality as float16 (:data:`SIDE_BITS` each), which the decoder
needs to return the window in recording units. A uniform quantiser's ranges
(two float32 per latent dimension) are stored once per code. The code's size
is counted exactly: record bytes plus that table (:attr:`LatentCode.n_bits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mimo_lib.evaluation.codecs.bits import bits_uint, pack_records, record_bytes, uint_bits, unpack_records
from mimo_lib.evaluation.codecs.quantize import FLOAT_BITS, UniformQuantizer, bits_float, check_bits, float_bits

SIDE_BITS = 16


@dataclass(frozen=True)
class LatentCode:
    """``records`` ``(N, bytes)``: one per window; ``quantizer`` is set for the uniform formats (``bits`` 2 … 12)."""

    records: np.ndarray
    bits: int
    latent_dim: int
    n_modalities: int
    quantizer: UniformQuantizer | None = None

    def __post_init__(self) -> None:
        check_bits(self.bits)
        if (self.bits in FLOAT_BITS) != (self.quantizer is None):
            raise ValueError(f"a {self.bits}-bit latent code {'takes no' if self.bits in FLOAT_BITS else 'needs a'} quantiser")
        if self.records.ndim != 2 or self.records.shape[1] != record_bytes(self.payload_bits):
            raise ValueError(f"records must be (N, {record_bytes(self.payload_bits)}) bytes for {self.latent_dim} "
                             f"numbers of {self.bits} bits and {self.n_modalities} modalities; got {self.records.shape}")

    def __len__(self) -> int:
        return len(self.records)

    @property
    def payload_bits(self) -> int:
        """Bits of one window's fields before padding to whole bytes."""
        return self.latent_dim * self.bits + 2 * self.n_modalities * SIDE_BITS

    @property
    def table_bits(self) -> int:
        """Bits stored once per code: the quantiser's ranges (none for float formats)."""
        return 0 if self.quantizer is None else self.quantizer.table_bits

    @property
    def n_bits(self) -> int:
        """Exact size of the code: every record's bytes plus the quantiser table."""
        return 8 * self.records.size + self.table_bits

    def decode(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latent vectors ``(N, latent_dim)`` and the float16 means and standard deviations ``(N, M)``, as float32."""
        m = self.n_modalities
        latent, mean, std = unpack_records(self.records, [self.latent_dim * self.bits, m * SIDE_BITS, m * SIDE_BITS])
        latent = latent.reshape(len(self), self.latent_dim, self.bits)
        values = bits_float(latent) if self.quantizer is None else self.quantizer.dequantize(bits_uint(latent))
        scale = [bits_float(part.reshape(len(self), m, SIDE_BITS)) for part in (mean, std)]
        return values, scale[0], scale[1]


def encode_latent(
    latent: np.ndarray, mean: np.ndarray, std: np.ndarray, bits: int, quantizer: UniformQuantizer | None = None
) -> LatentCode:
    """Code ``(N, D)`` latent vectors with per-window ``mean``/``std`` ``(N, M)`` on ``bits`` bits per number.

    Uniform formats use ``quantizer`` (its ``bits`` must match) or, without one,
    a quantiser fitted on ``latent`` itself (its minimum and maximum per dimension).
    """
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
    if bits in FLOAT_BITS:
        quantizer, values = None, float_bits(latent, bits)
    else:
        quantizer = quantizer or UniformQuantizer.fit(latent, bits)
        if quantizer.bits != bits or len(quantizer.low) != latent.shape[1]:
            raise ValueError(f"quantiser of {quantizer.bits} bits and {len(quantizer.low)} dimensions cannot code "
                             f"{latent.shape[1]} numbers on {bits} bits")
        values = uint_bits(quantizer.quantize(latent), bits)
    records = pack_records([values, float_bits(mean, SIDE_BITS), float_bits(std, SIDE_BITS)])
    return LatentCode(records, bits, latent.shape[1], mean.shape[1], quantizer)
