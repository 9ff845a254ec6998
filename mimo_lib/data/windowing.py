"""Gaps, windows and window quality checks, all vectorised over the whole recording.

Quality checks count samples with cumulative sums, so each check costs O(n) for
the recording, not O(windows x window length).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

DROP_REASONS = ("gap", "flat", "clipped")
# How a fit may learn from a sample: its value, a bound (clipped at the highest / lowest value), or nothing.
EXACT, AT_MAX, AT_MIN, UNUSABLE = 0, 1, -1, 2


def nan_runs(signal: np.ndarray) -> np.ndarray:
    """``(k, 2)`` array of ``[start, stop)`` sample indices of the runs of NaN in ``signal``."""
    isnan = np.isnan(signal).astype(np.int8)
    edges = np.diff(np.concatenate(([0], isnan, [0])))
    return np.column_stack((np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def fill_short_gaps(
    signal: np.ndarray, sampling_rate: float, max_gap_seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate every NaN run; return the filled signal and a mask of long gaps.

    Runs of at most ``max_gap_seconds`` are repaired for good. Longer runs are filled
    too, only so that filters can run over them; they are ``True`` in the returned
    mask and windows touching them must be dropped (see :func:`windows_touching`).
    """
    signal = np.asarray(signal, dtype=np.float64)
    mask = np.zeros(signal.shape, dtype=bool)
    runs = nan_runs(signal)
    if not len(runs):
        return signal.copy(), mask
    valid = ~np.isnan(signal)
    if not valid.any():
        raise ValueError("signal is all NaN")
    index = np.arange(len(signal))
    filled = signal.copy()
    filled[~valid] = np.interp(index[~valid], index[valid], signal[valid])
    max_gap = int(np.floor(max_gap_seconds * sampling_rate + 1e-9))
    for start, stop in runs[runs[:, 1] - runs[:, 0] > max_gap]:
        mask[start:stop] = True
    return filled, mask


def window_count(n_samples: int, window: int, stride: int) -> int:
    """Number of whole windows: ``floor((n - window) / stride) + 1``, 0 when ``n < window``."""
    if window < 1 or stride < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be at least one sample")
    return 0 if n_samples < window else (n_samples - window) // stride + 1


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start sample of each whole window."""
    return np.arange(window_count(n_samples, window, stride)) * stride


def slice_windows(signals: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Windows of ``(M, n)`` signals as a read-only ``(N, M, window)`` view."""
    signals = np.atleast_2d(signals)
    count = window_count(signals.shape[-1], window, stride)
    view = sliding_window_view(signals, window, axis=-1)[:, : (count - 1) * stride + 1 : stride]
    return view.transpose(1, 0, 2)


def native_windows(starts_seconds: np.ndarray, window_seconds: float, sampling_rate: float) -> tuple[np.ndarray, int]:
    """Start indices and length, in samples at ``sampling_rate``, of windows given in seconds."""
    starts = np.rint(np.asarray(starts_seconds) * sampling_rate).astype(np.int64)
    return starts, max(1, int(round(window_seconds * sampling_rate)))


