"""Robustness of a trained model: missing sensors (cross-modal imputation) and corrupted inputs (denoising).

- **Imputation.** A modality marked absent is fed as zeros and its tokens are
  masked out of the fusion (``present``), so the latent comes from the other modalities only;
  the decoders still reconstruct every modality, the absent ones included.
  :func:`evaluate_imputation` scores each modality once absent (imputed from the
  others) and once present (all modalities seen), on the normalised scale.
- **Denoising.** :func:`evaluate_denoising` corrupts windows with
  :func:`mimo_lib.training.corruption.corrupt` (fixed seed) and reports, per modality, the
  SNR of the corrupted input and of the model's reconstruction, both against the
  clean window. A model that denoises has output SNR above input SNR.

Both tables are written into a run folder by :func:`write_robustness`.
How well one modality can be imputed from another depends on the data
(:mod:`mimo_lib.data.coupling`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mimo_lib.config import CorruptionConfig
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.metrics import METRICS, reconstruction_metrics
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import impute_each, predict
from mimo_lib.training.corruption import corrupt


def _modality_means(target: np.ndarray, reconstruction: np.ndarray) -> dict[str, np.ndarray]:
    """NaN-aware mean over windows of every metric, ``(M,)`` each."""
    values = reconstruction_metrics(target, reconstruction)
    return {name: np.nanmean(values[name], axis=0) for name in METRICS}


def evaluate_imputation(
    model: MiMoAE, windowset: WindowSet, batch_size: int = 256, by_subject: bool = False
) -> pd.DataFrame:
    """Per modality: metrics when it is absent at the input (imputed) and when all modalities are present.

    Columns: ``modality``, ``condition`` (``missing`` | ``present``), ``n_windows`` and
    every metric of :mod:`mimo_lib.evaluation.metrics` (mean over windows, normalised scale).
    ``by_subject`` adds a ``subject`` column and scores each subject's windows apart,
    which shows whether a cross-modal relation holds for every subject or only on average.
    """
    if len(windowset) == 0:
        raise ValueError("cannot evaluate imputation on an empty WindowSet")
    imputed = impute_each(model, windowset, batch_size)
    full, _, _ = predict(model, windowset, batch_size)
    return score_imputation(windowset, full, imputed, by_subject)


def score_imputation(
    windowset: WindowSet, full: np.ndarray, imputed: np.ndarray, by_subject: bool = False
) -> pd.DataFrame:
    """The table of :func:`evaluate_imputation` from predictions already made.

    ``full`` is the reconstruction with every modality present (:func:`~mimo_lib.model.inference.predict`),
    ``imputed`` that of :func:`impute_each`; scoring both ways (pooled and by subject) needs them once.
    """
    subjects = np.asarray(windowset.subjects)
    groups = {str(s): subjects == s for s in pd.unique(subjects)} if by_subject else {"": np.ones(len(subjects), bool)}
    present_values = reconstruction_metrics(windowset.windows, full)
    missing_values = reconstruction_metrics(windowset.windows, imputed)
    rows = []
    for index, modality in enumerate(windowset.modalities):
        for condition, values in (("missing", missing_values), ("present", present_values)):
            for subject, selection in groups.items():
                scores = {name: float(np.nanmean(values[name][selection, index])) for name in METRICS}
                rows.append({"modality": modality, "condition": condition, "subject": subject,
                             "n_windows": int(selection.sum()), **scores})
    columns = ["modality", "condition", *(["subject"] if by_subject else []), "n_windows", *METRICS]
    return pd.DataFrame(rows)[columns]


def corrupt_windows(
    windows: np.ndarray, corruption: CorruptionConfig, sampling_rate: float, seed: int = 0
) -> np.ndarray:
    """Corrupted copy of ``(N, M, T)`` windows; a probability of 0 is taken as 1 (every window corrupted)."""
    if corruption.probability == 0:
        corruption = corruption.model_copy(update={"probability": 1.0})
    generator = torch.Generator().manual_seed(seed)
    clean = torch.from_numpy(np.array(windows, dtype=np.float32))  # a copy: windows may be a read-only memmap
    return corrupt(clean, corruption, sampling_rate, generator).numpy()


def evaluate_denoising(
    model: MiMoAE, windowset: WindowSet, corruption: CorruptionConfig, seed: int = 0, batch_size: int = 256
) -> pd.DataFrame:
    """Per modality: SNR (dB) and MSE of the corrupted input and of its reconstruction, against the clean windows.

    ``clean_output_snr_db`` is the reconstruction SNR of the uncorrupted windows,
    the ceiling the denoised output can approach. Means over windows.
    """
    if len(windowset) == 0:
        raise ValueError("cannot evaluate denoising on an empty WindowSet")
    clean = windowset.windows
    noisy = corrupt_windows(clean, corruption, windowset.rate, seed)
    corrupted = WindowSet(noisy, windowset.subjects, windowset.starts, windowset.modalities, windowset.rate,
                          windowset.normalization)
    denoised, _, _ = predict(model, corrupted, batch_size)
    reference, _, _ = predict(model, windowset, batch_size)
    before, after, ceiling = (_modality_means(clean, x) for x in (noisy, denoised, reference))
    table = pd.DataFrame({
        "modality": list(windowset.modalities),
        "n_windows": len(windowset),
        "input_snr_db": before["snr_db"],
        "output_snr_db": after["snr_db"],
        "input_mse": before["mse"],
        "output_mse": after["mse"],
        "clean_output_snr_db": ceiling["snr_db"],
    })
    table["snr_gain_db"] = table["output_snr_db"] - table["input_snr_db"]
    return table


def write_robustness(
    model: MiMoAE,
    windows: WindowSet,
    run_dir: str | Path,
    split: str,
    corruption: CorruptionConfig,
    seed: int = 0,
) -> list[Path]:
    """Write ``imputation_<split>.csv`` and ``imputation_<split>_subjects.csv`` (two or more modalities) and
    ``denoising_<split>.csv`` of ``model`` on ``windows`` into ``run_dir``.

    A corruption probability of 0 is read as 1 (every window corrupted).
    """
    run_dir = Path(run_dir)
    paths = []
    if len(model.modalities) >= 2:
        full, _, _ = predict(model, windows)
        imputed = impute_each(model, windows)
        for suffix, by_subject in (("", False), ("_subjects", True)):
            paths.append(run_dir / f"imputation_{split}{suffix}.csv")
            score_imputation(windows, full, imputed, by_subject).to_csv(paths[-1], index=False)
    paths.append(run_dir / f"denoising_{split}.csv")
    evaluate_denoising(model, windows, corruption, seed).to_csv(paths[-1], index=False)
    return paths
