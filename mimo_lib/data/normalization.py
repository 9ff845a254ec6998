"""Normalisation of windows ``(N, M, T)``: per-window, global or per-subject z-scores.

Each method returns the normalised windows and the ``{"method", "mean", "std"}``
mapping stored in :attr:`mimo_lib.data.types.WindowSet.normalization`; ``mean`` and
``std`` broadcast against the windows, so ``windows * std + mean`` undoes it.

- ``window``: every window and modality is z-scored on its own (``(N, M, 1)``).
- ``global``: one mean/std per modality, fitted on the training windows only and
  applied unchanged to every split (``(1, M, 1)``).
- ``subject``: one mean/std per subject and modality, fitted on that subject's own
  windows (stored per window, ``(N, M, 1)``). Validation and test subjects are
  normalised with their own statistics, as a new wearer's recording would be
  calibrated on itself; nothing from them enters another subject's statistics.
"""

from __future__ import annotations

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


def fit_global(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per modality over all windows, shaped ``(1, M, 1)``."""
    x = np.asarray(windows, dtype=np.float64)
    if not len(x):
        raise ValueError("cannot fit global normalisation statistics on zero training windows")
    return x.mean(axis=(0, 2), keepdims=True), _safe_std(x.std(axis=(0, 2), keepdims=True))


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


def normalize_sets(
    windows: dict[str, np.ndarray], subjects: dict[str, np.ndarray], method: str
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Normalise the raw windows of every split with ``method`` (global stats from ``train`` only)."""
    global_stats = None
    if method == "global":
        if "train" not in windows:
            raise ValueError("preprocessing.normalization=global needs a train split to fit its statistics on")
        global_stats = fit_global(windows["train"])
    return {split: normalize(x, subjects.get(split), method, global_stats) for split, x in windows.items()}


def denormalize(normalised: np.ndarray, normalization: dict[str, Any]) -> np.ndarray:
    """Undo a normalisation: ``normalised * std + mean``."""
    return np.asarray(normalised) * normalization["std"] + normalization["mean"]
