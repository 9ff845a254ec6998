"""How one signal follows another in prepared windows, per subject: what bounds cross-modal imputation.

:func:`slow_coupling` measures how one signal follows the slow part of another
(e.g. respiration against the respiratory baseline of a PPG); :func:`lagged_coupling`
the delay at which one follows the other (e.g. ECG to PPG). Both analyse data, not a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal as sps

from mimo_lib.data.types import WindowSet


def pearson_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis; NaN where either side is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=-1) / denom
    return np.where(denom > 0, np.clip(r, -1.0, 1.0), np.nan)


def _modality_rows(windowset: WindowSet, *names: str) -> list[np.ndarray]:
    index = {name: i for i, name in enumerate(windowset.modalities)}
    missing = [name for name in names if name not in index]
    if missing:
        raise ValueError(f"unknown modality {missing}; the windows hold {list(windowset.modalities)}")
    return [windowset.windows[:, index[name]] for name in names]


def slow_coupling(windowset: WindowSet, target: str, source: str, cutoff_hz: float) -> pd.DataFrame:
    """Per subject: median over windows of Pearson r between ``target`` and ``source`` low-passed at ``cutoff_hz``.

    A sign that changes between subjects means no subject-independent model can
    tell the target's polarity from the source; columns ``subject``, ``windows``, ``median_r``.
    """
    target_rows, source_rows = _modality_rows(windowset, target, source)
    sos = sps.butter(2, cutoff_hz, btype="lowpass", fs=windowset.rate, output="sos")
    slow = sps.sosfiltfilt(sos, source_rows, axis=-1)
    r = pearson_r(target_rows, slow)  # NaN for a constant window: left out of the median
    frame = pd.DataFrame({"subject": np.asarray(windowset.subjects), "r": r})
    grouped = frame.groupby("subject", sort=True)["r"]
    return pd.DataFrame({"windows": grouped.size(), "median_r": grouped.median()}).reset_index()


def lagged_coupling(windowset: WindowSet, target: str, source: str, max_lag_s: float) -> pd.DataFrame:
    """Per subject: the delay at which ``source`` best follows ``target``, and the correlation there.

    For every lag from 0 to ``max_lag_s`` the median over a subject's windows of
    Pearson r between ``target(t)`` and ``source(t + lag)``; the lag with the highest
    median wins. A lag that differs between subjects (e.g. ECG to PPG, the pulse
    transit time plus device delays) means no subject-independent model can place
    the target's events from the source alone. Columns ``subject``, ``windows``,
    ``lag_s``, ``median_r``.
    """
    target_rows, source_rows = _modality_rows(windowset, target, source)
    length = target_rows.shape[-1]
    max_lag = round(max_lag_s * windowset.rate)
    if not 0 <= max_lag < length - 1:
        raise ValueError(f"max_lag_s={max_lag_s} must be >= 0 and shorter than the {length / windowset.rate:g} s windows")
    subjects = np.asarray(windowset.subjects)
    by_lag = np.stack([pearson_r(target_rows[:, : length - lag], source_rows[:, lag:]) for lag in range(max_lag + 1)])
    rows = []
    for subject in sorted(pd.unique(subjects)):
        selection = subjects == subject
        medians = np.nanmedian(by_lag[:, selection], axis=1)
        best = int(np.nanargmax(medians))
        rows.append({"subject": subject, "windows": int(selection.sum()),
                     "lag_s": best / windowset.rate, "median_r": float(medians[best])})
    return pd.DataFrame(rows, columns=["subject", "windows", "lag_s", "median_r"])
