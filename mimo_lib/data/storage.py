"""Files that appear only complete, and ``.npy`` arrays written a chunk of rows at a time.

:func:`atomic_file` writes to a temporary file in the target's folder, flushes it
to disk and renames it over the target (``os.replace``), so a reader sees either
the old file or the whole new one; an interrupted writer leaves at most a
``.<name>.*.tmp`` file, which nothing reads. :func:`write_npy` streams the rows of
an array whose shape is known up front, so an array larger than memory is
written without ever being held whole. :func:`exclusive_lock` lets one process at
a time write into a folder (e.g. every rank of a ``torchrun`` job preparing the
same cache).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import numpy as np

TMP_SUFFIX = ".tmp"


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` when the block ends without an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block; waits while another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_temporary_files(folder: Path) -> None:
    """Delete what interrupted :func:`atomic_file` writers left under ``folder`` (call only while no writer runs)."""
    for leftover in folder.rglob(f".*{TMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def write_npy(path: Path, shape: tuple[int, ...], chunks: Iterable[np.ndarray], dtype: type = np.float32) -> Path:
    """Write a C-order ``.npy`` of ``shape`` from consecutive row chunks, atomically.

    The chunks' rows must add up to ``shape[0]`` and each row must have shape ``shape[1:]``.
    """
    dtype = np.dtype(dtype)
    with atomic_file(path) as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)})
        rows = 0
        for chunk in chunks:
            if chunk.shape[1:] != tuple(shape[1:]):
                raise ValueError(f"{path}: a chunk of rows shaped {chunk.shape[1:]}; the array's rows are {shape[1:]}")
            handle.write(np.ascontiguousarray(chunk, dtype=dtype).data)
            rows += len(chunk)
        if rows != shape[0]:
            raise ValueError(f"{path}: {rows} rows written for an array of {shape[0]}")
    return path


def open_npy(path: Path, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` array, memory-mapped read-only (``mmap``) or read whole."""
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
