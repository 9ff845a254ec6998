"""Normalisation of windows ``(N, M, T)``: per-window, global or per-subject z-scores.

Each method returns the normalised windows and the ``{"method", "mean", "std"}``
mapping stored in :attr:`mimo_lib.data.types.WindowSet.normalization`; ``mean`` and
``std`` broadcast against the windows, so ``windows * std + mean`` undoes it.

- ``window``: every window and modality is z-scored on its own (``(N, M, 1)``).
- ``global``: one mean/std per modality, fitted on the training windows only and
  applied unchanged to every split (``(1, M, 1)``). The statistics are merged from
  per-subject :class:`Moments`, so they need one subject's windows at a time.
- ``subject``: one mean/std per subject and modality, fitted on that subject's own
  windows (stored per window, ``(N, M, 1)``). Validation and test subjects are
  normalised with their own statistics, as a new wearer's recording would be
  calibrated on itself; nothing from them enters another subject's statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("window", "subject", "global")


def _safe_std(std: np.ndarray) -> np.ndarray:
    return np.where(std > 0, std, 1.0)


def zscore_windows(windows: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Z-score each window and modality on its own."""
    x = np.asarray(windows, dtype=np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    std = _safe_std(x.std(axis=-1, keepdims=True))
    return ((x - mean) / std).astype(np.float32), {"method": "window", "mean": mean, "std": std}


@dataclass(frozen=True)
class Moments:
    """Samples per modality, their mean and their sum of squared deviations (``(M,)``); merging two is exact."""

    samples: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, windows: np.ndarray) -> Moments:
        """Moments of ``(N, M, T)`` windows over windows and time."""
        x = np.asarray(windows, dtype=np.float64)
        samples = x.shape[0] * x.shape[2]
        if not samples:
            return cls(0, np.zeros(x.shape[1]), np.zeros(x.shape[1]))
        mean = x.sum(axis=(0, 2), keepdims=True) / samples
        m2 = ((x - mean) ** 2).sum(axis=(0, 2))
        return cls(samples, mean.reshape(-1), m2)

    def merge(self, other: Moments) -> Moments:
        """Moments of both sets of windows together (Chan, Golub and LeVeque's pairwise update)."""
        if not other.samples:
            return self
        if not self.samples:
            return other
        samples = self.samples + other.samples
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.samples / samples)
        m2 = self.m2 + other.m2 + delta**2 * (self.samples * other.samples / samples)
        return Moments(samples, mean, m2)

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std per modality shaped ``(1, M, 1)`` (a zero std read as 1)."""
        if not self.samples:
            raise ValueError("cannot fit global normalisation statistics on zero training windows")
        shape = (1, -1, 1)
        return self.mean.reshape(shape), _safe_std(np.sqrt(self.m2 / self.samples)).reshape(shape)


def fit_global(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per modality over all windows, shaped ``(1, M, 1)``."""
    return Moments.of(windows).stats()


def apply_stats(
    windows: np.ndarray, mean: np.ndarray, std: np.ndarray, method: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Normalise with given statistics."""
    normalised = (np.asarray(windows, dtype=np.float64) - mean) / std
    return normalised.astype(np.float32), {"method": method, "mean": mean, "std": std}


def subject_stats(windows: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window copies of each subject's mean and std per modality, shaped ``(N, M, 1)``."""
    x = np.asarray(windows, dtype=np.float64)
    mean = np.empty((len(x), x.shape[1], 1))
    std = np.empty_like(mean)
    for subject in np.unique(subjects):
        rows = subjects == subject
        mean[rows], std[rows] = fit_global(x[rows])
    return mean, std


def normalize(
    windows: np.ndarray,
    subjects: np.ndarray | None,
    method: str,
    global_stats: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Normalise one set of raw windows; ``global`` needs the statistics fitted on the training windows."""
    if method not in METHODS:
        raise ValueError(f"normalization must be one of {METHODS}, got {method!r}")
    if method == "window":
        return zscore_windows(windows)
    if method == "subject":
        return apply_stats(windows, *subject_stats(windows, subjects), "subject")
    if global_stats is None:
        raise ValueError("normalization=global needs the mean and std fitted on the training windows")
    return apply_stats(windows, *global_stats, "global")


def denormalize(normalised: np.ndarray, normalization: dict[str, Any]) -> np.ndarray:
    """Undo a normalisation: ``normalised * std + mean``."""
    return np.asarray(normalised) * normalization["std"] + normalization["mean"]
