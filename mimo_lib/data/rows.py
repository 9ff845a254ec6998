"""Reading rows of window arrays, in memory or memory-mapped, without holding a mapped split resident.

A split opened by :meth:`mimo_lib.data.types.WindowSet.load` is a read-only
``np.memmap`` of its ``.npy`` file. Indexing it works like any array, but every
page it touches stays mapped into the process and counts towards its resident
memory until the mapping goes; over an epoch that is the whole split. The readers
here read the requested rows of such a file into a new array instead (through
the page cache, which the kernel reclaims as it needs), so what a process holds
is the rows it asked for. Arrays in memory are indexed as usual. Every reader
returns a new array with the source's dtype.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import pairwise
from typing import BinaryIO

import numpy as np

CHUNK_BYTES = 64 * 2**20


def backing_file(windows: np.ndarray) -> tuple[str, int] | None:
    """File name and data offset when ``windows`` maps the whole array of a ``.npy`` file, else ``None``."""
    if not isinstance(windows, np.memmap) or windows.filename is None or not windows.flags.c_contiguous:
        return None
    try:
        size = os.path.getsize(windows.filename)
    except OSError:
        return None
    # a view of part of the file keeps the offset of the whole; only the whole array ends at the file's end
    return (windows.filename, windows.offset) if windows.offset + windows.nbytes == size else None


def _read_into(handle: BinaryIO, buffer: np.ndarray, offset: int) -> None:
    """Fill ``buffer`` with the file's bytes from ``offset`` on."""
    view = memoryview(buffer).cast("B")
    handle.seek(offset)
    while len(view):
        count = handle.readinto(view)
        if not count:
            raise OSError(f"{handle.name}: the file ends {len(view)} bytes short of the rows asked for")
        view = view[count:]


def read_rows(windows: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``windows[indices]`` (``indices`` in ``[0, len(windows))``, any order, repeats allowed) as a new array."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(windows)):
        raise IndexError(f"row indices must lie in [0, {len(windows)}); got {indices.min()} .. {indices.max()}")
    source = backing_file(windows)
    if source is None:
        return windows[indices]  # integer-array indexing copies
    filename, offset = source
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    rows = np.empty((len(indices), *windows.shape[1:]), dtype=windows.dtype)
    row_bytes = rows[0].nbytes if len(rows) else 0
    # one read per run of consecutive rows
    bounds = [0, *(np.flatnonzero(np.diff(ordered) != 1) + 1).tolist(), len(ordered)]
    with open(filename, "rb", buffering=0) as handle:
        for first, stop in pairwise(bounds):
            if stop > first:
                _read_into(handle, rows[first:stop], offset + int(ordered[first]) * row_bytes)
    result = np.empty_like(rows)
    result[order] = rows
    return result


def read_span(windows: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` (clipped to the array, like a slice) as a new array."""
    start, stop, _ = slice(start, stop).indices(len(windows))
    if backing_file(windows) is None:
        return np.array(windows[start:stop])
    return read_rows(windows, np.arange(start, max(start, stop)))


def chunk_rows(windows: np.ndarray, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that a float64 copy of a chunk stays within ``chunk_bytes`` (at least one row)."""
    row = 8 * int(np.prod(windows.shape[1:], dtype=np.int64))
    return max(1, chunk_bytes // max(row, 1))


def row_chunks(windows: np.ndarray, rows: int | None = None) -> Iterator[np.ndarray]:
    """Consecutive chunks of ``rows`` rows (default :func:`chunk_rows`), each a new array."""
    rows = rows or chunk_rows(windows)
    for start in range(0, len(windows), rows):
        yield read_span(windows, start, start + rows)
