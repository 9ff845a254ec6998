"""Figures comparing strategies across the runs of a sweep: seeds as points beside their means and intervals.

Inputs come from :mod:`mimo_lib.evaluation.comparison`: the per-window metrics and
run table of :func:`~mimo_lib.evaluation.comparison.load_runs`, the per-seed scores
of :func:`~mimo_lib.evaluation.comparison.run_scores`, the summary of
:func:`~mimo_lib.evaluation.comparison.summary_table` and the pairs of
:func:`~mimo_lib.evaluation.comparison.paired_differences`.
"""

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


def _panels(n_metrics: int, panel_width: float, panel_height: float, **options: object) -> tuple[Figure, np.ndarray]:
    """One panel per metric, three per row; unused panels removed."""
    columns = min(3, n_metrics)
    rows = -(-n_metrics // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(panel_width * columns, panel_height * rows), squeeze=False,
                                **options)
    for ax in axes.flat[n_metrics:]:
        ax.remove()
    return figure, axes


def _title(metric: str) -> str:
    arrow = "higher is better" if HIGHER_IS_BETTER.get(metric, False) else "lower is better"
    return f"{_label(metric)} ({arrow})"


def _color(number: int, strategy: str) -> str:
    """The strategy's colour; baselines (``pca-<k>``) in grey."""
    return "0.45" if strategy.startswith("pca") else f"C{number}"


def plot_metric_boxes(per_window: pd.DataFrame, metrics: list[str]) -> Figure:
    """Distribution over test windows (all seeds pooled) of each metric: boxes per modality and strategy.

    ``per_window`` has one row per window and modality with columns ``strategy``,
    ``modality`` and the metrics.
    """
    strategies = list(dict.fromkeys(per_window["strategy"]))
    modalities = list(dict.fromkeys(per_window["modality"]))
    width = 0.8 / len(strategies)
    figure, axes = _panels(len(metrics), min(6.0, 1.5 + 0.3 * len(modalities) * len(strategies)), 3.2)
    for ax, metric in zip(axes.flat, metrics):
        for number, strategy in enumerate(strategies):
            rows = per_window[per_window["strategy"] == strategy]
            data = [rows.loc[rows["modality"] == m, metric].dropna().to_numpy() for m in modalities]
            positions = np.arange(len(modalities)) - 0.4 + width * (number + 0.5)
            boxes = ax.boxplot(
                data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False,
                medianprops={"color": "black"},
            )
            for patch in boxes["boxes"]:
                patch.set_facecolor(_color(number, strategy))
                patch.set_alpha(0.75)
            ax.plot([], [], color=_color(number, strategy), linewidth=6, alpha=0.75, label=strategy)
        ax.set_xticks(np.arange(len(modalities)), modalities)
        ax.set_title(_title(metric), fontsize=10)
    axes[0, 0].legend(fontsize=8, title="strategy", title_fontsize=8)
    figure.tight_layout()
    return figure


def plot_seeds(scores: pd.DataFrame, table: pd.DataFrame, metrics: list[str]) -> Figure:
    """Each metric per modality and strategy: one point per seed (its mean over windows), the mean over
    seeds as a black tick with its interval as a bar."""
    strategies = list(table.index.unique("strategy"))
    modalities = list(table.index.unique("modality"))
    width = 0.8 / len(strategies)
    figure, axes = _panels(len(metrics), min(6.0, 1.5 + 0.3 * len(modalities) * len(strategies)), 3.2)
    for ax, metric in zip(axes.flat, metrics):
        for number, strategy in enumerate(strategies):
            seeds = scores.xs(strategy, level="strategy")
            for place, modality in enumerate(modalities):
                x = place - 0.4 + width * (number + 0.5)
                values = seeds.xs(modality, level="modality")[metric].to_numpy()
                ax.scatter(x + np.linspace(-width / 4, width / 4, len(values)), values, s=14,
                           color=_color(number, strategy), alpha=0.8, zorder=3,
                           label=strategy if place == 0 else None)
                row = table.loc[(strategy, modality)]
                spread = np.nan_to_num([[row[f"{metric}_mean"] - row[f"{metric}_low"]],
                                        [row[f"{metric}_high"] - row[f"{metric}_mean"]]])
                ax.errorbar(x, row[f"{metric}_mean"], yerr=spread, fmt="_", color="black", markersize=12,
                            capsize=3, zorder=4)
        ax.set_xticks(np.arange(len(modalities)), modalities)
        ax.set_title(_title(metric), fontsize=10)
    axes[0, 0].legend(fontsize=8, title="strategy (dots: seeds)", title_fontsize=8)
    figure.tight_layout()
    return figure


