"""Rate–distortion curves: PRDN (or another score) against compression ratio in bits, per modality."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

_LATENT_CODES = ("mimo-ae", "mimo-ae-depths", "pca")  # one curve per latent size
_LABELS = {"prd": "PRDN (%)", "snr_db": "SNR (dB)", "pearson": "Pearson r"}
_STYLES = {"mimo-ae": ("o", "-"), "mimo-ae-depths": ("D", "-"), "pca": ("s", "--"), "wavelet": ("^", ":"), "dct": ("v", ":"),
           "wavelet-alloc": ("^", "-."), "dct-alloc": ("v", "-.")}
_NAMES = {"mimo-ae": "MiMo-AE", "mimo-ae-depths": "MiMo-AE, depth per dim.", "pca": "PCA", "wavelet": "wavelet", "dct": "DCT",
          "wavelet-alloc": "wavelet, bits split", "dct-alloc": "DCT, bits split", "original": "original signal"}


def _curves(table: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(method, label, rows) per curve: one per latent size for the latent codes, one per transform codec."""
    curves = []
    for method in dict.fromkeys(table["method"]):
        rows = table[table["method"] == method]
        if method in _LATENT_CODES and "latent" in rows:
            for size in sorted(rows["latent"].dropna().unique()):
                curves.append((method, f"{_NAMES[method]} {int(size)}", rows[rows["latent"] == size]))
        else:
            curves.append((method, _NAMES.get(method, method), rows))
    return curves


def plot_rate_distortion(table: pd.DataFrame, metric: str = "prd", points: pd.DataFrame | None = None,
                         columns: int | None = None, ylabel: str | None = None, floor: str | None = None) -> Figure:
    """``metric`` against the total compression ratio: one panel per modality and one for the mean over modalities.

    ``table`` has the rows of :func:`mimo_lib.evaluation.rate_distortion.rate_distortion`
    (columns ``method``, ``latent``, ``bits``, ``modality``, ``cr_total`` and the metric). The
    ratio is the whole code's (all modalities, in bits against the recording's
    resolution), so every panel shares the same x position per code; latent codes
    are labelled with their bits per number. ``points`` (rows of the same form, e.g.
    each seed of the runs whose mean ``table`` holds) are drawn as dots in the colour
    of their curve. Panels wrap after ``columns`` (default: one row); ``ylabel``
    replaces the metric's name on the axes. The rows of method ``floor`` (e.g. the
    original signal's own score) are drawn as a horizontal line.
    """
    modalities = list(dict.fromkeys(table["modality"]))
    columns = columns or len(modalities)
    rows = math.ceil(len(modalities) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), sharex=True, squeeze=False)
    for ax in axes.flat[len(modalities):]:
        ax.set_visible(False)
    for ax, modality in zip(axes.flat, modalities):
        for number, (method, label, rows) in enumerate(_curves(table)):
            marker, line = _STYLES.get(method, ("o", "-"))
            per_code = rows[rows["modality"] == modality].sort_values("cr_total")
            if method == floor:
                ax.axhline(per_code[metric].mean(), color="0.3", linestyle="--", linewidth=0.9, label=label)
                continue
            ratio = per_code["cr_total"].to_numpy(dtype=float)
            ax.plot(ratio, per_code[metric], marker=marker, linestyle=line, color=f"C{number}", markersize=4,
                    label=label)
            if points is not None and method in _LATENT_CODES:
                dots = points[(points["method"] == method) & (points["latent"] == rows["latent"].iloc[0])
                              & (points["modality"] == modality)]
                ax.plot(dots["cr_total"], dots[metric], ".", color=f"C{number}", alpha=0.5, markersize=3)
            if method == "mimo-ae":
                for x, y, bits in zip(ratio, per_code[metric], per_code["bits"]):
                    ax.annotate(f"{int(bits)}", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=6)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title("mean over modalities" if modality == "mean" else str(modality), fontsize=10)
        ax.set_xlabel("compression ratio (bits)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel(_LABELS.get(metric, metric) if ylabel is None else ylabel)
    figure.tight_layout()
    figure.legend(*axes.flat[0].get_legend_handles_labels(), fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure

