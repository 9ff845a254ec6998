"""Respiration derived from a PPG with NeuroKit2: the classical way to a breathing rate without a respiration sensor.

Breathing modulates the pulse three ways, each a respiratory signal of its own:

- ``"riav"``: the amplitude of each pulse (pulse peak heights, interpolated);
- ``"rifv"``: the pulse rate (respiratory sinus arrhythmia), band-passed by
  NeuroKit2's ECG-derived respiration (``nk.ecg_rsp``) applied to the pulse rate;
- ``"riiv"``: the slow baseline of the PPG itself (band-passed 0.1–0.7 Hz).

Each is a signal at the PPG's rate; the breathing-rate detector of
:mod:`mimo_lib.evaluation.fidelity` then runs on it as on any respiration signal.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np

from mimo_lib.data.beats import detect_pulse_peaks

METHODS = ("riav", "rifv", "riiv")
RIIV_BAND = (0.1, 0.7)


def ppg_respiration(ppg: np.ndarray, rate: float, method: str = "riav") -> np.ndarray:
    """A respiratory signal derived from ``ppg`` (1-D, finite, at ``rate`` Hz) by ``method`` (:data:`METHODS`)."""
    if method not in METHODS:
        raise ValueError(f"unknown PPG-derived respiration {method!r}; choose one of {METHODS}")
    ppg = np.asarray(ppg, dtype=np.float64)
    if ppg.ndim != 1 or not np.isfinite(ppg).all():
        raise ValueError(f"the PPG must be a finite 1-D signal, got shape {ppg.shape} with "
                         f"{int(np.size(ppg) - np.isfinite(ppg).sum())} non-finite samples")
    if method == "riiv":
        return nk.signal_filter(ppg, sampling_rate=rate, lowcut=RIIV_BAND[0], highcut=RIIV_BAND[1], order=2)
    peaks = detect_pulse_peaks(ppg, rate)
    if len(peaks) < 4:
        raise ValueError(f"only {len(peaks)} pulse peaks found in {len(ppg) / rate:.0f} s of PPG; "
                         f"{method} needs at least 4")
    if method == "riav":
        cleaned = nk.ppg_clean(ppg, sampling_rate=rate)
        return nk.signal_interpolate(peaks, cleaned[peaks], x_new=np.arange(len(ppg)), method="monotone_cubic")
    pulse_rate = nk.signal_rate(peaks, sampling_rate=rate, desired_length=len(ppg))
    return nk.ecg_rsp(pulse_rate, sampling_rate=rate)
