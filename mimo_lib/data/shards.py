"""One subject's prepared windows on disk while a prepare runs: a shard per subject, written atomically.

A shard (``<folder>/<split>/<subject>.npz``, the subject id percent-encoded) holds
the subject's kept windows, their start times and the windows dropped per reason.
Windows are final (normalised, float32) for the ``window`` and ``subject``
methods, which need nothing beyond the subject itself; for ``global`` they are
raw (float64) together with their :class:`~mimo_lib.data.normalization.Moments`,
since their statistics come from the whole training split. A shard file appears
only complete (:func:`mimo_lib.data.storage.atomic_file`), so its presence marks
the subject done: an interrupted prepare resumes with the subjects that have none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from mimo_lib.data.normalization import Moments
from mimo_lib.data.storage import atomic_file


@dataclass
class Shard:
    """One subject's windows: normalised (``normalization`` set) or raw with their ``moments``."""

    subject: str
    windows: np.ndarray
    starts: np.ndarray
    dropped: dict[str, int]
    normalization: dict[str, Any] | None = None
    moments: Moments | None = None


@dataclass
class ShardSummary:
    """What a shard says without its windows: the subject, its window count, drops and raw moments."""

    subject: str
    count: int
    dropped: dict[str, int]
    moments: Moments | None


def shard_path(folder: Path, split: str, subject: str) -> Path:
    """The shard file of ``subject`` in ``split``."""
    return folder / split / f"{quote(subject, safe='')}.npz"


def write_shard(path: Path, shard: Shard) -> Path:
    """Write ``shard`` atomically."""
    arrays: dict[str, np.ndarray] = {"windows": shard.windows, "starts": np.asarray(shard.starts, dtype=np.float64)}
    if shard.normalization is not None:
        arrays.update(mean=np.asarray(shard.normalization["mean"]), std=np.asarray(shard.normalization["std"]))
    if shard.moments is not None:
        arrays.update(moment_mean=shard.moments.mean, moment_m2=shard.moments.m2)
    meta = {"subject": shard.subject, "count": len(shard.windows), "dropped": shard.dropped,
            "method": shard.normalization["method"] if shard.normalization is not None else None,
            "samples": shard.moments.samples if shard.moments is not None else None}
    with atomic_file(path) as handle:
        np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
    return path


@contextmanager
def _opened(path: Path) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The shard's arrays (read on access) and metadata; a read error names the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            yield data, json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"cannot read the prepared shard {path}: {error}; prepare again with force=True") from error


def _moments(data: Any, meta: dict[str, Any]) -> Moments | None:
    if meta["samples"] is None:
        return None
    return Moments(int(meta["samples"]), data["moment_mean"], data["moment_m2"])


def read_summary(path: Path) -> ShardSummary:
    """The summary of a shard, without reading its windows."""
    with _opened(path) as (data, meta):
        return ShardSummary(meta["subject"], int(meta["count"]), meta["dropped"], _moments(data, meta))


def read_shard(path: Path) -> Shard:
    """Read a shard written by :func:`write_shard`."""
    with _opened(path) as (data, meta):
        normalization = None
        if meta["method"] is not None:
            normalization = {"method": meta["method"], "mean": data["mean"], "std": data["std"]}
        return Shard(meta["subject"], data["windows"], data["starts"], meta["dropped"], normalization,
                     _moments(data, meta))
