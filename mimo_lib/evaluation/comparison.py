"""Read finished runs and compare strategies over seeds.

A run folder counts once its analysis has finished, i.e. it holds

- ``params.yaml``: the resolved params the run trained with,
- ``headline.json``: the numbers the training and analysis notebooks record
  (``train_seconds``, ``n_parameters``, ``best_epoch``, ...), and
- ``metrics_<split>_windows.csv`` (written by :func:`mimo_lib.evaluation.evaluate.evaluate_run`):
  one row per window, modality and method with the metrics of :mod:`mimo_lib.evaluation.metrics`.

Runs are told apart by their params. A run's **strategy** is its ``model.fusion``
and every other parameter whose value differs between the runs compared (where
files go, logging and thread counts aside), e.g. ``fusion=gated,latent_dim=32``;
its **seed** is ``training.seed``, the unit of replication:

- :func:`run_scores`: per strategy, seed and modality, each metric's mean over the
  split's windows (runs repeating a strategy and seed are averaged);
- :func:`summary_table`: per strategy and modality, the mean, the standard
  deviation and a t interval over seeds;
- :func:`paired_differences`: per pair of strategies and modality, the mean
  difference over the seeds both have, on the same windows (same data and
  preprocessing), with its t interval; an interval that covers zero leaves the
  difference **not resolved**;
- :func:`fidelity_scores`: per strategy, seed and fidelity measure (beats, rates,
  breaths of whole recordings; ``fidelity_<split>.csv`` written by the analysis
  notebook), the mean over recordings: the same tables and pairs apply to it.

The PCA baseline each run scores beside the model is a strategy of its own, named
by its method (``pca-128``, plus any data setting that differs between the runs),
seed by seed, so it sits in every table and pair.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mimo_lib.config import RUNTIME_KEYS, flatten, read_yaml, values_label
from mimo_lib.evaluation.evaluate import MODEL_METHOD, ORIGINAL_METHOD
from mimo_lib.evaluation.metrics import METRICS

HEADLINE_FILE = "headline.json"
PARAMS_FILE = "params.yaml"
FUSION_KEY = "model.fusion"
SEED_KEY = "training.seed"
CONFIDENCE = 0.95
_DATA_SECTIONS = ("data.", "preprocessing.")
# Where a run's files go, how it is logged and how many threads it uses: not what it computes.
_BOOKKEEPING_SECTIONS = ("paths.", "tracking.")
_RUNTIME = {f"{section}.{key}" for section, key in RUNTIME_KEYS}


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
    """Whether ``folder`` is a run folder with its params, headline numbers and per-window metrics of ``split``."""
    return all((folder / name).is_file() for name in (PARAMS_FILE, HEADLINE_FILE, per_window_file(split)))


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
            raise FileNotFoundError(f"{run} is not a finished run folder: it needs {PARAMS_FILE}, {HEADLINE_FILE} "
                                    f"and {per_window_file(split)} (train with 03, evaluate with 04)")
        runs[run.name if run.name not in runs else run.as_posix()] = run
    return runs


def run_settings(folder: Path) -> dict[str, Any]:
    """A run's resolved params (``params.yaml``) as dotted keys."""
    return flatten(read_yaml(Path(folder) / PARAMS_FILE))


def _is_bookkeeping(key: str) -> bool:
    return key in _RUNTIME or key.startswith(_BOOKKEEPING_SECTIONS)


