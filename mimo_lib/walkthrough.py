"""Helpers the numbered notebooks call: where a run and its figures go, and what a run records."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from mimo_lib.config import Params, project_path
from mimo_lib.evaluation.comparison import record_headline
from mimo_lib.evaluation.evaluate import Evaluation
from mimo_lib.model import parameter_counts
from mimo_lib.plots import save_figure
from mimo_lib.training.tracking import run_dir_for
from mimo_lib.training.trainer import TrainResult

__all__ = ["figures_folder", "project_path", "record_evaluation", "record_training", "run_folder", "save"]

def figures_folder(params: Params, figures_dir: str | Path | None, name: str) -> Path:
    """``figures_dir`` when given, else ``<paths.figures>/<name>``."""
    return project_path(figures_dir) if figures_dir else params.resolve_path(params.paths.figures) / name


def run_folder(params: Params, run_dir: str | Path | None) -> Path:
    """``run_dir`` when given, else the run folder the params name (:func:`mimo_lib.training.tracking.run_dir_for`)."""
    return project_path(run_dir) if run_dir else run_dir_for(params)


def record_training(result: TrainResult) -> Path:
    """Write a training run's headline numbers into its ``headline.json``."""
    history = result.history
    best = history.loc[history["epoch"] == result.best_epoch] if "epoch" in history else history.iloc[[-1]]
    losses = {f"best_{key}": float(best[key].iloc[0]) for key in ("train_loss", "val_loss") if key in best}
    return record_headline(
        result.run_dir, fusion=result.model.config.fusion, epochs=len(history), best_epoch=result.best_epoch,
        train_seconds=result.train_seconds, windows_per_second=result.windows_per_second,
        n_parameters=parameter_counts(result.model)["total"], **losses,
    )


def record_evaluation(evaluation: Evaluation, run_dir: str | Path) -> Path:
    """Add the overall metrics of the model and of its baseline on the evaluated split to ``headline.json``."""
    values = {
        f"{evaluation.split}_{method}_{metric}": float(value)
        for method, row in evaluation.overall.iterrows()
        for metric, value in row.items()
        if metric != "n_windows"
    }
    return record_headline(run_dir, **values)


def save(figure: Figure, folder: str | Path, name: str) -> None:
    """Save ``figure`` as ``folder/<name>.png``; returns nothing, so a notebook cell shows only the figure."""
    save_figure(figure, folder, name)
