"""Inference with a trained model: batched prediction and decoding, presence masks and imputation of absent modalities.

A modality marked absent is fed as zeros and its tokens are masked out of the
fusion (``present``), so the latent comes from the other modalities only; the
decoders still reconstruct every modality, the absent ones included.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from mimo_lib.data.rows import read_span
from mimo_lib.data.types import WindowSet
from mimo_lib.model.mimo_ae import AEOutput, MiMoAE


def _check(model: MiMoAE, windowset: WindowSet) -> None:
    if windowset.modalities != list(model.modalities) or windowset.window_length != model.window_length:
        raise ValueError(
            f"windows have modalities {windowset.modalities} and length {windowset.window_length}; the model "
            f"expects {list(model.modalities)} and {model.window_length}"
        )
    if not len(windowset):
        raise ValueError("cannot predict on an empty WindowSet")


@torch.no_grad()
def _outputs(
    model: MiMoAE, windowset: WindowSet, batch_size: int, present: np.ndarray | None
) -> Iterator[AEOutput]:
    """The model's output batch by batch (eval mode), windows read a batch at a time (:mod:`mimo_lib.data.rows`)."""
    _check(model, windowset)
    device = next(model.parameters()).device
    model.eval()
    mask = None
    if present is not None:
        mask = torch.as_tensor(np.broadcast_to(present, (len(windowset), len(model.modalities))).copy())
    for start in range(0, len(windowset), batch_size):
        rows = read_span(windowset.windows, start, start + batch_size)
        batch = torch.from_numpy(rows.astype(np.float32, copy=False)).to(device)
        batch_mask = mask[start:start + batch_size].to(device) if mask is not None else None
        yield model(batch, batch_mask)


