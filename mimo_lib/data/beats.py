"""Events in physiological signals: R-peaks, pulse peaks and breaths (NeuroKit2), and the delay from beat to pulse.

Detectors run on each finite stretch of a signal separately (stitched signals
have NaN where no window covered them), so one gap never merges two stretches'
beats. Used by the evaluation stage to score reconstructions and by the
training stage to align subjects' beats.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import neurokit2 as nk
import numpy as np
from scipy import signal as sps

# NeuroKit2's default R-peak detector misses beats in ECGs sampled well below its usual rates
# (at 30 Hz, a fifth to three quarters of BIDMC's beats); slower ECGs are upsampled to this rate first.
R_PEAK_DETECTION_RATE = 120.0
# R-peak to finger pulse takes at least ~0.15 s in the body; monitors add their own lag between
# channels (BIDMC's PLETH trails II by 0.65-0.73 s), hence the wide upper bound.
PAT_MIN_DELAY_S = 0.15
PAT_MAX_DELAY_S = 0.8

Detector = Callable[[np.ndarray, float], np.ndarray]


def finite_stretches(signal: np.ndarray, min_samples: int = 1) -> np.ndarray:
    """``(k, 2)`` ``[start, stop)`` sample ranges of the finite runs of ``signal`` at least ``min_samples`` long."""
    finite = np.isfinite(np.asarray(signal, dtype=np.float64)).astype(np.int8)
    edges = np.diff(np.concatenate(([0], finite, [0])))
    runs = np.column_stack((np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))
    return runs[runs[:, 1] - runs[:, 0] >= max(min_samples, 1)]


def check_signal(signal: np.ndarray, rate: float, name: str) -> np.ndarray:
    """``signal`` as a float64 1-D array; an error naming ``name`` for any other shape, or for a rate not above 0."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"{name} must be a 1-D signal, got shape {signal.shape}")
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    return signal


def _detect_on_stretches(signal: np.ndarray, rate: float, detector: Detector, min_seconds: float, name: str) -> np.ndarray:
    """Sorted event indices from ``detector`` run on each finite, non-constant stretch of ``signal``.

    A stretch shorter than ``min_seconds`` gives no events; so does a stretch on
    which the detector raises (with a warning naming the stretch and the error).
    """
    signal = check_signal(signal, rate, name)
    found = []
    for start, stop in finite_stretches(signal, int(np.ceil(min_seconds * rate))):
        stretch = signal[start:stop]
        if np.ptp(stretch) == 0:
            continue
        try:
            events = np.asarray(detector(stretch, rate), dtype=np.int64)
        except Exception as err:  # noqa: BLE001  any NeuroKit2 failure on a stretch means no events there, not a crash
            warnings.warn(
                f"{name} detection failed on samples [{start}, {stop}) ({type(err).__name__}: {err}); no events there",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        found.append(events[(events >= 0) & (events < len(stretch))] + start)
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _neurokit_r_peaks(ecg: np.ndarray, rate: float) -> np.ndarray:
    factor = max(1, math.ceil(R_PEAK_DETECTION_RATE / rate))
    if factor > 1:
        ecg = sps.resample_poly(ecg, factor, 1)
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=rate * factor), sampling_rate=rate * factor)
    return np.unique(np.rint(np.asarray(info["ECG_R_Peaks"]) / factor).astype(np.int64))


def _neurokit_pulse_peaks(ppg: np.ndarray, rate: float) -> np.ndarray:
    _, info = nk.ppg_peaks(nk.ppg_clean(ppg, sampling_rate=rate), sampling_rate=rate)
    return info["PPG_Peaks"]


def _neurokit_breaths(resp: np.ndarray, rate: float) -> np.ndarray:
    _, info = nk.rsp_peaks(nk.rsp_clean(resp, sampling_rate=rate), sampling_rate=rate)
    return info["RSP_Peaks"]


def detect_r_peaks(ecg: np.ndarray, rate: float, min_seconds: float = 4.0) -> np.ndarray:
    """R-peak sample indices (NeuroKit2 ``ecg_clean`` + ``ecg_peaks``), per finite stretch of ``min_seconds`` or more.

    A stretch sampled below :data:`R_PEAK_DETECTION_RATE` is upsampled by a whole factor (polyphase) for detection.
    """
    return _detect_on_stretches(ecg, rate, _neurokit_r_peaks, min_seconds, "R-peak")


def detect_pulse_peaks(ppg: np.ndarray, rate: float, min_seconds: float = 4.0) -> np.ndarray:
    """Systolic pulse-peak sample indices (NeuroKit2 ``ppg_clean`` + ``ppg_peaks``), per finite stretch."""
    return _detect_on_stretches(ppg, rate, _neurokit_pulse_peaks, min_seconds, "pulse-peak")


def detect_breaths(resp: np.ndarray, rate: float, min_seconds: float = 16.0) -> np.ndarray:
    """Breath sample indices: ends of inspiration (NeuroKit2 ``rsp_clean`` + ``rsp_peaks`` peaks), per finite stretch.

    Ends of inspiration are what BIDMC's annotators marked.
    """
    return _detect_on_stretches(resp, rate, _neurokit_breaths, min_seconds, "breath")


# --- beat to pulse -----------------------------------------------------------------


def sorted_events(samples: np.ndarray) -> np.ndarray:
    """Event sample indices as a sorted int64 array."""
    events = np.asarray(samples)
    if events.ndim != 1:
        raise ValueError(f"event samples must be 1-D, got shape {events.shape}")
    if not np.all(np.isfinite(events)):
        raise ValueError("event samples must be finite sample indices, got NaN or inf")
    return np.sort(events.astype(np.int64))


def arrivals(r_peaks: np.ndarray, pulses: np.ndarray, rate: float, min_delay_s: float,
             max_delay_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per R-peak (sorted), the delay (s) to the first pulse event at least ``min_delay_s`` later and that
    event's index in sorted ``pulses``; NaN and -1 where there is none within ``max_delay_s``."""
    if not 0 <= min_delay_s < max_delay_s:
        raise ValueError(f"need 0 <= min_delay_s < max_delay_s, got {min_delay_s} and {max_delay_s}")
    following = np.searchsorted(pulses, r_peaks + min_delay_s * rate, side="left")
    delays = np.full(len(r_peaks), np.nan)
    found = following < len(pulses)
    delays[found] = (pulses[following[found]] - r_peaks[found]) / rate
    found &= delays <= max_delay_s
    delays[~found] = np.nan
    return delays, np.where(found, following, -1)


def pulse_arrival_times(
    r_peaks: np.ndarray, pulse_peaks: np.ndarray, rate: float, min_delay_s: float = PAT_MIN_DELAY_S,
    max_delay_s: float = PAT_MAX_DELAY_S,
) -> np.ndarray:
    """Per R-peak, the delay (s) to the first pulse event at least ``min_delay_s`` later; NaN past ``max_delay_s``.

    Pulse events are peaks (sample indices) or sub-sample positions (e.g. upstrokes).
    """
    r_peaks, pulse_peaks = sorted_events(r_peaks), np.sort(np.asarray(pulse_peaks, dtype=np.float64))
    return arrivals(r_peaks, pulse_peaks, rate, min_delay_s, max_delay_s)[0]