def plot_differences(pairs: pd.DataFrame, metrics: list[str]) -> Figure:
    """Paired differences (strategy − versus, over seeds) with their intervals, one panel per metric and one
    row per pair and modality: filled where resolved, hollow where the interval covers zero."""
    labels = [f"{first} − {second}: {modality}" for first, second, modality in pairs.index]
    y = np.arange(len(labels))[::-1]
    figure, axes = _panels(len(metrics), 4.2, 0.8 + 0.28 * len(labels), sharey=True)
    for ax, metric in zip(axes.flat, metrics):
        resolved = pairs[f"{metric}_resolved"].astype(bool).to_numpy()
        colors = np.where(resolved, "C0", "0.5")
        ax.hlines(y, pairs[f"{metric}_low"], pairs[f"{metric}_high"], colors=colors)
        ax.scatter(pairs[f"{metric}_diff"], y, s=22, facecolors=np.where(resolved, "C0", "white"), edgecolors=colors,
                   zorder=3)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_title(_title(metric), fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
    axes[0, 0].set_yticks(y, labels)
    figure.tight_layout()
    return figure


def _on_radar_scale(values: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Metric values on their fixed radar scales (:data:`RADAR_SCALES`), clipped to [0, 1]."""
    scaled = pd.DataFrame(index=values.index, columns=metrics, dtype=float)
    for metric in metrics:
        centre, rim, _ = RADAR_SCALES[metric]
        scaled[metric] = ((values[metric] - centre) / (rim - centre)).clip(0.0, 1.0)
    return scaled


def radar_scores(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per strategy (and baseline) each metric's mean over modalities on its fixed radar scale, clipped to [0, 1]."""
    means = table.groupby(level="strategy", sort=False)[[f"{m}_mean" for m in metrics]].mean()
    means.columns = metrics
    return _on_radar_scale(means, metrics)


def plot_radar(table: pd.DataFrame, scores: pd.DataFrame, metrics: list[str]) -> Figure:
    """Radar chart of the strategies and the baseline on fixed scales (:data:`RADAR_SCALES`), outward is better:
    a polygon at each strategy's mean over seeds, a dot per seed.

    ``table`` has one row per strategy and modality with ``<metric>_mean`` columns and
    ``scores`` one row per strategy, seed and modality; the baseline rows (``pca-<k>``)
    are drawn dashed, so a strategy's margin over it shows.
    """
    means = radar_scores(table, metrics)
    seeds = _on_radar_scale(scores.groupby(level=["strategy", "seed"], sort=False)[metrics].mean(), metrics)
    angles = np.linspace(0, 2 * np.pi, len(metrics), endpoint=False)
    closed = np.append(angles, angles[0])
    figure, ax = plt.subplots(figsize=(5.6, 5.6), subplot_kw={"projection": "polar"})
    for number, (strategy, row) in enumerate(means.iterrows()):
        values = np.append(row.to_numpy(), row.to_numpy()[0])
        baseline = str(strategy).startswith("pca")
        color = _color(number, str(strategy))
        ax.plot(closed, values, "--" if baseline else "-", color=color, label=strategy)
        if not baseline:
            ax.fill(closed, values, color=color, alpha=0.12)
        for seed_values in seeds.xs(strategy, level="strategy").to_numpy():
            ax.scatter(angles, seed_values, s=9, color=color, zorder=3)
    ax.set_xticks(angles, [RADAR_SCALES[m][2] for m in metrics], fontsize=8)
    ax.tick_params(axis="x", pad=12)
    ax.set_ylim(0, 1.0)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["", "0.5", "", "1"], fontsize=7)
    ax.set_title("outward is better (centre: no better than the window mean)", fontsize=9, pad=18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(4, len(means)), fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def plot_cost(runs: pd.DataFrame) -> Figure:
    """Training time and parameter count per strategy: a bar at the mean over its runs, a dot per run.

    ``runs`` has one row per run with ``strategy``, ``train_seconds`` and ``n_parameters``.
    """
    strategies = list(dict.fromkeys(runs["strategy"]))
    figure, axes = plt.subplots(1, 2, figsize=(max(7.5, 1.6 * len(strategies)), 3.4))
    for ax, column, label in (
        (axes[0], "train_seconds", "training time (s)"),
        (axes[1], "n_parameters", "trainable parameters"),
    ):
        means = runs.groupby("strategy", sort=False)[column].mean().reindex(strategies)
        ax.bar(np.arange(len(strategies)), means, color=[f"C{i}" for i in range(len(strategies))], alpha=0.6)
        for x, strategy in enumerate(strategies):
            values = runs.loc[runs["strategy"] == strategy, column].to_numpy()
            ax.scatter(x + np.linspace(-0.15, 0.15, len(values)), values, s=12, color="black", zorder=3)
            ax.annotate(f"{means[strategy]:,.0f}", (x, values.max()), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 3), textcoords="offset points")
        ax.set_xticks(np.arange(len(strategies)), strategies, rotation=15, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.margins(y=0.15)
    figure.tight_layout()
    return figure
