"""Batch runs: the training and analysis notebooks once per fusion strategy, then the comparison.

``run_sweep("params/default.yaml", ["concat", "gated"], name="demo")`` leaves

```
runs/demo/<fusion>/03_training.ipynb, 04_analysis.ipynb   executed notebooks
runs/demo/<fusion>/params.yaml, history.csv, checkpoints/, metrics_test*.csv/json, figures/
runs/demo/05_fusion_comparison.ipynb, comparison_test.csv
figures/demo/*.png                                         comparison figures
```

A strategy is a name (``params/fusion/<name>.yaml``) or the path of such a YAML
file. Its settings are merged on top of the sweep's params file as dotted
overrides; the sweep's own ``overrides`` are applied last, so they win. The data
are prepared once per distinct preprocessing before any notebook starts, so runs
executed in parallel read the cache instead of racing to write it. A failing run
is reported with its executed notebook and the failing cell; the others still run.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import papermill as pm
from papermill.exceptions import PapermillExecutionError
from tqdm.auto import tqdm

from mimo_lib.config import PROJECT_ROOT, Params, ParamsError, load_params, parse_override, read_yaml
from mimo_lib.data.prepare import prepare
from mimo_lib.evaluation import comparison

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
FUSION_DIR = PROJECT_ROOT / "params" / "fusion"
TRAINING_NOTEBOOK = "03_training.ipynb"
ANALYSIS_NOTEBOOK = "04_analysis.ipynb"
COMPARISON_NOTEBOOK = "05_fusion_comparison.ipynb"


@dataclass
class SweepSummary:
    """What a sweep leaves behind.

    ``table`` shows ``mean ± std`` per metric, one row per strategy and modality
    (the numbers are in ``table_file``); ``runs`` maps each strategy to its run folder.
    """

    table: pd.DataFrame
    figures: list[Path]
    failures: list[str]
    runs: dict[str, Path]
    sweep_dir: Path
    table_file: Path | None = None


@dataclass
class _Plan:
    fusion: str
    params_file: str
    overrides: dict[str, Any]
    run_dir: Path
    params: Params


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections as dotted keys: ``{"model": {"fusion": "gated"}}`` -> ``{"model.fusion": "gated"}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def fusion_settings(fusion: str | Path) -> tuple[str, dict[str, Any]]:
    """A strategy's name and its settings as dotted overrides.

    ``fusion`` is a name with a file ``params/fusion/<name>.yaml``, or the path of a
    YAML file (the name is then the file's stem).
    """
    path = Path(fusion)
    if path.suffix not in {".yaml", ".yml"}:
        path = FUSION_DIR / f"{fusion}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in FUSION_DIR.glob("*.yaml"))
            raise ParamsError(f"unknown fusion strategy {str(fusion)!r}: no {path}; known: {known}")
    return path.stem, flatten(read_yaml(path))


def _as_mapping(overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return dict(parse_override(text) for text in overrides)


def _failure(fusion: str, notebook: Path, error: BaseException) -> str:
    if isinstance(error, PapermillExecutionError):
        return (f"{fusion}: {notebook} failed in cell [{error.exec_count}] with "
                f"{error.ename}: {error.evalue}")
    return f"{fusion}: {notebook} did not run: {type(error).__name__}: {error}"


def execute(notebook: str, output: Path, parameters: dict[str, Any]) -> Path:
    """Execute ``notebooks/<notebook>`` with papermill into ``output`` (the kernel runs in notebooks/)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        NOTEBOOK_DIR / notebook, output, parameters=parameters, kernel_name="python3",
        cwd=str(NOTEBOOK_DIR), progress_bar=False, log_output=False,
    )
    return output


def _run(plan: _Plan) -> list[str]:
    """Train then analyse one strategy; the failures (at most one) as messages."""
    parameters = {"params_file": plan.params_file, "overrides": plan.overrides, "run_dir": str(plan.run_dir)}
    # No widget in batch runs: nbclient can wait forever on a cell that displays one, the
    # kernel idle and the notebook written up to it (jupyter/nbclient issue 312).
    batch_only = {ANALYSIS_NOTEBOOK: {"interactive": False}}
    for notebook in (TRAINING_NOTEBOOK, ANALYSIS_NOTEBOOK):
        output = plan.run_dir / notebook
        try:
            execute(notebook, output, {**parameters, **batch_only.get(notebook, {})})
        except Exception as error:  # one failing run must not stop the sweep
            return [_failure(plan.fusion, output, error)]
    return []


