"""Signal quality of a PPG, per sample: where may a rate read from it (or from what it drives) be trusted?

Bedside monitors blank a pulse-derived number while the finger sensor is
disturbed. The same gate serves an imputation driven by the PPG: where the PPG
is motion artefact, so is any heart rate a model imputes from it. The quality
index is NeuroKit2's template match (``nk.ppg_quality``, ``"templatematch"``):
the correlation of each pulse with the stretch's mean pulse, interpolated
between pulses, 1 for a textbook-regular pulse train.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np

from mimo_lib.data.beats import detect_pulse_peaks, finite_stretches

MIN_PULSES = 4
MIN_SECONDS = 4.0


def ppg_quality(ppg: np.ndarray, rate: float) -> np.ndarray:
    """Template-match quality (about 0-1) of each sample of ``ppg``, computed per finite stretch.

    NaN where the PPG is NaN, and over a stretch shorter than 4 s or with fewer than
    four detected pulses: there is no template to match.
    """
    ppg = np.asarray(ppg, dtype=np.float64)
    if ppg.ndim != 1:
        raise ValueError(f"the PPG must be a 1-D signal, got shape {ppg.shape}")
    quality = np.full(len(ppg), np.nan)
    for start, stop in finite_stretches(ppg, int(np.ceil(MIN_SECONDS * rate))):
        stretch = ppg[start:stop]
        peaks = detect_pulse_peaks(stretch, rate)
        if len(peaks) < MIN_PULSES:
            continue
        cleaned = nk.ppg_clean(stretch, sampling_rate=rate)
        quality[start:stop] = nk.ppg_quality(cleaned, peaks=peaks, sampling_rate=rate, method="templatematch")
    return quality


def good_ppg(ppg: np.ndarray, rate: float, threshold: float) -> np.ndarray:
    """Boolean mask of the samples of ``ppg`` whose quality (:func:`ppg_quality`) is at least ``threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"a PPG quality threshold lies in [0, 1], got {threshold}")
    with np.errstate(invalid="ignore"):
        return ppg_quality(ppg, rate) >= threshold
