"""Whole recordings back from overlapping windows by tapered overlap-add.

Each stitched sample is the weighted mean of the windows covering it, weighted
by a taper that is largest mid-window and small, but never zero, at the window
edges. Autoencoders reconstruct window edges worst, so down-weighting edges
where a neighbouring window covers the same samples hides the joins; where a
single window covers a sample (the ends of the recording) its value is kept
as it is. Samples that no window covers are NaN.
"""

from __future__ import annotations

import numpy as np

TAPERS = ("hann", "boxcar")


def taper_weights(length: int, taper: str = "hann") -> np.ndarray:
    """Strictly positive weights for a window of ``length`` samples.

    ``"hann"`` is ``sin²(π (t + ½) / length)``: a Hann window sampled half a
    sample away from its zeros, so the smallest weight is ``sin²(π / (2 length)) > 0``
    and, for an even ``length``, windows overlapping by half sum to exactly 1.
    ``"boxcar"`` is all ones (plain averaging of overlapping windows).
    """
    if length < 1:
        raise ValueError(f"window length must be at least one sample, got {length}")
    if taper == "hann":
        return np.sin(np.pi * (np.arange(length) + 0.5) / length) ** 2
    if taper == "boxcar":
        return np.ones(length)
    raise ValueError(f"unknown taper {taper!r}; choose one of {TAPERS} or pass positive weights")


def _weights(taper: str | np.ndarray, length: int) -> np.ndarray:
    if isinstance(taper, str):
        return taper_weights(length, taper)
    weights = np.asarray(taper, dtype=np.float64)
    if weights.shape != (length,):
        raise ValueError(f"taper weights must have shape ({length},) to match the windows, got {weights.shape}")
    if not np.all(weights > 0):
        raise ValueError("taper weights must all be strictly positive (and finite)")
    return weights


def _check_starts(starts: np.ndarray, n_windows: int, window: int, length: int) -> np.ndarray:
    starts = np.asarray(starts)
    if starts.shape != (n_windows,):
        raise ValueError(f"starts must have shape ({n_windows},), one per window; got {starts.shape}")
    if not np.issubdtype(starts.dtype, np.integer):
        raise TypeError(
            f"starts must be integer sample offsets, got dtype {starts.dtype}; convert start times with window_starts_to_samples"
        )
    outside = (starts < 0) | (starts + window > length)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"window {first} (start {int(starts[first])}, {window} samples) lies outside the recording of {length} samples"
        )
    return starts.astype(np.int64)


def stitch(windows: np.ndarray, starts: np.ndarray, length: int, taper: str | np.ndarray = "hann") -> np.ndarray:
    """``(M, length)`` float64 recording from ``(N, M, T)`` windows starting at sample ``starts``.

    Overlap-add of the windows weighted by ``taper`` (a name from :data:`TAPERS`
    or ``T`` strictly positive weights), divided by the summed weights. NaN
    samples inside a window count as not covered by that window; samples no
    window covers are NaN.
    """
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 3:
        raise ValueError(f"windows must be (N, M, T), got shape {windows.shape}")
    n_windows, n_modalities, window = windows.shape
    if length < 1:
        raise ValueError(f"length must be at least one sample, got {length}")
    starts = _check_starts(starts, n_windows, window, length)
    weights = _weights(taper, window)
    finite = np.isfinite(windows)
    weighted = np.where(finite, windows * weights, 0.0)
    coverage = np.where(finite, weights, 0.0)
    positions = (starts[:, None] + np.arange(window)).ravel()
    stitched = np.full((n_modalities, length), np.nan)
    for m in range(n_modalities):
        total = np.bincount(positions, weights=weighted[:, m].ravel(), minlength=length)
        norm = np.bincount(positions, weights=coverage[:, m].ravel(), minlength=length)
        covered = norm > 0
        stitched[m, covered] = total[covered] / norm[covered]
    return stitched


def count_uncovered(stitched: np.ndarray) -> np.ndarray:
    """Number of NaN (uncovered) samples per modality of an ``(M, length)`` stitched recording."""
    stitched = np.asarray(stitched)
    if stitched.ndim != 2:
        raise ValueError(f"stitched must be (M, length), got shape {stitched.shape}")
    return np.isnan(stitched).sum(axis=1)


def window_starts_to_samples(starts_seconds: np.ndarray, rate: float, tolerance: float = 1e-3) -> np.ndarray:
    """Window start times in seconds as int64 sample offsets at ``rate`` Hz.

    Raises when a start is not within ``tolerance`` samples of a whole sample.
    """
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    samples = np.asarray(starts_seconds, dtype=np.float64) * rate
    if not np.all(np.isfinite(samples)):
        raise ValueError("window start times must all be finite")
    rounded = np.rint(samples)
    off = np.abs(samples - rounded) > tolerance
    if off.any():
        first = int(np.flatnonzero(off.ravel())[0])
        raise ValueError(
            f"start {np.ravel(starts_seconds)[first]} s is {np.ravel(samples)[first]:.4f} samples at {rate} Hz, "
            f"not a whole sample (tolerance {tolerance})"
        )
    return rounded.astype(np.int64)
