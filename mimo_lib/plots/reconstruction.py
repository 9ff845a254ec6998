"""Figures comparing reconstructions with their targets, and views of the latent space."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.signal import welch


def plot_reconstructions(
    target: np.ndarray,
    reconstructions: dict[str, np.ndarray],
    modalities: list[str],
    rate: float,
    indices: list[int] | np.ndarray | None = None,
    titles: list[str] | None = None,
) -> Figure:
    """Target (black) and each labelled reconstruction overlaid; one row per window, one column per modality.

    ``target`` and every reconstruction are ``(N, M, T)``; ``indices`` picks windows (default: the first 4).
    """
    indices = list(range(min(4, len(target)))) if indices is None else list(indices)
    if not indices:
        raise ValueError("no windows to plot")
    time = np.arange(target.shape[-1]) / rate
    figure, axes = plt.subplots(
        len(indices), len(modalities), figsize=(3.6 * len(modalities), 1.9 * len(indices)),
        squeeze=False, sharex=True,
    )
    for row, index in enumerate(indices):
        for col, modality in enumerate(modalities):
            ax = axes[row, col]
            ax.plot(time, target[index, col], color="black", linewidth=1.0, label="target")
            for number, (label, values) in enumerate(reconstructions.items()):
                ax.plot(time, values[index, col], color=f"C{number}", linewidth=0.9, alpha=0.85, label=label)
            if row == 0:
                ax.set_title(modality)
            if col == 0:
                ax.set_ylabel(titles[row] if titles else f"window {index}", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    return figure


def plot_psd_comparison(
    target: np.ndarray, reconstructions: dict[str, np.ndarray], modalities: list[str], rate: float
) -> Figure:
    """Mean Welch power spectral density per modality: target against each reconstruction."""
    nperseg = min(target.shape[-1], 256)
    freqs, psd_target = welch(target, fs=rate, nperseg=nperseg, axis=-1)
    figure, axes = plt.subplots(1, len(modalities), figsize=(3.6 * len(modalities), 3.0), squeeze=False)
    for col, modality in enumerate(modalities):
        ax = axes[0, col]
        ax.semilogy(freqs, psd_target[:, col].mean(axis=0), color="black", label="target")
        for number, (label, values) in enumerate(reconstructions.items()):
            _, psd = welch(values[:, col], fs=rate, nperseg=nperseg, axis=-1)
            ax.semilogy(freqs, np.maximum(psd.mean(axis=0), 1e-12), color=f"C{number}", label=label)
        ax.set_title(modality)
        ax.set_xlabel("frequency (Hz)")
    axes[0, 0].set_ylabel("PSD (z-units² / Hz)")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_latent_projection(latent: np.ndarray, subjects: np.ndarray) -> Figure:
    """Latent vectors projected on their first two principal components, coloured by subject."""
    latent = np.asarray(latent, dtype=np.float64).reshape(len(latent), -1)
    if len(latent) < 2:
        raise ValueError("need at least two latent vectors for a 2-D projection")
    centred = latent - latent.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes_used = min(2, vt.shape[0])
    points = centred @ vt[:axes_used].T
    if axes_used == 1:
        points = np.column_stack([points, np.zeros(len(points))])
    explained = singular**2 / max((singular**2).sum(), 1e-30)
    figure, ax = plt.subplots(figsize=(5.2, 4.4))
    subjects = np.asarray(subjects).astype(str)
    for number, subject in enumerate(np.unique(subjects)):
        mask = subjects == subject
        ax.scatter(points[mask, 0], points[mask, 1], s=10, color=plt.cm.tab20(number % 20), label=subject)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f} %)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f} %)" if len(explained) > 1 else "PC2")
    ax.set_title("latent space (PCA)")
    ax.legend(fontsize=6, markerscale=1.5, ncol=2 if len(np.unique(subjects)) > 10 else 1,
              bbox_to_anchor=(1.02, 1), loc="upper left")
    figure.tight_layout()
    return figure


def plot_fusion_weights(weights: np.ndarray, modalities: list[str]) -> Figure:
    """Distribution over windows of the fusion weight each modality receives (box plot)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(modalities):
        raise ValueError(f"weights must be (N, {len(modalities)}), got shape {weights.shape}")
    figure, ax = plt.subplots(figsize=(1.2 * len(modalities) + 2.5, 3.4))
    ax.boxplot([weights[:, m] for m in range(len(modalities))], showfliers=False)
    ax.set_xticks(range(1, len(modalities) + 1), modalities)
    ax.axhline(1.0 / len(modalities), color="grey", linestyle=":", linewidth=1, label="uniform")
    ax.set_ylabel("fusion weight")
    ax.set_title("fusion weights per modality")
    ax.legend(fontsize=7)
    figure.tight_layout()
    return figure
