"""Figures of imputed sensors: real and imputed respiration, and the breathing rate of each against the annotations."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mimo_lib.evaluation.fidelity import DETECTORS, span_rates
from mimo_lib.physiology import RATE_SPANS, reference_breaths
from mimo_lib.reconstruction import RecordingReconstruction


def _zscore(values: np.ndarray) -> np.ndarray:
    """``values`` with mean 0 and standard deviation 1 over their finite samples (imputations have no units)."""
    spread = np.nanstd(values)
    return (values - np.nanmean(values)) / (spread if spread > 0 else 1.0)


def plot_calibrated_imputation(imputations: Mapping[str, RecordingReconstruction], modality: str,
                               calibrate_seconds: float, seconds: float = 60.0) -> Figure:
    """One recording's real ``modality`` beside its imputations, and the breathing rate of each over time.

    ``imputations`` maps a label (e.g. ``"uncalibrated"``, ``"calibrated"``) to the same
    recording imputed with ``modality`` missing, its originals filled in
    (:func:`mimo_lib.imputation.with_originals`). Top: ``seconds`` right after the
    calibration stretch, each signal z-scored over the span (an inverted imputation
    shows as such). Bottom: the rate per 32 s span of the annotated breaths (where
    the recording has them), of the real signal and of each imputation; the
    calibration stretch is shaded. A span with a NaN sample (in the stretch, for a
    calibrated imputation) has no rate.
    """
    if not imputations:
        raise ValueError("no imputation to plot")
    first = next(iter(imputations.values()))
    if modality not in first.modalities:
        raise ValueError(f"subject {first.subject}: no modality {modality!r} among {first.modalities}")
    index, rate = first.modalities.index(modality), first.rate
    begin = min(round(calibrate_seconds * rate), first.length - 1)
    span = slice(begin, min(first.length, begin + round(seconds * rate)))
    time = np.arange(first.length) / rate
    figure, (signals, rates) = plt.subplots(2, 1, figsize=(11, 5.6), gridspec_kw={"height_ratios": [1.3, 1]})
    signals.plot(time[span], _zscore(first.original[index, span]), color="black", lw=1.2, label=f"real {modality}")
    for number, (label, recording) in enumerate(imputations.items()):
        signals.plot(time[span], _zscore(recording.reconstruction[index, span]), color=f"C{number}", lw=1.0,
                     label=label)
    signals.set_ylabel(f"{modality} (z-score)")
    signals.set_xlabel("time (s)")
    signals.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    signals.set_title(f"{first.subject}: {modality} imputed after a calibration stretch of {calibrate_seconds:g} s",
                      fontsize=10)

    span_s = RATE_SPANS["resp"][2]
    centres = (np.arange(first.length // round(span_s * rate)) + 0.5) * span_s
    annotated = reference_breaths(first, modality)
    tracks = {"annotated breaths": (annotated, None, "0.5", "o")} if annotated is not None else {}
    tracks[f"real {modality}"] = (None, first.original[index], "black", "s")
    for number, (label, recording) in enumerate(imputations.items()):
        tracks[label] = (None, recording.reconstruction[index], f"C{number}", "^")
    for label, (events, signal, color, marker) in tracks.items():
        valid = None if signal is None else np.isfinite(signal)
        events = DETECTORS["resp"](signal, rate) if events is None else events
        values = span_rates(events, rate, first.length, span_s, valid)
        rates.plot(centres, values, color=color, marker=marker, ms=4, lw=1.0, label=label)
    rates.axvspan(0, calibrate_seconds, color="0.9", zorder=0, label="calibration stretch")
    rates.set_xlim(0, first.length / rate)
    rates.set_xlabel("time (s)")
    rates.set_ylabel(f"{RATE_SPANS['resp'][0]} ({RATE_SPANS['resp'][1]})")
    rates.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    return figure
