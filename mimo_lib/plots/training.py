"""Training curves from a trainer history table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _plot_pair(ax: plt.Axes, history: pd.DataFrame, key: str, label: str, color: str) -> None:
    for split, style in (("train", "-"), ("val", "--")):
        column = f"{split}_{key}"
        if column in history:
            ax.plot(history["epoch"], history[column], style, color=color, label=f"{label} ({split})")


def plot_loss_curves(history: pd.DataFrame) -> Figure:
    """Total loss, its MSE / spectral components and the MSE per modality, per epoch.

    Train is drawn solid, validation dashed; the y axes are logarithmic.
    """
    if history.empty or "epoch" not in history:
        raise ValueError("history is empty or has no 'epoch' column; nothing to plot")
    modalities = sorted({c.split("/", 1)[1] for c in history.columns if c.startswith(("train_mse/", "val_mse/"))})
    figure, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    _plot_pair(axes[0], history, "loss", "loss", "C0")
    axes[0].set_title("total loss")
    _plot_pair(axes[1], history, "mse", "MSE", "C0")
    _plot_pair(axes[1], history, "spectral", "spectral", "C1")
    axes[1].set_title("components")
    for index, modality in enumerate(modalities):
        _plot_pair(axes[2], history, f"mse/{modality}", modality, f"C{index % 10}")
    axes[2].set_title("MSE per modality")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.lines and all((line.get_ydata() > 0).all() for line in ax.lines):
            ax.set_yscale("log")
        if ax.lines:
            ax.legend(fontsize=7)
    figure.tight_layout()
    return figure
