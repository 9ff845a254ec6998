"""Figures of physiological fidelity: detected peaks on original and reconstruction, Bland–Altman of rates."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mimo_lib.evaluation.fidelity import DETECTORS
from mimo_lib.reconstruction import RecordingReconstruction

EVENT_NAMES = {"ecg": "R-peaks", "ppg": "pulse peaks", "resp": "breaths"}


def plot_peaks(recording: RecordingReconstruction, kinds: Mapping[str, str], seconds: float = 10.0,
               start: float | None = None) -> Figure:
    """``seconds`` of each scored modality: original and reconstruction, each with the events detected on it.

    ``start`` defaults to the middle of the recording. Detection runs on the whole
    signals (as scoring does); the figure shows the events inside the span.
    """
    scored = [(i, name) for i, name in enumerate(recording.modalities) if kinds.get(name) in DETECTORS]
    if not scored:
        raise ValueError(f"no modality of {recording.modalities} has a detector (kinds {dict(kinds)})")
    rate = recording.rate
    first = round((recording.length / rate / 2 if start is None else start) * rate)
    span = slice(first, min(recording.length, first + round(seconds * rate)))
    time = np.arange(span.start, span.stop) / rate
    figure, axes = plt.subplots(len(scored), 1, figsize=(11, 2.2 * len(scored)), sharex=True, squeeze=False)
    for ax, (index, name) in zip(axes[:, 0], scored):
        kind = kinds[name]
        for label, signal, color in (("original", recording.original[index], "black"),
                                     ("reconstruction", recording.reconstruction[index], "C1")):
            events = DETECTORS[kind](signal, rate)
            inside = events[(events >= span.start) & (events < span.stop)]
            ax.plot(time, signal[span], color=color, lw=1.0, label=label)
            ax.plot(inside / rate, signal[inside], "v" if label == "original" else "^", color=color, ms=6,
                    label=f"{EVENT_NAMES[kind]} ({label})")
        ax.set_ylabel(name)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].set_title(f"{recording.subject}: events detected on the original and on the reconstruction", fontsize=10)
    figure.tight_layout()
    return figure


def plot_bland_altman(pairs: pd.DataFrame) -> Figure:
    """Bland–Altman plot per rate measure: difference (reconstructed − reference) against their mean, per span.

    ``pairs`` comes from :func:`mimo_lib.physiology.rate_pairs`; the bias and the
    95 % limits of agreement (bias ± 1.96 s.d.) are drawn and given in the title.
    """
    measures = list(dict.fromkeys(pairs["measure"]))
    if not measures:
        raise ValueError("no rate pairs to plot: no span had a rate on both sides")
    figure, axes = plt.subplots(1, len(measures), figsize=(4.6 * len(measures), 3.8), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        rows = pairs[pairs["measure"] == measure]
        mean = (rows["reference"] + rows["reconstructed"]) / 2
        difference = rows["reconstructed"] - rows["reference"]
        bias, spread = difference.mean(), 1.96 * difference.std(ddof=1) if len(rows) > 1 else 0.0
        for number, (subject, group) in enumerate(rows.groupby("subject", sort=False)):
            ax.scatter(mean[group.index], difference[group.index], s=14, color=f"C{number % 10}", label=subject)
        for level, style in ((bias, "-"), (bias - spread, "--"), (bias + spread, "--")):
            ax.axhline(level, color="0.3", ls=style, lw=1)
        unit = rows["unit"].iloc[0]
        ax.set_xlabel(f"mean of the two ({unit})")
        ax.set_ylabel(f"reconstructed − reference ({unit})")
        ax.set_title(f"{measure}: bias {bias:+.2f}, limits ±{spread:.2f} ({len(rows)} spans)", fontsize=9)
    axes[0, -1].legend(fontsize=7, title="subject", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure.tight_layout()
    return figure
