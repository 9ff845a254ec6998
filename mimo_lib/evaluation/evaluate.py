"""Evaluation of a trained model against the PCA baseline at equal compression.

The PCA baseline keeps as many components as the model's latent size, is fitted
on the training windows only and is scored on the same windows as the model.
Metrics (see :mod:`mimo_lib.evaluation.metrics`) are computed per window and modality on the
normalised scale, then averaged (NaN-aware) per modality, per subject and overall.
Method names are ``"mimo-ae"`` and ``"pca-<k>"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.baselines import fit_pca
from mimo_lib.evaluation.metrics import METRICS, reconstruction_metrics
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import predict

MODEL_METHOD = "mimo-ae"
ORIGINAL_METHOD = "original"  # the original signal scored as a method: the detectors' floor in fidelity tables


@dataclass
class Evaluation:
    """Per-window metrics, summary tables and the predictions they came from."""

    split: str
    per_window: pd.DataFrame
    per_modality: pd.DataFrame
    per_subject: pd.DataFrame
    overall: pd.DataFrame
    windows: WindowSet
    reconstruction: np.ndarray
    baseline_reconstruction: np.ndarray
    latent: np.ndarray
    weights: np.ndarray
    methods: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def metrics_table(windowset: WindowSet, reconstruction: np.ndarray, method: str) -> pd.DataFrame:
    """Tidy per-window table: window, subject, start, modality, method and every metric."""
    values = reconstruction_metrics(windowset.windows, reconstruction)
    n, m = values["mse"].shape
    table = pd.DataFrame({
        "window": np.repeat(np.arange(n), m),
        "subject": np.repeat(np.asarray(windowset.subjects).astype(str), m),
        "start": np.repeat(np.asarray(windowset.starts, dtype=float), m),
        "modality": np.tile(windowset.modalities, n),
        "method": method,
    })
    for name in METRICS:
        table[name] = values[name].reshape(-1)
    return table


def summarize(per_window: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """NaN-aware mean of every metric per group, methods side by side in adjacent rows."""
    table = per_window.groupby([*by, "method"], sort=False)[list(METRICS)].mean()
    table["n_windows"] = per_window.groupby([*by, "method"], sort=False)["window"].nunique()
    return table.sort_index(level=list(range(len(by))), sort_remaining=False)


def evaluate_model(
    model: MiMoAE,
    sets: dict[str, WindowSet],
    split: str = "test",
    batch_size: int = 256,
    n_components: int | None = None,
) -> Evaluation:
    """Score ``model`` and a PCA baseline (fitted on ``sets["train"]``) on ``sets[split]``.

    ``n_components`` defaults to the model's latent size (equal compression).
    """
    for needed in ("train", split):
        if needed not in sets or len(sets[needed]) == 0:
            raise ValueError(f"evaluation needs a non-empty {needed!r} split; available: {sorted(sets)}")
    windows = sets[split]
    baseline = fit_pca(sets["train"].windows, n_components or model.latent_dim)
    k = baseline.n_components
    baseline_recon = baseline.reconstruct(windows.windows)
    recon, latent, weights = predict(model, windows, batch_size)
    methods = [MODEL_METHOD, f"pca-{k}"]
    per_window = pd.concat(
        [metrics_table(windows, recon, methods[0]), metrics_table(windows, baseline_recon, methods[1])],
        ignore_index=True,
    )
    overall = per_window.groupby("method", sort=False)[list(METRICS)].mean()
    overall["n_windows"] = len(windows)
    return Evaluation(
        split=split, per_window=per_window, per_modality=summarize(per_window, ["modality"]),
        per_subject=summarize(per_window, ["subject"]), overall=overall, windows=windows,
        reconstruction=recon, baseline_reconstruction=baseline_recon, latent=latent, weights=weights,
        methods=methods,
    )


def _nested(table: pd.DataFrame) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for (group, method), row in table.iterrows():
        result.setdefault(str(group), {})[method] = {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
    return result


def write_evaluation(evaluation: Evaluation, run_dir: Path) -> list[Path]:
    """Write ``metrics_<split>.csv`` (summary rows), ``metrics_<split>_windows.csv`` and ``metrics_<split>.json``."""
    run_dir = Path(run_dir)
    split = evaluation.split
    summary = pd.concat([
        evaluation.overall.assign(level="overall", group="all").reset_index(),
        evaluation.per_modality.reset_index().rename(columns={"modality": "group"}).assign(level="modality"),
        evaluation.per_subject.reset_index().rename(columns={"subject": "group"}).assign(level="subject"),
    ], ignore_index=True)[["level", "group", "method", *METRICS, "n_windows"]]
    paths = [run_dir / f"metrics_{split}.csv", run_dir / f"metrics_{split}_windows.csv", run_dir / f"metrics_{split}.json"]
    summary.to_csv(paths[0], index=False)
    evaluation.per_window.to_csv(paths[1], index=False)
    overall = {method: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
               for method, row in evaluation.overall.iterrows()}
    paths[2].write_text(json.dumps({
        "split": split, "methods": evaluation.methods, "n_windows": len(evaluation.windows), "overall": overall,
        "per_modality": _nested(evaluation.per_modality), "per_subject": _nested(evaluation.per_subject),
    }, indent=2))
    return paths
