"""What a run folder holds after training and evaluation: metric tables and the figures drawn from them.

The CLI and the sweep call these after :func:`mimo_lib.training.trainer.train` and
:func:`mimo_lib.evaluation.evaluate.evaluate_model`; the notebooks draw the same
figures cell by cell with the :mod:`mimo_lib.plots` functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from mimo_lib.config import load_params
from mimo_lib.data.prepare import prepare
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.evaluate import Evaluation, evaluate_model, write_evaluation
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import predict
from mimo_lib.plots import save_figure
from mimo_lib.plots.reconstruction import (
    plot_fusion_weights,
    plot_latent_projection,
    plot_psd_comparison,
    plot_reconstructions,
)
from mimo_lib.plots.training import plot_loss_curves
from mimo_lib.run import load_run
from mimo_lib.training.checkpoint import load_model
from mimo_lib.training.trainer import TrainResult


def spread_indices(count: int, total: int) -> np.ndarray:
    """``count`` window indices spread evenly over ``total`` windows."""
    return np.linspace(0, total - 1, min(count, total)).astype(int)


def window_titles(windows: WindowSet, indices: np.ndarray) -> list[str]:
    """``<subject> @ <start> s`` for each window index."""
    return [f"{windows.subjects[i]} @ {windows.starts[i]:.0f} s" for i in indices]


def example_reconstructions(model: MiMoAE, windows: WindowSet, count: int) -> Figure:
    """The model's reconstructions of ``count`` windows spread over ``windows``."""
    indices = spread_indices(count, len(windows))
    recon, _, _ = predict(model, windows.subset(indices))
    return plot_reconstructions(windows.windows[indices], {"MiMo-AE": recon}, windows.modalities, windows.rate,
                                indices=range(len(indices)), titles=window_titles(windows, indices))


def _method_reconstructions(evaluation: Evaluation) -> dict[str, np.ndarray]:
    return {evaluation.methods[0]: evaluation.reconstruction, evaluation.methods[1]: evaluation.baseline_reconstruction}


def evaluation_examples(evaluation: Evaluation, n_examples: int = 4) -> Figure:
    """Model and baseline reconstructions of ``n_examples`` windows spread over the evaluated split."""
    ws = evaluation.windows
    indices = spread_indices(n_examples, len(ws))
    return plot_reconstructions(ws.windows, _method_reconstructions(evaluation), ws.modalities, ws.rate, indices,
                                titles=window_titles(ws, indices))


def evaluation_figures(evaluation: Evaluation, n_examples: int = 4) -> dict[str, Figure]:
    """Reconstruction overlays, PSD comparison, fusion weights and latent projection of one evaluation."""
    ws = evaluation.windows
    figures = {
        "reconstructions": evaluation_examples(evaluation, n_examples),
        "psd": plot_psd_comparison(ws.windows, _method_reconstructions(evaluation), ws.modalities, ws.rate),
        "fusion_weights": plot_fusion_weights(evaluation.weights, ws.modalities),
    }
    if len(ws) >= 2:
        figures["latent_pca"] = plot_latent_projection(evaluation.latent, ws.subjects)
    return {f"{name}_{evaluation.split}": figure for name, figure in figures.items()}


def save_figures(figures: dict[str, Figure], folder: Path) -> list[Path]:
    """Save every figure as ``folder/<name>.png`` and close it."""
    paths = []
    for name, figure in figures.items():
        paths.append(save_figure(figure, folder, name))
        plt.close(figure)
    return paths


def save_training_figures(result: TrainResult, sets: dict[str, WindowSet], n_examples: int = 4) -> list[Path]:
    """Loss curves and example validation reconstructions (train when there is no validation split)."""
    examples = sets["val"] if "val" in sets and len(sets["val"]) else sets["train"]
    return save_figures({
        "loss_curves": plot_loss_curves(result.history),
        "reconstructions_val": example_reconstructions(result.model, examples, n_examples),
    }, Path(result.run_dir) / "figures")


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    params_overrides: list[str] | dict[str, Any] | None = None,
    sets: dict[str, WindowSet] | None = None,
    checkpoint: str = "best.pt",
    progress: bool = False,
) -> Evaluation:
    """Evaluate a run folder's checkpoint on ``split`` and write the metric tables into it.

    The run's ``params.yaml`` (plus ``params_overrides``) decides the data; ``sets``
    skips :func:`mimo_lib.data.prepare.prepare` when the windows are already at hand.
    Figures are drawn by the caller (:func:`evaluation_figures`).
    """
    run_dir = Path(run_dir)
    params_path = run_dir / "params.yaml"
    if not params_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {params_path} is missing")
    model, _, _ = load_model(run_dir / "checkpoints" / checkpoint)
    params = load_params(params_path, params_overrides)
    if sets is None:
        sets = prepare(params, progress=progress)
    evaluation = evaluate_model(model, sets, split)
    evaluation.files = write_evaluation(evaluation, run_dir)
    return evaluation


def evaluate_recordings(
    run_dir: str | Path,
    recordings: str | Path,
    mapping: Mapping[str, str] | None = None,
    storage: Mapping[str, Any] | None = None,
    checkpoint: str = "best.pt",
) -> Evaluation:
    """Evaluate a run folder's checkpoint on recordings outside its data, and write the tables into it.

    The recordings are read and prepared as :meth:`mimo_lib.run.TrainedRun.windows`
    does (``mapping`` and ``storage`` for another device's files); PCA is fitted on
    the run's own training windows, as for its splits. The evaluation is named
    ``input-<file or folder name>`` (``metrics_input-<name>.csv`` and the rest).
    """
    run = load_run(run_dir, checkpoint)
    windows = run.windows(recordings, mapping=mapping, storage=storage)
    name = f"input-{Path(recordings).stem}"
    evaluation = evaluate_model(run.model, {"train": run.split("train"), name: windows}, name)
    evaluation.files = write_evaluation(evaluation, Path(run_dir))
    return evaluation
