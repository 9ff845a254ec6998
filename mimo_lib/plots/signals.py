"""Figures of the preprocessing notebook: raw signals, filters, normalised values, window counts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import signal as sps

from mimo_lib.config import Params
from mimo_lib.data.prepare import REASONS
from mimo_lib.data.rows import row_chunks
from mimo_lib.data.signals import bandpass, butter_sos, modality_bands, resample
from mimo_lib.data.types import Recording, WindowSet
from mimo_lib.data.windowing import fill_short_gaps


def plot_raw_signals(recordings: list[Recording], seconds: float = 10.0, start: float = 0.0,
                     max_subjects: int = 4) -> Figure:
    """``seconds`` of every modality (rows) for the first ``max_subjects`` recordings (columns), as loaded."""
    shown = recordings[:max_subjects]
    if not shown:
        raise ValueError("no recordings to plot")
    modalities = shown[0].modalities
    fig, axes = plt.subplots(len(modalities), len(shown), figsize=(3.2 * len(shown), 1.6 * len(modalities)),
                             sharex=True, squeeze=False, layout="constrained")
    for col, recording in enumerate(shown):
        for row, modality in enumerate(modalities):
            ax = axes[row, col]
            rate = recording.rates[modality]
            part = recording.signals[modality][int(start * rate) : int((start + seconds) * rate)]
            ax.plot(start + np.arange(len(part)) / rate, part, lw=0.7, color=f"C{row}")
            if row == 0:
                ax.set_title(f"subject {recording.subject}")
            if col == 0:
                ax.set_ylabel(modality)
        axes[-1, col].set_xlabel("time (s)")
    fig.suptitle("Raw signals")
    return fig


def plot_filter_responses(params: Params) -> Figure:
    """Magnitude response of each modality's zero-phase band-pass at the target rate."""
    rate = params.preprocessing.target_rate
    bands = modality_bands(params)
    fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    freqs = np.geomspace(0.005, rate / 2, 2000)
    for i, (modality, band) in enumerate(bands.items()):
        _, response = sps.sosfreqz(butter_sos(rate, band, params.preprocessing.filter_order), worN=freqs, fs=rate)
        # forward-backward filtering squares the magnitude
        gain_db = 20 * np.log10(np.maximum(np.abs(response) ** 2, 1e-12))
        ax.semilogx(freqs, gain_db, color=f"C{i}", label=f"{modality} {band[0]:g}-{band[1]:.3g} Hz")
    ax.axvline(rate / 2, color="k", ls=":", lw=1, label=f"Nyquist ({rate / 2:g} Hz)")
    ax.set(xlabel="frequency (Hz)", ylabel="gain (dB)", ylim=(-80, 5),
           title=f"Zero-phase Butterworth filters (order {params.preprocessing.filter_order}, x2)")
    ax.legend(fontsize="small")
    return fig


def plot_filtering(recording: Recording, params: Params, start: float = 0.0) -> Figure:
    """One window of ``recording`` before (resampled, mean removed) and after band-pass filtering."""
    pre = params.preprocessing
    rate = pre.target_rate
    bands = modality_bands(params)
    modalities = params.data.modalities
    fig, axes = plt.subplots(len(modalities), 1, figsize=(8, 1.7 * len(modalities)), sharex=True,
                             squeeze=False, layout="constrained")
    lo, hi = int(round(start * rate)), int(round((start + pre.window_seconds) * rate))
    for ax, modality in zip(axes[:, 0], modalities):
        fs = recording.rates[modality]
        filled, _ = fill_short_gaps(recording.signals[modality], fs, pre.max_gap_seconds)
        before = resample(filled, fs, rate)
        after = bandpass(before, rate, bands[modality], pre.filter_order)
        t = np.arange(lo, min(hi, len(before))) / rate
        ax.plot(t, before[lo:hi] - before[lo:hi].mean(), color="0.6", lw=1, label="before")
        ax.plot(t, after[lo:hi], color="C0", lw=1, label="after")
        ax.set_ylabel(modality)
    axes[0, 0].legend(loc="upper right", fontsize="small", ncols=2)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"Band-pass filtering, subject {recording.subject}")
    return fig


def _value_counts(windows: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values of each modality per histogram bin ``(M, bins)``, summed over chunks of windows."""
    counts = np.zeros((windows.shape[1], len(edges) - 1), dtype=np.int64)
    for chunk in row_chunks(windows):
        for m in range(windows.shape[1]):
            counts[m] += np.histogram(chunk[:, m], bins=edges)[0]
    return counts


def plot_value_distribution(sets: dict[str, WindowSet], bins: int = 100) -> Figure:
    """Histogram of the normalised values per modality, one line per split (counted a chunk of windows at a time)."""
    first = next(iter(sets.values()))
    modalities = first.modalities
    fig, axes = plt.subplots(1, len(modalities), figsize=(3 * len(modalities), 2.8), squeeze=False,
                             layout="constrained")
    edges = np.linspace(-5, 5, bins + 1)
    counts = {split: _value_counts(windows.windows, edges) for split, windows in sets.items() if len(windows)}
    for ax, (m, modality) in zip(axes[0], enumerate(modalities)):
        for split, split_counts in counts.items():
            density = split_counts[m] / max(split_counts[m].sum(), 1) / np.diff(edges)
            ax.stairs(density, edges, label=split)
        ax.set(title=modality, xlabel="normalised value")
    axes[0, 0].set_ylabel("density")
    axes[0, -1].legend(fontsize="small")
    fig.suptitle(f"Values after {first.normalization['method']} normalisation")
    return fig


def plot_window_counts(report: pd.DataFrame) -> Figure:
    """Kept and dropped windows per subject (stacked bars), grouped by split; ``report`` from ``drop_report``."""
    columns = ["kept", *[r for r in REASONS if report[r].sum() > 0]]
    labels = [f"{split}: {subject}" for split, subject in zip(report["split"], report["subject"])]
    fig, ax = plt.subplots(figsize=(7, 0.25 * len(report) + 1.5), layout="constrained")
    left = np.zeros(len(report))
    for i, column in enumerate(columns):
        ax.barh(labels, report[column], left=left, color="C2" if column == "kept" else f"C{i + 2}", label=column)
        left += report[column].to_numpy()
    ax.invert_yaxis()
    ax.set(xlabel="windows", title="Windows kept and dropped per subject")
    ax.legend(fontsize="small", loc="lower right")
    return fig
