"""Evaluation of a trained model against the PCA baseline at equal compression.

The PCA baseline keeps as many components as the model's latent size, is fitted
on the training windows only and is scored on the same windows as the model.
Metrics (see :mod:`mimo_lib.metrics`) are computed per window and modality on the
normalised scale, then averaged (NaN-aware) per modality, per subject and overall.
Method names are ``"mimo-ae"`` and ``"pca-<k>"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from mimo_lib.baseline import PCABaseline
from mimo_lib.checkpoint import load_model
from mimo_lib.config import load_params
from mimo_lib.metrics import METRICS, reconstruction_metrics
from mimo_lib.model import MiMoAE
from mimo_lib.plots import save_figure
from mimo_lib.plots.reconstruction import (
    plot_fusion_weights,
    plot_latent_projection,
    plot_psd_comparison,
    plot_reconstructions,
)
from mimo_lib.types import WindowSet

MODEL_METHOD = "mimo-ae"


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


@torch.no_grad()
def predict(
    model: MiMoAE, windowset: WindowSet, batch_size: int = 256, present: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reconstructions ``(N, M, T)``, latents ``(N, latent_dim)`` and fusion weights ``(N, M)`` in batches.

    ``present`` (bool ``(N, M)`` or ``(M,)``) marks which modalities the encoder may see;
    all by default. Runs on the model's device in eval mode.
    """
    if windowset.modalities != list(model.modalities) or windowset.window_length != model.window_length:
        raise ValueError(
            f"windows have modalities {windowset.modalities} and length {windowset.window_length}; the model "
            f"expects {list(model.modalities)} and {model.window_length}"
        )
    device = next(model.parameters()).device
    model.eval()
    mask = None
    if present is not None:
        mask = torch.as_tensor(np.broadcast_to(present, (len(windowset), len(model.modalities))).copy())
    recon, latent, weights = [], [], []
    for start in range(0, len(windowset), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(windowset.windows[start:start + batch_size])).to(device)
        batch_mask = mask[start:start + batch_size].to(device) if mask is not None else None
        output = model(batch, batch_mask)
        recon.append(output.reconstruction.float().cpu().numpy())
        latent.append(output.latent.float().reshape(len(batch), -1).cpu().numpy())
        weights.append(output.weights.float().cpu().numpy())
    if not recon:
        raise ValueError("cannot predict on an empty WindowSet")
    return np.concatenate(recon), np.concatenate(latent), np.concatenate(weights)


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
    k = n_components or model.latent_dim
    k = min(k, len(sets["train"]), sets["train"].windows[0].size)
    baseline = PCABaseline(k).fit(sets["train"].windows)
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


def write_evaluation(evaluation: Evaluation, run_dir: Path, n_examples: int = 4) -> list[Path]:
    """Write ``metrics_<split>.csv`` (summary rows), ``metrics_<split>_windows.csv``, ``metrics_<split>.json`` and figures."""
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
    paths.extend(save_evaluation_figures(evaluation, run_dir / "figures", n_examples))
    return paths


def save_evaluation_figures(evaluation: Evaluation, folder: Path, n_examples: int = 4) -> list[Path]:
    """Reconstruction overlays, PSD comparison, latent projection and fusion weights of one evaluation."""
    ws = evaluation.windows
    recons = {evaluation.methods[0]: evaluation.reconstruction, evaluation.methods[1]: evaluation.baseline_reconstruction}
    indices = np.linspace(0, len(ws) - 1, min(n_examples, len(ws))).astype(int)
    figures = {
        "reconstructions": plot_reconstructions(
            ws.windows, recons, ws.modalities, ws.rate, indices,
            titles=[f"{ws.subjects[i]} @ {ws.starts[i]:.0f} s" for i in indices],
        ),
        "psd": plot_psd_comparison(ws.windows, recons, ws.modalities, ws.rate),
        "fusion_weights": plot_fusion_weights(evaluation.weights, ws.modalities),
    }
    if len(ws) >= 2:
        figures["latent_pca"] = plot_latent_projection(evaluation.latent, ws.subjects)
    paths = []
    for name, figure in figures.items():
        paths.append(save_figure(figure, folder, f"{name}_{evaluation.split}"))
        plt.close(figure)
    return paths


def evaluate_run(
    run_dir: Path,
    split: str = "test",
    params_overrides: list[str] | dict[str, Any] | None = None,
    sets: dict[str, WindowSet] | None = None,
    checkpoint: str = "best.pt",
    progress: bool = False,
) -> Evaluation:
    """Evaluate a run folder's best checkpoint on ``split`` and write metrics and figures into it.

    The run's ``params.yaml`` (plus ``params_overrides``) decides the data; ``sets``
    skips :func:`mimo_lib.prepare.prepare` when the windows are already at hand.
    """
    run_dir = Path(run_dir)
    params_path = run_dir / "params.yaml"
    if not params_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {params_path} is missing")
    model, _, _ = load_model(run_dir / "checkpoints" / checkpoint)
    params = load_params(params_path, params_overrides)
    if sets is None:
        from mimo_lib.prepare import prepare

        sets = prepare(params, progress=progress)
    evaluation = evaluate_model(model, sets, split)
    evaluation.files = write_evaluation(evaluation, run_dir, params.tracking.n_example_windows)
    return evaluation
