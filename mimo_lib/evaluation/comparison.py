"""Read the runs of a sweep and compare fusion strategies.

A sweep folder holds one run folder per strategy (``<sweep>/<fusion>/``). A run
counts once its analysis has finished, i.e. it holds

- ``headline.json``: the numbers the training and analysis notebooks record
  (``train_seconds``, ``n_parameters``, ``best_epoch``, ...), and
- ``metrics_<split>_windows.csv`` (written by :func:`mimo_lib.evaluation.evaluate.evaluate_run`):
  one row per window, modality and method with the metrics of :mod:`mimo_lib.evaluation.metrics`.

The comparison table has **one row per fusion strategy and modality** and, per
metric, the mean and standard deviation over that split's windows
(``<metric>_mean``, ``<metric>_std``). The PCA baseline scored beside the model
is added after the strategies as a reference "strategy" under its method name
(e.g. ``pca-128``), taken once from the first run that holds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mimo_lib.evaluation.evaluate import MODEL_METHOD
from mimo_lib.evaluation.metrics import METRICS

HEADLINE_FILE = "headline.json"


def per_window_file(split: str) -> str:
    """File name of a run's per-window metrics for ``split``."""
    return f"metrics_{split}_windows.csv"


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to {HEADLINE_FILE}")


def record_headline(run_dir: str | Path, **values: Any) -> Path:
    """Merge ``values`` into the run's ``headline.json`` (created when absent) and return its path."""
    path = Path(run_dir) / HEADLINE_FILE
    content = json.loads(path.read_text()) if path.exists() else {}
    content.update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, default=_plain) + "\n")
    return path


def read_headline(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``headline.json`` as a dict."""
    path = Path(run_dir) / HEADLINE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {HEADLINE_FILE} in run folder {run_dir}: has the run finished?")
    return json.loads(path.read_text())


def is_finished(folder: Path, split: str = "test") -> bool:
    """Whether ``folder`` is a run folder with headline numbers and per-window metrics of ``split``."""
    return (folder / HEADLINE_FILE).is_file() and (folder / per_window_file(split)).is_file()


def find_runs(source: str | Path | Sequence[str | Path], split: str = "test") -> dict[str, Path]:
    """Finished run folders by name: a run folder itself, every run below a folder (a sweep, or ``runs/``),
    or a list of run folders (each must be finished).

    Runs found below a folder are named by their path relative to it.
    """
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"runs folder not found: {folder}")
        if is_finished(folder, split):
            return {folder.name: folder}
        found = sorted(path.parent for path in folder.rglob(HEADLINE_FILE) if is_finished(path.parent, split))
        return {run.relative_to(folder).as_posix(): run for run in found}
    runs = {}
    for item in source:
        run = Path(item)
        if not is_finished(run, split):
            raise FileNotFoundError(f"{run} is not a finished run folder: it needs {HEADLINE_FILE} and "
                                    f"{per_window_file(split)} (train with 03, evaluate with 04)")
        runs[run.name if run.name not in runs else run.as_posix()] = run
    return runs


@dataclass
class SweepRuns:
    """Finished runs side by side: per-window metrics (``fusion`` column: the run's name, which in a
    sweep is its strategy; baselines included) and one headline row per run (``strategy``, ``folder``,
    the numbers of ``headline.json``)."""

    per_window: pd.DataFrame
    runs: pd.DataFrame
    metrics: list[str]

    @property
    def fusions(self) -> list[str]:
        return list(self.runs.index)


def load_runs(source: str | Path | Sequence[str | Path], split: str = "test") -> SweepRuns:
    """Read the finished runs of :func:`find_runs`; none found raises ``FileNotFoundError``."""
    runs = find_runs(source, split)
    if not runs:
        raise FileNotFoundError(
            f"no finished runs in {source}: expected run folders holding {HEADLINE_FILE} and "
            f"{per_window_file(split)} (train with 03_training, evaluate with 04_analysis)"
        )
    frames, rows, baselines = [], [], {}
    for fusion, folder in runs.items():
        path = folder / per_window_file(split)
        frame = pd.read_csv(path)
        missing = {"modality", "method"} - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: columns {sorted(missing)} are missing (columns: {list(frame.columns)})")
        frames.append(frame[frame["method"] == MODEL_METHOD].assign(fusion=fusion))
        for method, rows_of_method in frame[frame["method"] != MODEL_METHOD].groupby("method", sort=False):
            baselines.setdefault(method, rows_of_method.assign(fusion=method))
        headline = read_headline(folder)
        rows.append({**headline, "fusion": fusion, "strategy": headline.get("fusion", fusion), "folder": str(folder)})
    per_window = pd.concat([*frames, *baselines.values()], ignore_index=True)
    metrics = [m for m in METRICS if m in per_window.columns]
    if not metrics:
        raise ValueError(f"no metric columns {list(METRICS)} in the per-window files of {source}")
    info = pd.DataFrame(rows).set_index("fusion")
    return SweepRuns(per_window=per_window, runs=info, metrics=metrics)


def summary_table(per_window: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and standard deviation of each metric per fusion and modality (NaN-aware).

    Rows keep the order in which fusions and modalities first appear; columns are
    ``<metric>_mean, <metric>_std`` per metric, plus ``n_windows``.
    """
    keys = ["fusion", "modality"]
    grouped = per_window.groupby(keys, sort=False)[metrics]
    stats = grouped.agg(["mean", "std"])
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    stats["n_windows"] = grouped.size()
    return stats


def format_mean_std(table: pd.DataFrame, metrics: list[str], digits: int = 3) -> pd.DataFrame:
    """``"mean ± std"`` strings per metric, for display."""

    def number(value: float) -> str:
        return f"{value:#.{digits}g}".rstrip(".")

    def cell(mean: float, std: float) -> str:
        return number(mean) if np.isnan(std) else f"{number(mean)} ± {number(std)}"

    return pd.DataFrame(
        {m: [cell(a, b) for a, b in zip(table[f"{m}_mean"], table[f"{m}_std"])] for m in metrics},
        index=table.index,
    )


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the comparison table as CSV (index columns kept) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path)
    return path