def strategy_keys(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    """``model.fusion``, then every other params key whose value differs between the runs' settings
    (the seed, ``paths.*``, ``tracking.*`` and :data:`~mimo_lib.config.RUNTIME_KEYS` aside)."""

    def differs(key: str) -> bool:
        return len({json.dumps(values.get(key), sort_keys=True) for values in settings}) > 1

    keys = dict.fromkeys(key for values in settings for key in values)
    return [FUSION_KEY, *(key for key in keys
                          if key not in (FUSION_KEY, SEED_KEY) and not _is_bookkeeping(key) and differs(key))]


def _data_digest(settings: Mapping[str, Any]) -> str:
    """Short hash of a run's data and preprocessing settings: equal digests, equal windows."""
    data = {key: value for key, value in settings.items() if key.startswith(_DATA_SECTIONS)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _read_per_window(folder: Path, split: str) -> pd.DataFrame:
    path = folder / per_window_file(split)
    frame = pd.read_csv(path)
    missing = {"modality", "method"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} are missing (columns: {list(frame.columns)})")
    return frame


@dataclass
class SweepRuns:
    """Finished runs side by side.

    ``per_window``: one row per window, modality and method of every run, with the run's
    ``strategy`` (baselines under their own), ``seed``, ``run`` name and ``data`` digest;
    ``runs``: one row per run (index: its name) with ``strategy``, ``seed``, ``folder`` and
    the numbers of ``headline.json``.
    """

    per_window: pd.DataFrame
    runs: pd.DataFrame
    metrics: list[str]


def load_runs(source: str | Path | Sequence[str | Path], split: str = "test") -> SweepRuns:
    """Read the finished runs of :func:`find_runs`; none found raises ``FileNotFoundError``."""
    runs = find_runs(source, split)
    if not runs:
        raise FileNotFoundError(
            f"no finished runs in {source}: expected run folders holding {PARAMS_FILE}, {HEADLINE_FILE} and "
            f"{per_window_file(split)} (train with 03_training, evaluate with 04_analysis)"
        )
    settings = {name: run_settings(folder) for name, folder in runs.items()}
    keys = strategy_keys(list(settings.values()))
    models, baselines, rows = [], [], []
    for name, folder in runs.items():
        values = settings[name]
        strategy = values_label({key: values.get(key) for key in keys})
        data_label = values_label({key: values.get(key) for key in keys if key.startswith(_DATA_SECTIONS)})
        run = {"run": name, "seed": values.get(SEED_KEY), "data": _data_digest(values)}
        frame = _read_per_window(folder, split)
        is_model = frame["method"] == MODEL_METHOD
        models.append(frame[is_model].assign(strategy=strategy, **run))
        baseline = frame[~is_model]
        baselines.append(baseline.assign(strategy=baseline["method"] + ("," + data_label if data_label else ""), **run))
        rows.append({**read_headline(folder), "run": name, "strategy": strategy, "seed": run["seed"],
                     "folder": str(folder)})
    per_window = pd.concat([*models, *baselines], ignore_index=True)
    metrics = [m for m in METRICS if m in per_window.columns]
    if not metrics:
        raise ValueError(f"no metric columns {list(METRICS)} in the per-window files of {source}")
    return SweepRuns(per_window=per_window, runs=pd.DataFrame(rows).set_index("run"), metrics=metrics)


def run_scores(per_window: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Each metric's mean over windows (NaN-aware) per strategy, seed and modality.

    Index ``(strategy, seed, data, modality)``; runs that repeat a strategy and seed
    (a baseline scored in every run, a run copied elsewhere) are averaged.
    """
    keys = ["strategy", "seed", "data", "modality"]
    per_run = per_window.groupby([*keys, "run"], sort=False)[metrics].mean()
    return per_run.groupby(level=keys, sort=False).mean()


def fidelity_file(split: str) -> str:
    """The per-recording fidelity table the analysis notebook writes into a run folder."""
    return f"fidelity_{split}.csv"


def fidelity_scores(runs: SweepRuns, split: str = "test") -> pd.DataFrame:
    """Each fidelity measure's mean over recordings per strategy, seed and measure (column ``value``).

    Index ``(strategy, seed, data, measure)``, ``measure`` reading e.g. ``"II r_peak_f1_50ms (fraction)"``;
    the original signal's own score (the detectors' floor against the reference) and PCA are
    strategies of their own, as in :func:`run_scores`. Runs without ``fidelity_<split>.csv`` are
    left out; an empty frame means none has it.
    """
    data = runs.per_window.groupby("run")["data"].first()
    rows = []
    for name, run in runs.runs.iterrows():
        path = Path(run["folder"]) / fidelity_file(split)
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        table["measure"] = table["modality"] + " " + table["measure"] + " (" + table["unit"] + ")"
        means = table.groupby(["method", "measure"], sort=False)["value"].mean().reset_index()
        means["strategy"] = means["method"].where(means["method"] != MODEL_METHOD, run["strategy"])
        rows.append(means.assign(seed=run["seed"], data=data[name], run=name))
    if not rows:
        return pd.DataFrame({"value": []}, index=pd.MultiIndex.from_tuples([], names=["strategy", "seed", "data", "measure"]))
    keys = ["strategy", "seed", "data", "measure"]
    frame = pd.concat(rows, ignore_index=True)
    # the runs' strategies first, then the baselines, the original's floor last
    order = [*runs.runs["strategy"].unique(), *sorted(set(frame["strategy"]) - set(runs.runs["strategy"]),
                                                      key=lambda name: (name == ORIGINAL_METHOD, name))]
    per_run = frame.groupby([*keys, "run"], sort=False)[["value"]].mean()
    return per_run.groupby(level=keys, sort=False).mean().reindex(order, level="strategy")


def _interval(mean: pd.Series, sd: pd.Series, n: pd.Series, confidence: float) -> tuple[pd.Series, pd.Series]:
    """The two-sided t interval of a mean over ``n`` values with standard deviation ``sd`` (NaN for n < 2)."""
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
    return mean - half, mean + half


def _over_seeds(values: pd.DataFrame, metrics: list[str], by: str | list[str], centre: str,
                confidence: float) -> pd.DataFrame:
    """Per group of ``by``: ``<metric>_<centre>`` (the mean over seeds), its interval and ``n_seeds``."""
    grouped = values.groupby(level=by, sort=False)[metrics]
    mean, sd, n = grouped.mean(), grouped.std(), grouped.count()
    columns: dict[str, pd.Series] = {}
    for metric in metrics:
        low, high = _interval(mean[metric], sd[metric], n[metric], confidence)
        columns |= {f"{metric}_{centre}": mean[metric], f"{metric}_sd": sd[metric],
                    f"{metric}_low": low, f"{metric}_high": high}
    table = pd.DataFrame(columns)
    table["n_seeds"] = grouped.size()
    return table


def summary_table(scores: pd.DataFrame, metrics: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per strategy and modality, each metric over seeds: ``<metric>_mean``, ``_sd``, and ``_low``, ``_high``
    (the t interval at ``confidence``; NaN with one seed), plus ``n_seeds``.

    ``scores`` comes from :func:`run_scores` (or :func:`fidelity_scores`: per measure instead of
    modality); rows keep the order in which strategies and modalities first appear.
    """
    return _over_seeds(scores, metrics, ["strategy", scores.index.names[-1]], "mean", confidence)


def paired_differences(scores: pd.DataFrame, metrics: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per pair of strategies and modality, ``strategy`` minus ``versus`` over the seeds both have, on the
    same windows: ``<metric>_diff`` (mean difference), ``_sd``, ``_low``, ``_high`` (t interval at
    ``confidence``), ``_resolved`` (the interval excludes zero), plus ``n_seeds``.

    Pairs follow the order of the strategies in ``scores`` (from :func:`run_scores`); pairs
    with no seed in common on the same data are left out.
    """
    item = scores.index.names[-1]  # modality, or measure for fidelity scores
    by_strategy = {name: frame.droplevel("strategy") for name, frame in scores.groupby(level="strategy", sort=False)}
    modalities = list(scores.index.unique(item))
    pairs = {}
    for first, second in itertools.combinations(by_strategy, 2):
        # aligned on (seed, data, modality): the same seeds on the same windows
        difference = (by_strategy[first] - by_strategy[second]).dropna(how="all")
        if difference.empty:
            continue
        table = _over_seeds(difference, metrics, item, "diff", confidence)
        for metric in metrics:
            table[f"{metric}_resolved"] = (table[f"{metric}_low"] > 0) | (table[f"{metric}_high"] < 0)
        pairs[(first, second)] = table.reindex([m for m in modalities if m in table.index])
    if not pairs:
        columns = [f"{m}_{part}" for m in metrics for part in ("diff", "sd", "low", "high", "resolved")]
        return pd.DataFrame(columns=[*columns, "n_seeds"],
                            index=pd.MultiIndex.from_tuples([], names=["strategy", "versus", item]))
    return pd.concat(pairs, names=["strategy", "versus"])


def _number(value: float, digits: int, sign: bool = False) -> str:
    return f"{value:{'+' if sign else ''}#.{digits}g}".rstrip(".")


def format_summary(table: pd.DataFrame, metrics: list[str], digits: int = 3) -> pd.DataFrame:
    """``"mean ± sd [low, high]"`` per metric (the mean alone with one seed), and the number of seeds."""

    def cell(row: pd.Series, metric: str) -> str:
        text = _number(row[f"{metric}_mean"], digits)
        if np.isfinite(row[f"{metric}_sd"]):
            text += f" ± {_number(row[f'{metric}_sd'], digits)}"
        if np.isfinite(row[f"{metric}_low"]):
            text += f" [{_number(row[f'{metric}_low'], digits)}, {_number(row[f'{metric}_high'], digits)}]"
        return text

    shown = pd.DataFrame({m: [cell(row, m) for _, row in table.iterrows()] for m in metrics}, index=table.index)
    shown["seeds"] = table["n_seeds"].astype(int)
    return shown


def format_differences(pairs: pd.DataFrame, metrics: list[str], digits: int = 3) -> pd.DataFrame:
    """``"+diff [low, high]"`` per metric, followed by ``not resolved`` where the interval covers zero
    (or cannot be drawn from one seed), and the number of seeds."""

    def cell(row: pd.Series, metric: str) -> str:
        text = _number(row[f"{metric}_diff"], digits, sign=True)
        if np.isfinite(row[f"{metric}_low"]):
            text += f" [{_number(row[f'{metric}_low'], digits)}, {_number(row[f'{metric}_high'], digits)}]"
        return text if row[f"{metric}_resolved"] else f"{text} not resolved"

    shown = pd.DataFrame({m: [cell(row, m) for _, row in pairs.iterrows()] for m in metrics}, index=pairs.index)
    shown["seeds"] = pairs["n_seeds"].astype(int)
    return shown


def format_measures(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A :func:`summary_table` of :func:`fidelity_scores` as measures (rows) by strategies (columns),
    each cell as in :func:`format_summary`; empty when there are no scores."""
    if table.empty:
        return pd.DataFrame()
    shown = format_summary(table, ["value"], digits)["value"]
    return shown.unstack("strategy").reindex(columns=list(table.index.unique("strategy")))


def differences_file(table_file: str | Path) -> Path:
    """Where the paired differences go beside the comparison table: ``<table>_differences.csv``."""
    table_file = Path(table_file)
    return table_file.with_name(f"{table_file.stem}_differences{table_file.suffix}")


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a comparison table as CSV (index columns kept) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path)
    return path
