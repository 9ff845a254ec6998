"""Exact bit accounting: fixed-width fields packed into whole bytes, and a set of positions as one integer.

A record is a row of bit fields, each ``(N, width)`` of 0/1 (most significant
bit first), concatenated and packed into whole bytes per row
(:func:`pack_records`); :func:`unpack_records` splits the bytes back into the
fields. Fields come from unsigned integers up to 64 bits (:func:`uint_bits`),
float16/float32 bit patterns, or Python integers of any width
(:func:`int_bits`), such as the rank of a subset (:class:`SubsetRank`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np


def uint_bits(values: np.ndarray, width: int) -> np.ndarray:
    """Bits ``(..., width)`` of unsigned integers below ``2**width`` (``width`` at most 64), most significant first."""
    if not 0 <= width <= 64:
        raise ValueError(f"field width must be 0..64 bits, got {width}")
    values = np.asarray(values, dtype=np.uint64)
    if width < 64 and values.size and int(values.max()) >> width:
        raise ValueError(f"value {int(values.max())} does not fit in {width} bits")
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    return ((values[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)


def bits_uint(bits: np.ndarray) -> np.ndarray:
    """Unsigned integers (uint64) from bits ``(..., width)``, most significant first (inverse of :func:`uint_bits`)."""
    width = bits.shape[-1]
    weights = np.uint64(1) << np.arange(width - 1, -1, -1, dtype=np.uint64)
    return (bits.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64)


def int_bits(values: Sequence[int], width: int) -> np.ndarray:
    """Bits ``(N, width)`` of non-negative Python integers below ``2**width`` (any width)."""
    too_big = [v for v in values if v < 0 or v >> width]
    if too_big:
        raise ValueError(f"value {too_big[0]} does not fit in {width} unsigned bits")
    n_bytes = (width + 7) // 8
    raw = np.frombuffer(b"".join(v.to_bytes(n_bytes, "big") for v in values), np.uint8)
    return np.unpackbits(raw.reshape(len(values), n_bytes), axis=1)[:, 8 * n_bytes - width:]


def bits_int(bits: np.ndarray) -> list[int]:
    """Python integers from bits ``(N, width)``, most significant first (inverse of :func:`int_bits`)."""
    padded = np.pad(bits, ((0, 0), ((-bits.shape[1]) % 8, 0)))
    return [int.from_bytes(row.tobytes(), "big") for row in np.packbits(padded, axis=1)]


def pack_records(fields: Sequence[np.ndarray]) -> np.ndarray:
    """Fields ``(N, width_i)`` of bits side by side, packed into ``(N, ceil(Σ width_i / 8))`` bytes (zero padded)."""
    return np.packbits(np.concatenate([f.reshape(len(f), -1) for f in fields], axis=1).astype(np.uint8), axis=1)


def unpack_records(records: np.ndarray, widths: Sequence[int]) -> list[np.ndarray]:
    """The bit fields of ``widths`` read back from ``(N, bytes)`` records (inverse of :func:`pack_records`)."""
    total = sum(widths)
    if records.shape[1] != record_bytes(total):
        raise ValueError(f"records of {records.shape[1]} bytes cannot hold fields of {total} bits "
                         f"({record_bytes(total)} bytes expected)")
    bits = np.unpackbits(records, axis=1)[:, :total]
    return np.split(bits, np.cumsum(widths)[:-1], axis=1)


def record_bytes(bits: int) -> int:
    """Whole bytes holding ``bits`` bits."""
    return (bits + 7) // 8


class SubsetRank:
    """The ``k``-element subsets of ``n`` positions numbered ``0 … C(n, k) - 1`` (combinatorial number system).

    A subset ``c_0 < c_1 < … < c_{k-1}`` has rank ``Σ_i C(c_i, i + 1)``, so it is
    stored in exactly ``ceil(log2 C(n, k))`` bits (:func:`subset_bits`). The table
    of binomials grows to the largest ``k`` asked for.
    """

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"the number of positions must be >= 0, got {n}")
        self.n = n
        self._columns: list[list[int]] = []  # column j: C(c, j + 1) for c = 0 … n - 1, non-decreasing in c

    def _table(self, k: int) -> list[list[int]]:
        if not 0 <= k <= self.n:
            raise ValueError(f"a subset of {k} positions out of {self.n} needs 0 <= k <= n")
        for j in range(len(self._columns), k):
            self._columns.append([math.comb(c, j + 1) for c in range(self.n)])
        return self._columns

    def rank(self, positions: np.ndarray) -> list[int]:
        """Rank of each row of ``(N, k)`` distinct positions (any order)."""
        positions = np.sort(np.asarray(positions), axis=1)
        table = self._table(positions.shape[1])
        return [sum(table[j][c] for j, c in enumerate(row)) for row in positions.tolist()]

    def unrank(self, ranks: Sequence[int], k: int) -> np.ndarray:
        """Positions ``(N, k)`` in increasing order of each rank (inverse of :meth:`rank`)."""
        table = self._table(k)
        rows = np.empty((len(ranks), k), dtype=np.int64)
        for i, rank in enumerate(ranks):
            for j in range(k - 1, -1, -1):
                c = bisect.bisect_right(table[j], rank) - 1
                rows[i, j] = c
                rank -= table[j][c]
        return rows


@lru_cache(maxsize=8)
def subset_rank(n: int) -> SubsetRank:
    """A shared :class:`SubsetRank` per ``n`` (its table of binomials is built once)."""
    return SubsetRank(n)


def subset_bits(n: int, k: int) -> int:
    """Bits of a rank among the ``C(n, k)`` subsets: ``ceil(log2 C(n, k))`` (0 when there is one subset)."""
    return (math.comb(n, k) - 1).bit_length()