def windows_touching(mask: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Which windows ``[start, start + length)`` contain at least one ``True`` of ``mask``."""
    counts = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    stops = np.minimum(starts + length, len(mask))
    return counts[stops] - counts[np.minimum(starts, len(mask))] > 0


def _flat_ends(signal: np.ndarray, span: int, flat_std: float) -> np.ndarray:
    """Where a stretch of ``span`` samples whose standard deviation is below ``flat_std`` ends."""
    # pandas' rolling variance is O(n) and exactly 0 on constant stretches.
    rolling_std = pd.Series(signal).rolling(span).std(ddof=0).to_numpy()
    return np.nan_to_num(rolling_std, nan=np.inf) < max(flat_std, np.finfo(float).tiny)


def flat_windows(
    signal: np.ndarray, starts: np.ndarray, length: int, sampling_rate: float, flat_std: float, flat_seconds: float
) -> np.ndarray:
    """Windows holding a stretch of ``flat_seconds`` whose standard deviation is below ``flat_std``."""
    span = min(length, max(2, int(round(flat_seconds * sampling_rate))))
    # a stretch ending at e lies in the window when start + span - 1 <= e < start + length
    return windows_touching(_flat_ends(signal, span, flat_std), starts + span - 1, length - span + 1)


def flat_samples(signal: np.ndarray, sampling_rate: float, flat_std: float, flat_seconds: float) -> np.ndarray:
    """Samples inside a stretch of ``flat_seconds`` whose standard deviation is below ``flat_std``."""
    span = min(len(signal), max(2, round(flat_seconds * sampling_rate)))
    # sample i lies in the stretch ending at e when e - span < i <= e
    return windows_touching(_flat_ends(signal, span, flat_std), np.arange(len(signal)), span)


def censored_samples(signal: np.ndarray) -> np.ndarray:
    """Per sample :data:`AT_MAX` where the signal holds its highest value for two samples or more, :data:`AT_MIN`
    its lowest, else :data:`EXACT`: a sensor at the rails of its amplifier (the clipping :func:`clipped_windows`
    counts) shows only a bound on the true value. A lone extreme sample is a peak, not a rail."""
    side = np.full(len(signal), EXACT, dtype=np.int8)
    finite = signal[np.isfinite(signal)]
    if not len(finite):
        return side
    for value, mark in ((finite.max(), AT_MAX), (finite.min(), AT_MIN)):
        at = signal == value
        held = at & (np.r_[False, at[:-1]] | np.r_[at[1:], False])
        side[held] = mark
    return side


def clipped_windows(signal: np.ndarray, starts: np.ndarray, length: int, clip_fraction: float,
                    chunk: int = 512) -> np.ndarray:
    """Windows where more than ``clip_fraction`` of the samples sit at the window's minimum or maximum."""
    view = sliding_window_view(signal, length)
    at_edge = np.empty(len(starts), dtype=np.int64)
    for begin in range(0, len(starts), chunk):
        rows = view[starts[begin : begin + chunk]]
        low = rows.min(axis=1, keepdims=True)
        high = rows.max(axis=1, keepdims=True)
        at_edge[begin : begin + chunk] = ((rows == low) | (rows == high)).sum(axis=1)
    return at_edge > clip_fraction * length


def quality_reasons(
    signal: np.ndarray,
    gap_mask: np.ndarray,
    starts_seconds: np.ndarray,
    window_seconds: float,
    sampling_rate: float,
    flat_std: float,
    flat_seconds: float,
    clip_fraction: float,
) -> dict[str, np.ndarray]:
    """Per-window failures of one modality at its native rate: ``{reason: bool (N,)}``.

    ``signal`` is the gap-filled, unfiltered signal (clipping and flat lines are
    properties of the raw samples; filtering would smear them).
    """
    starts, length = native_windows(starts_seconds, window_seconds, sampling_rate)
    inside = starts + length <= len(signal)
    starts = np.where(inside, starts, len(signal) - length)
    return {
        "gap": windows_touching(gap_mask, starts, length),
        "flat": flat_windows(signal, starts, length, sampling_rate, flat_std, flat_seconds),
        "clipped": clipped_windows(signal, starts, length, clip_fraction),
    }


def first_reason(failures: list[dict[str, np.ndarray]], n_windows: int) -> np.ndarray:
    """One drop reason per window (``""`` = kept), in the priority order of ``DROP_REASONS``.

    A window is dropped when any modality fails; it is counted once, under the
    first reason that applies.
    """
    reason = np.full(n_windows, "", dtype=object)
    for name in reversed(DROP_REASONS):
        failed = np.zeros(n_windows, dtype=bool)
        for checks in failures:
            failed |= checks[name]
        reason[failed] = name
    return reason
