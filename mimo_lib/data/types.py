"""The two data types that move through the pipeline: a Recording and a WindowSet."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mimo_lib.data.rows import row_chunks
from mimo_lib.data.storage import atomic_file, open_npy, write_npy


@dataclass
class Recording:
    """One subject's signals as loaded from a source, before any processing.

    ``signals[m]`` is a 1-D float array sampled at ``rates[m]`` Hz; modalities may
    have different rates and lengths. ``origin`` names the file or record so
    errors and reports can point at it.
    """

    subject: str
    signals: dict[str, np.ndarray]
    rates: dict[str, float]
    origin: str = ""
    units: dict[str, str] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        return list(self.signals)

    def duration(self, modality: str) -> float:
        """Length of one modality in seconds."""
        return len(self.signals[modality]) / self.rates[modality]


@dataclass
class WindowSet:
    """Prepared, normalised windows of one split.

    ``windows`` is float32 ``(N, M, T)``; ``subjects[i]`` and ``starts[i]`` (seconds
    from the start of that subject's recording) locate window ``i``.
    ``normalization`` holds what is needed to undo the normalisation:
    ``{"method": str, "mean": array, "std": array}`` where the arrays broadcast
    against ``windows`` (``(N, M, 1)`` per window, ``(1, M, 1)`` global) .
    ``dropped`` counts windows removed per subject and reason.

    ``windows`` may be a read-only ``np.memmap`` of a saved set (:meth:`load`);
    read batches of it with :mod:`mimo_lib.data.rows` to keep it out of memory.
    """

    windows: np.ndarray
    subjects: np.ndarray
    starts: np.ndarray
    modalities: list[str]
    rate: float
    normalization: dict[str, Any]
    provenance: str = ""
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.windows.ndim != 3:
            raise ValueError(f"windows must be (N, M, T), got shape {self.windows.shape}")
        n, m, _ = self.windows.shape
        if m != len(self.modalities):
            raise ValueError(f"windows have {m} modalities but {len(self.modalities)} names: {self.modalities}")
        if len(self.subjects) != n or len(self.starts) != n:
            raise ValueError(f"{n} windows but {len(self.subjects)} subjects and {len(self.starts)} start times")

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def window_length(self) -> int:
        return self.windows.shape[-1]

    def denormalize(self, values: np.ndarray, index: np.ndarray | slice | None = None) -> np.ndarray:
        """Undo the normalisation of ``values`` shaped like ``windows[index]``."""
        mean = np.asarray(self.normalization["mean"])
        std = np.asarray(self.normalization["std"])
        if mean.shape[0] > 1 and index is not None:
            mean, std = mean[index], std[index]
        return values * std + mean

    def subset(self, mask: np.ndarray) -> WindowSet:
        """The windows where ``mask`` is true (per-window statistics follow)."""
        norm = dict(self.normalization)
        for key in ("mean", "std"):
            stats = np.asarray(norm[key])
            if stats.shape[0] == len(self):
                norm[key] = stats[mask]
        return WindowSet(
            self.windows[mask], self.subjects[mask], self.starts[mask], list(self.modalities),
            self.rate, norm, self.provenance, self.dropped,
        )

    def save(self, path: str | Path) -> Path:
        """Write the windows to ``<stem>.windows.npy``, then the rest to ``path`` (``.npz``); each atomically."""
        path = Path(path)
        write_npy(windows_path(path), self.windows.shape, row_chunks(self.windows))
        return self.save_index(path)

    def save_index(self, path: str | Path) -> Path:
        """Write everything but the windows to ``path`` (``.npz``, atomically); the windows must already be
        at :func:`windows_path` of it. Written last, this file marks the pair complete."""
        path = Path(path)
        meta = {
            "modalities": self.modalities, "rate": self.rate, "provenance": self.provenance,
            "dropped": self.dropped, "normalization_method": self.normalization["method"],
            "windows_file": windows_path(path).name,
        }
        with atomic_file(path) as handle:
            np.savez(
                handle, subjects=self.subjects.astype(str), starts=self.starts.astype(np.float64),
                norm_mean=np.asarray(self.normalization["mean"]), norm_std=np.asarray(self.normalization["std"]),
                meta=np.array(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> WindowSet:
        """Read a set written by :meth:`save`; the windows memory-mapped read-only (``mmap``) or read whole."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if "windows" in data.files:  # the single-file layout: windows inside the .npz
                    windows = data["windows"]
                else:
                    windows = open_npy(path.parent / meta["windows_file"], mmap)
                return cls(
                    windows=windows, subjects=data["subjects"], starts=data["starts"],
                    modalities=meta["modalities"], rate=float(meta["rate"]),
                    normalization={"method": meta["normalization_method"], "mean": data["norm_mean"],
                                   "std": data["norm_std"]},
                    provenance=meta["provenance"], dropped=meta["dropped"],
                )
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"cannot read prepared windows from {path}: {error}") from error


def windows_path(path: str | Path) -> Path:
    """Where the windows of the set saved at ``path`` (``<stem>.npz``) live: ``<stem>.windows.npy`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.windows.npy")
