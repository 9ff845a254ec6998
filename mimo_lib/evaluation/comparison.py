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


def find_runs(sweep_dir: str | Path, split: str = "test") -> dict[str, Path]:
    """Finished run folders in ``sweep_dir`` by fusion name (folder name), sorted by name."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep folder not found: {sweep_dir}")
    return {
        folder.name: folder
        for folder in sorted(sweep_dir.iterdir())
        if (folder / HEADLINE_FILE).is_file() and (folder / per_window_file(split)).is_file()
    }


@dataclass
class SweepRuns:
    """The finished runs of a sweep: per-window metrics (``fusion`` column, baselines included)
    and one headline row per run."""

    per_window: pd.DataFrame
    runs: pd.DataFrame
    metrics: list[str]

    @property
    def fusions(self) -> list[str]:
        return list(self.runs.index)


def load_sweep(sweep_dir: str | Path, split: str = "test") -> SweepRuns:
    """Read every finished run of ``sweep_dir``; a sweep without any raises ``FileNotFoundError``."""
    runs = find_runs(sweep_dir, split)
    if not runs:
        raise FileNotFoundError(
            f"no finished runs in {sweep_dir}: expected sub-folders holding {HEADLINE_FILE} and "
            f"{per_window_file(split)}"
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
        rows.append({"fusion": fusion, **read_headline(folder)})
    per_window = pd.concat([*frames, *baselines.values()], ignore_index=True)
    metrics = [m for m in METRICS if m in per_window.columns]
    if not metrics:
        raise ValueError(f"no metric columns {list(METRICS)} in the per-window files of {sweep_dir}")
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