def _collect(
    model: MiMoAE, windowset: WindowSet, batch_size: int, present: np.ndarray | None, reconstructions: bool
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Reconstructions (when asked), latents and fusion weights of every batch, as numpy arrays."""
    recon, latent, weights = [], [], []
    for output in _outputs(model, windowset, batch_size, present):
        if reconstructions:
            recon.append(output.reconstruction.float().cpu().numpy())
        latent.append(output.latent.float().reshape(len(output.latent), -1).cpu().numpy())
        weights.append(output.weights.float().cpu().numpy())
    return recon, latent, weights


def predict(
    model: MiMoAE, windowset: WindowSet, batch_size: int = 256, present: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reconstructions ``(N, M, T)``, latents ``(N, latent_dim)`` and fusion weights ``(N, M)`` in batches.

    ``present`` (bool ``(N, M)`` or ``(M,)``) marks which modalities the encoder may see;
    all by default. Runs on the model's device in eval mode.
    """
    recon, latent, weights = _collect(model, windowset, batch_size, present, reconstructions=True)
    return np.concatenate(recon), np.concatenate(latent), np.concatenate(weights)


@torch.no_grad()
def decode_latent(model: MiMoAE, latent: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Reconstructions ``(N, M, T)`` (float32, the model's scale) of latent vectors ``(N, latent_dim)`` in batches."""
    latent = np.asarray(latent, dtype=np.float32)
    if latent.ndim != 2 or latent.shape[1] != model.latent_dim:
        raise ValueError(f"latent vectors must be (N, {model.latent_dim}), got shape {latent.shape}")
    device = next(model.parameters()).device
    model.eval()
    parts = [model.decode(torch.from_numpy(latent[i:i + batch_size]).to(device)).float().cpu().numpy()
             for i in range(0, len(latent), batch_size)]
    return np.concatenate(parts) if parts else np.empty((0, len(model.modalities), model.window_length), np.float32)


def decoder_sensitivity(model: MiMoAE, latent: np.ndarray, step: float = 0.05, windows: int = 64) -> np.ndarray:
    """How much the decoded windows move per unit of each latent number ``(latent_dim,)``.

    The mean squared change of the reconstruction (the model's scale, per sample)
    per squared change of one latent number, by forward differences of ``step``
    standard deviations of that number, averaged over ``windows`` of ``latent``
    spread evenly through it.
    """
    latent = np.asarray(latent, dtype=np.float32)
    if latent.ndim != 2 or latent.shape[1] != model.latent_dim or not len(latent):
        raise ValueError(f"latent vectors must be (N >= 1, {model.latent_dim}), got shape {latent.shape}")
    sample = latent[np.unique(np.linspace(0, len(latent) - 1, min(windows, len(latent))).astype(int))]
    delta = step * latent.std(axis=0)
    delta[delta == 0] = step
    base = decode_latent(model, sample)
    sensitivity = np.empty(model.latent_dim)
    for dim in range(model.latent_dim):
        moved = sample.copy()
        moved[:, dim] += delta[dim]
        sensitivity[dim] = np.mean((decode_latent(model, moved) - base) ** 2) / delta[dim] ** 2
    return sensitivity


def latents(
    model: MiMoAE, windowset: WindowSet, batch_size: int = 256, present: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Latents ``(N, latent_dim)`` and fusion weights ``(N, M)`` as :func:`predict` gives them, without keeping
    the reconstructions (memory for the latents only)."""
    _, latent, weights = _collect(model, windowset, batch_size, present, reconstructions=False)
    return np.concatenate(latent), np.concatenate(weights)


def present_mask(modalities: list[str], missing: list[str]) -> np.ndarray:
    """Bool ``(M,)`` mask, false for the ``missing`` modalities; unknown names or nothing left present raise."""
    unknown = [name for name in missing if name not in modalities]
    if unknown:
        raise ValueError(f"unknown modality {unknown}; the model's modalities are {list(modalities)}")
    present = np.array([name not in missing for name in modalities])
    if not present.any():
        raise ValueError(f"every modality is marked missing ({list(missing)}); at least one must be present")
    return present


def as_windowset(windows: np.ndarray, modalities: list[str], rate: float = 1.0) -> WindowSet:
    """Wrap an ``(N, M, T)`` array already on the model's (normalised) scale; subjects and starts are blank."""
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 3:
        raise ValueError(f"windows must be an (N, M, T) array, got shape {windows.shape}")
    n = len(windows)
    return WindowSet(windows, np.full(n, ""), np.zeros(n), list(modalities), rate,
                     {"method": "none", "mean": np.zeros((1, windows.shape[1], 1)),
                      "std": np.ones((1, windows.shape[1], 1))})


def impute(
    model: MiMoAE, windows: np.ndarray | WindowSet, missing: list[str], batch_size: int = 256
) -> np.ndarray:
    """Reconstruct every modality ``(N, M, T)`` from the present ones; ``missing`` inputs are fed as zeros and masked.

    Rows of the ``missing`` modalities are the imputed signals; the other rows are
    the model's reconstruction from the same partial input.
    """
    windowset = windows if isinstance(windows, WindowSet) else as_windowset(windows, list(model.modalities))
    present = present_mask(list(model.modalities), list(missing))
    reconstruction, _, _ = predict(model, windowset, batch_size, present=present)  # absent tokens are masked
    return reconstruction


def impute_each(model: MiMoAE, windows: np.ndarray | WindowSet, batch_size: int = 256) -> np.ndarray:
    """``(N, M, T)``: row ``m`` is modality ``m`` reconstructed with only it absent at the input."""
    windowset = windows if isinstance(windows, WindowSet) else as_windowset(windows, list(model.modalities))
    modalities = list(model.modalities)
    if len(modalities) < 2:
        raise ValueError(f"imputation needs at least two modalities; the model has {modalities}")
    imputed = np.empty(windowset.windows.shape, dtype=np.float32)
    for index, modality in enumerate(modalities):
        imputed[:, index] = impute(model, windowset, [modality], batch_size)[:, index]
    return imputed