def _limit_threads(threads: int) -> None:
    """Worker initialiser: kernels started from this process share the cores instead of oversubscribing."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def _plan_runs(
    params_file: str, fusions: Iterable[str | Path], overrides: dict[str, Any], sweep_dir: Path
) -> tuple[list[_Plan], list[str]]:
    """One plan per strategy whose params validate; the others as failure messages."""
    plans, failures = [], []
    for fusion in fusions:
        try:
            name, settings = fusion_settings(fusion)
            merged = {**settings, **overrides}
            params = load_params(params_file, merged)
        except ParamsError as error:
            failures.append(f"{fusion}: {error}")
            continue
        plans.append(_Plan(name, params_file, merged, sweep_dir / name, params))
    return plans, failures


def epochs_done(run_dir: Path) -> int:
    """Epochs written to ``<run_dir>/history.csv`` so far (it is rewritten after every epoch)."""
    try:
        with open(run_dir / "history.csv") as handle:
            return max(0, sum(1 for _ in handle) - 1)
    except FileNotFoundError:
        return 0


class EpochProgress:
    """One progress bar per run, following the epochs its ``history.csv`` holds, from a background thread."""

    def __init__(self, plans: list[_Plan], interval: float = 1.0) -> None:
        self.plans, self.interval = plans, interval
        self.stop = threading.Event()
        self.bars = [tqdm(total=plan.params.training.epochs, desc=f"{plan.fusion} epochs", unit="epoch",
                          position=index + 1, leave=False) for index, plan in enumerate(plans)]
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def _update(self) -> None:
        for plan, bar in zip(self.plans, self.bars):
            done = epochs_done(plan.run_dir)
            if done > bar.n:
                bar.update(done - bar.n)

    def _follow(self) -> None:
        while not self.stop.wait(self.interval):
            self._update()

    def __enter__(self) -> EpochProgress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self._update()
        for bar in self.bars:
            bar.close()


def _prepare_data(plans: list[_Plan]) -> dict[str, str]:
    """Build the prepared-window cache once per distinct data setting; failures by strategy."""
    outcome: dict[str, str | None] = {}
    failures = {}
    for plan in plans:
        params = plan.params
        key = params.digest("data", "preprocessing", "paths")
        if key not in outcome:
            try:
                prepare(params, progress=True)
                outcome[key] = None
            except (OSError, ValueError) as error:
                outcome[key] = f"preparing the data failed: {type(error).__name__}: {error}"
        if outcome[key]:
            failures[plan.fusion] = f"{plan.fusion}: {outcome[key]}"
    return failures


def run_sweep(
    params_file: str | Path,
    fusions: Iterable[str | Path],
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    name: str | None = None,
    jobs: int = 1,
) -> SweepSummary:
    """Run 03 and 04 once per strategy into ``<paths.runs>/<name>/<fusion>/``, then 05 over them.

    ``overrides`` are ``"key=value"`` strings or a mapping of dotted keys, applied
    to every run after the strategy's settings. ``jobs`` > 1 executes runs in
    parallel processes, sharing the CPU cores between them.
    """
    fusions = list(fusions)
    if not fusions:
        raise ValueError("run_sweep needs at least one fusion strategy")
    # Kernels run in notebooks/: a file found from here is passed absolute.
    params_file = str(Path(params_file).resolve()) if Path(params_file).is_file() else str(params_file)
    user = _as_mapping(overrides)
    base = load_params(params_file, user)
    name = name or time.strftime("sweep-%Y%m%d-%H%M%S")
    sweep_dir = base.resolve_path(base.paths.runs) / name
    figures_dir = base.resolve_path(base.paths.figures) / name
    plans, failures = _plan_runs(params_file, fusions, user, sweep_dir)
    unprepared = _prepare_data(plans)
    failures += list(unprepared.values())
    ready = [plan for plan in plans if plan.fusion not in unprepared]

    with EpochProgress(ready):
        if jobs > 1 and len(ready) > 1:
            threads = max(1, (os.cpu_count() or 1) // min(jobs, len(ready)))
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_limit_threads,
                                     initargs=(threads,)) as pool:
                futures = [pool.submit(_run, plan) for plan in ready]
                for future in tqdm(as_completed(futures), total=len(futures), desc="runs", unit="run", position=0):
                    failures += future.result()
        else:
            for plan in tqdm(ready, desc="runs", unit="run", position=0):
                failures += _run(plan)

    runs = {plan.fusion: plan.run_dir for plan in ready}
    finished = comparison.find_runs(sweep_dir) if sweep_dir.is_dir() else {}
    table, table_file, figures = pd.DataFrame(), None, []
    if finished:
        table_file = sweep_dir / "comparison_test.csv"
        output = sweep_dir / COMPARISON_NOTEBOOK
        try:
            execute(COMPARISON_NOTEBOOK, output, {
                "runs_from": str(sweep_dir), "figures_dir": str(figures_dir), "table_file": str(table_file),
            })
        except Exception as error:  # report it beside the run failures
            failures.append(_failure("comparison", output, error))
            table_file = None
        else:
            numbers = pd.read_csv(table_file, index_col=["fusion", "modality"])
            metrics = [c.removesuffix("_mean") for c in numbers.columns if c.endswith("_mean")]
            table = comparison.format_mean_std(numbers, metrics)
            figures = sorted(figures_dir.glob("*.png"))
    return SweepSummary(table=table, figures=figures, failures=failures, runs=runs, sweep_dir=sweep_dir,
                        table_file=table_file)
