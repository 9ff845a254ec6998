"""Figures comparing fusion strategies across the runs of a sweep."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mimo_lib.evaluation.metrics import HIGHER_IS_BETTER

_LABELS = {
    "mse": "MSE", "mae": "MAE", "pearson": "Pearson r", "snr_db": "SNR (dB)", "prd": "PRDN (%)",
    "psd_corr": "PSD corr.",
}

# Radar axes on fixed scales: 0 at the centre is a reconstruction no better than the window's mean
# (z-scored windows: MSE 1, MAE about 0.8, PRDN 100 %, SNR 0 dB, r 0), 1 at the rim a perfect one.
# (value at the centre, value at the rim, axis label)
RADAR_SCALES = {
    "mse": (1.0, 0.0, "1 − MSE"),
    "mae": (0.8, 0.0, "1 − MAE/0.8"),
    "pearson": (0.0, 1.0, "Pearson r"),
    "snr_db": (0.0, 30.0, "SNR (dB) / 30"),
    "prd": (100.0, 0.0, "1 − PRDN/100"),
    "psd_corr": (0.0, 1.0, "PSD corr."),
}


def _label(metric: str) -> str:
    return _LABELS.get(metric, metric)


def plot_metric_boxes(per_window: pd.DataFrame, metrics: list[str]) -> Figure:
    """Distribution over test windows of each metric: one panel per metric (three per row), boxes per
    modality and fusion.

    ``per_window`` has one row per window and modality with columns ``fusion``,
    ``modality`` and the metrics.
    """
    fusions = list(dict.fromkeys(per_window["fusion"]))
    modalities = list(dict.fromkeys(per_window["modality"]))
    width = 0.8 / len(fusions)
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    panel_width = min(6.0, 1.5 + 0.3 * len(modalities) * len(fusions))
    figure, axes = plt.subplots(rows, columns, figsize=(panel_width * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.remove()
    for ax, metric in zip(axes.flat, metrics):
        for number, fusion in enumerate(fusions):
            rows = per_window[per_window["fusion"] == fusion]
            data = [rows.loc[rows["modality"] == m, metric].dropna().to_numpy() for m in modalities]
            positions = np.arange(len(modalities)) - 0.4 + width * (number + 0.5)
            boxes = ax.boxplot(
                data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False,
                medianprops={"color": "black"},
            )
            for patch in boxes["boxes"]:
                patch.set_facecolor(f"C{number}")
                patch.set_alpha(0.75)
            ax.plot([], [], color=f"C{number}", linewidth=6, alpha=0.75, label=fusion)
        ax.set_xticks(np.arange(len(modalities)), modalities)
        arrow = "higher is better" if HIGHER_IS_BETTER.get(metric, False) else "lower is better"
        ax.set_title(f"{_label(metric)} ({arrow})", fontsize=10)
    axes[0, 0].legend(fontsize=8, title="fusion", title_fontsize=8)
    figure.tight_layout()
    return figure


def radar_scores(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per strategy (and baseline) each metric's mean over modalities on its fixed radar scale, clipped to [0, 1]."""
    means = table.groupby(level="fusion", sort=False)[[f"{m}_mean" for m in metrics]].mean()
    means.columns = metrics
    scores = pd.DataFrame(index=means.index, columns=metrics, dtype=float)
    for metric in metrics:
        centre, rim, _ = RADAR_SCALES[metric]
        scores[metric] = ((means[metric] - centre) / (rim - centre)).clip(0.0, 1.0)
    return scores


def plot_radar(table: pd.DataFrame, metrics: list[str]) -> Figure:
    """Radar chart of the strategies and the baseline on fixed scales (:data:`RADAR_SCALES`), outward is better.

    ``table`` has one row per fusion and modality with ``<metric>_mean`` columns; the
    baseline rows (``pca-<k>``) are drawn dashed, so a strategy's margin over it shows.
    """
    scores = radar_scores(table, metrics)
    angles = np.linspace(0, 2 * np.pi, len(metrics), endpoint=False)
    closed = np.append(angles, angles[0])
    figure, ax = plt.subplots(figsize=(5.6, 5.6), subplot_kw={"projection": "polar"})
    for number, (fusion, row) in enumerate(scores.iterrows()):
        values = np.append(row.to_numpy(), row.to_numpy()[0])
        baseline = str(fusion).startswith("pca")
        ax.plot(closed, values, "--" if baseline else "-", color="0.35" if baseline else f"C{number}", label=fusion)
        if not baseline:
            ax.fill(closed, values, color=f"C{number}", alpha=0.12)
    ax.set_xticks(angles, [RADAR_SCALES[m][2] for m in metrics], fontsize=8)
    ax.tick_params(axis="x", pad=12)
    ax.set_ylim(0, 1.0)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["", "0.5", "", "1"], fontsize=7)
    ax.set_title("outward is better (centre: no better than the window mean)", fontsize=9, pad=18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(4, len(scores)), fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def plot_cost(runs: pd.DataFrame) -> Figure:
    """Training time and parameter count per strategy, from a table indexed by fusion."""
    figure, axes = plt.subplots(1, 2, figsize=(7.5, 3.0))
    colors = [f"C{i}" for i in range(len(runs))]
    for ax, column, label in (
        (axes[0], "train_seconds", "training time (s)"),
        (axes[1], "n_parameters", "trainable parameters"),
    ):
        ax.bar(runs.index.astype(str), runs[column], color=colors)
        ax.set_ylabel(label)
        for x, value in enumerate(runs[column]):
            ax.annotate(f"{value:,.0f}", (x, value), ha="center", va="bottom", fontsize=8)
        ax.margins(y=0.15)
    figure.tight_layout()
    return figure
