"""Robustness of a trained model: missing sensors (cross-modal imputation) and corrupted inputs (denoising).

- **Imputation.** A modality marked absent is fed as zeros and its tokens are
  masked out of the fusion (``present``), so the latent comes from the other modalities only;
  the decoders still reconstruct every modality, the absent ones included.
  :func:`evaluate_imputation` scores each modality once absent (imputed from the
  others) and once present (all modalities seen), on the normalised scale.
- **Denoising.** :func:`evaluate_denoising` corrupts windows with
  :func:`mimo_lib.corruption.corrupt` (fixed seed) and reports, per modality, the
  SNR of the corrupted input and of the model's reconstruction, both against the
  clean window. A model that denoises has output SNR above input SNR.

Both tables are written into a run folder by :func:`write_robustness`.

How well one modality can be imputed from another depends on the data:
:func:`slow_coupling` measures, per subject, how one signal follows the slow part
of another (e.g. respiration against the respiratory baseline of a PPG).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import signal as sps

from mimo_lib.config import CorruptionConfig
from mimo_lib.corruption import corrupt
from mimo_lib.evaluate import predict
from mimo_lib.metrics import METRICS, pearson_r, reconstruction_metrics
from mimo_lib.model import MiMoAE
from mimo_lib.types import WindowSet


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


def _modality_means(target: np.ndarray, reconstruction: np.ndarray) -> dict[str, np.ndarray]:
    """NaN-aware mean over windows of every metric, ``(M,)`` each."""
    values = reconstruction_metrics(target, reconstruction)
    return {name: np.nanmean(values[name], axis=0) for name in METRICS}


def evaluate_imputation(
    model: MiMoAE, windowset: WindowSet, batch_size: int = 256, by_subject: bool = False
) -> pd.DataFrame:
    """Per modality: metrics when it is absent at the input (imputed) and when all modalities are present.

    Columns: ``modality``, ``condition`` (``missing`` | ``present``), ``n_windows`` and
    every metric of :mod:`mimo_lib.metrics` (mean over windows, normalised scale).
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

    ``full`` is the reconstruction with every modality present (:func:`~mimo_lib.evaluate.predict`),
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
    clean = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
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
    run_dir: str | Path,
    split: str = "test",
    sets: dict[str, WindowSet] | None = None,
    checkpoint: str = "best.pt",
    corruption: CorruptionConfig | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write ``imputation_<split>.csv`` and ``imputation_<split>_subjects.csv`` (two or more modalities) and
    ``denoising_<split>.csv`` into a run folder.

    The corruption defaults to the run's ``training.corruption`` (probability 0 read as 1).
    """
    from mimo_lib.run import load_run

    run = load_run(run_dir, checkpoint)
    if sets is not None and split not in sets:
        raise ValueError(f"no {split!r} split among the given windows; available: {sorted(sets)}")
    windows = run.split(split) if sets is None else sets[split]
    corruption = corruption or run.params.training.corruption
    paths = []
    if len(run.modalities) >= 2:
        full, _, _ = predict(run.model, windows)
        imputed = impute_each(run.model, windows)
        for suffix, by_subject in (("", False), ("_subjects", True)):
            paths.append(run.run_dir / f"imputation_{split}{suffix}.csv")
            score_imputation(windows, full, imputed, by_subject).to_csv(paths[-1], index=False)
    paths.append(run.run_dir / f"denoising_{split}.csv")
    evaluate_denoising(run.model, windows, corruption, seed).to_csv(paths[-1], index=False)
    return paths


def _modality_rows(windowset: WindowSet, *names: str) -> list[np.ndarray]:
    index = {name: i for i, name in enumerate(windowset.modalities)}
    missing = [name for name in names if name not in index]
    if missing:
        raise ValueError(f"unknown modality {missing}; the windows hold {list(windowset.modalities)}")
    return [windowset.windows[:, index[name]] for name in names]


def slow_coupling(windowset: WindowSet, target: str, source: str, cutoff_hz: float) -> pd.DataFrame:
    """Per subject: median over windows of Pearson r between ``target`` and ``source`` low-passed at ``cutoff_hz``.

    A sign that changes between subjects means no subject-independent model can
    tell the target's polarity from the source; columns ``subject``, ``windows``, ``median_r``.
    """
    target_rows, source_rows = _modality_rows(windowset, target, source)
    sos = sps.butter(2, cutoff_hz, btype="lowpass", fs=windowset.rate, output="sos")
    slow = sps.sosfiltfilt(sos, source_rows, axis=-1)
    r = pearson_r(target_rows, slow)  # NaN for a constant window: left out of the median
    frame = pd.DataFrame({"subject": np.asarray(windowset.subjects), "r": r})
    grouped = frame.groupby("subject", sort=True)["r"]
    return pd.DataFrame({"windows": grouped.size(), "median_r": grouped.median()}).reset_index()


def lagged_coupling(windowset: WindowSet, target: str, source: str, max_lag_s: float) -> pd.DataFrame:
    """Per subject: the delay at which ``source`` best follows ``target``, and the correlation there.

    For every lag from 0 to ``max_lag_s`` the median over a subject's windows of
    Pearson r between ``target(t)`` and ``source(t + lag)``; the lag with the highest
    median wins. A lag that differs between subjects (e.g. ECG to PPG, the pulse
    transit time plus device delays) means no subject-independent model can place
    the target's events from the source alone. Columns ``subject``, ``windows``,
    ``lag_s``, ``median_r``.
    """
    target_rows, source_rows = _modality_rows(windowset, target, source)
    length = target_rows.shape[-1]
    max_lag = round(max_lag_s * windowset.rate)
    if not 0 <= max_lag < length - 1:
        raise ValueError(f"max_lag_s={max_lag_s} must be >= 0 and shorter than the {length / windowset.rate:g} s windows")
    subjects = np.asarray(windowset.subjects)
    by_lag = np.stack([pearson_r(target_rows[:, : length - lag], source_rows[:, lag:]) for lag in range(max_lag + 1)])
    rows = []
    for subject in sorted(pd.unique(subjects)):
        selection = subjects == subject
        medians = np.nanmedian(by_lag[:, selection], axis=1)
        best = int(np.nanargmax(medians))
        rows.append({"subject": subject, "windows": int(selection.sum()),
                     "lag_s": best / windowset.rate, "median_r": float(medians[best])})
    return pd.DataFrame(rows, columns=["subject", "windows", "lag_s", "median_r"])
