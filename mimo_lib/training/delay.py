"""One delay per subject for an ECG whose beats lead a PPG's pulses by a subject-dependent time.

Each beat's R-peak precedes its finger pulse by the pulse transit time plus
whatever lag the monitor adds between its channels; on BIDMC the two together
differ between subjects by a sizeable part of a beat. An ECG imputed from the
PPG cannot know the subject's delay, so training it on unaligned targets teaches
it an average that blurs the R wave, and a free lag per window as wide as that
spread lets a beat train at any phase fit. ``missing_delay: subject`` instead
rolls each training and validation subject's ECG once, before training, so that
its R-peaks precede the PPG's pulses by the training subjects' median delay.

Delays are measured from detected beats (:mod:`mimo_lib.data.beats`) in every
window: the time from each R-peak to the first pulse at least
:data:`~mimo_lib.data.beats.PAT_MIN_DELAY_S` later. Such a delay is known only
up to whole beat periods, so a subject's delay is the circular mean of its
beats' phases (delay over the window's median R-R interval), and its shift is
the smallest one, within half a beat either way, that brings it to the median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mimo_lib.data.beats import PAT_MIN_DELAY_S, detect_pulse_peaks, detect_r_peaks, pulse_arrival_times
from mimo_lib.data.types import WindowSet

MIN_BEATS = 20


def _window_beats(ecg: np.ndarray, ppg: np.ndarray, rate: float) -> tuple[np.ndarray, float]:
    """Delays (s) from each R-peak of one window to the first pulse at least ``PAT_MIN_DELAY_S`` later, and the
    window's median R-R interval (s); empty and NaN with fewer than two R-peaks."""
    r_peaks = detect_r_peaks(ecg, rate, min_seconds=0)
    if len(r_peaks) < 2:
        return np.zeros(0), np.nan
    period = float(np.median(np.diff(r_peaks))) / rate
    pulses = detect_pulse_peaks(ppg, rate, min_seconds=0)
    delays = pulse_arrival_times(r_peaks, pulses, rate, PAT_MIN_DELAY_S, PAT_MIN_DELAY_S + period)
    return delays[np.isfinite(delays)], period


def subject_delays(windows: WindowSet, ecg: str, ppg: str) -> pd.DataFrame:
    """Per subject: ``n_beats`` with a delay, median R-R ``period_s`` and ``delay_s``, the circular mean delay in
    ``[PAT_MIN_DELAY_S, PAT_MIN_DELAY_S + period_s)``; NaN for subjects with fewer than :data:`MIN_BEATS` beats."""
    for name in (ecg, ppg):
        if name not in windows.modalities:
            raise ValueError(f"{name!r} is not among the modalities {windows.modalities}")
    e, p = windows.modalities.index(ecg), windows.modalities.index(ppg)
    phases: dict[str, list[np.ndarray]] = {}
    periods: dict[str, list[float]] = {}
    for index, subject in enumerate(windows.subjects):
        window = np.asarray(windows.windows[index], dtype=np.float64)
        delays, period = _window_beats(window[e], window[p], windows.rate)
        if len(delays):
            phases.setdefault(subject, []).append(2 * np.pi * (delays - PAT_MIN_DELAY_S) / period)
            periods.setdefault(subject, []).append(period)
    rows = []
    for subject in dict.fromkeys(windows.subjects):
        beats = np.concatenate(phases.get(subject, [np.zeros(0)]))
        period = float(np.median(periods[subject])) if subject in periods else np.nan
        delay = np.nan
        if len(beats) >= MIN_BEATS:
            angle = np.angle(np.mean(np.exp(1j * beats))) % (2 * np.pi)
            delay = PAT_MIN_DELAY_S + angle / (2 * np.pi) * period
        rows.append({"subject": subject, "n_beats": len(beats), "period_s": period, "delay_s": delay})
    return pd.DataFrame(rows, columns=["subject", "n_beats", "period_s", "delay_s"])


def subject_shifts(delays: pd.DataFrame, target_delay_s: float) -> pd.Series:
    """Per subject, the shift (s) that moves its ECG to ``target_delay_s`` before the pulses: ``delay_s -
    target_delay_s`` wrapped into half a beat period either way; 0 where its delay is unknown."""
    offset = delays["delay_s"] - target_delay_s
    period = delays["period_s"]
    shift = (offset + period / 2) % period - period / 2
    return pd.Series(shift.fillna(0.0).to_numpy(), index=delays["subject"].to_numpy(), name="shift_s")


def window_shifts(windows: WindowSet, shifts: pd.Series, modality: str) -> np.ndarray:
    """``(N, M)`` int64 sample shifts: each window's subject's shift for ``modality``, 0 for the others."""
    samples = np.zeros((len(windows), len(windows.modalities)), dtype=np.int64)
    per_window = pd.Series(windows.subjects).map(shifts).fillna(0.0).to_numpy()
    samples[:, windows.modalities.index(modality)] = np.rint(per_window * windows.rate).astype(np.int64)
    return samples
