"""Batch runs: the training and analysis notebooks once per grid point, then the comparison over them.

``run_sweep("params/default.yaml", ["model.fusion=concat,gated", "training.seed=0,1"], name="demo")`` leaves

```
runs/demo/fusion=concat,seed=0/03_training.ipynb, 04_analysis.ipynb   executed notebooks
runs/demo/fusion=concat,seed=0/params.yaml, history.csv, checkpoints/, metrics_test*.csv/json, figures/
...                                                                  one folder per grid point
runs/demo/05_fusion_comparison.ipynb, comparison_test.csv, comparison_test_differences.csv
figures/demo/*.png                                                   comparison figures
```

Grid points and their names come from :mod:`mimo_lib.grid`; the sweep's own
``overrides`` are applied after a point's values (a key cannot be both). Running
the same sweep again skips every point whose run folder finished with the same
resolved params (equal :meth:`~mimo_lib.config.Params.digest`), and reruns, in a
cleared folder, those that failed or whose params changed. The data are prepared
once per distinct preprocessing before any notebook starts, so runs executed in
parallel read the cache instead of racing to write it. Runs execute here, in a
local process pool or on Dask (:mod:`mimo_lib.executors`); a failing run is
reported with its executed notebook and the failing cell while the others go on.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat
import pandas as pd
from tqdm.auto import tqdm

from mimo_lib.config import Params, ParamsError, load_params, parse_override
from mimo_lib.data.prepare import prepare
from mimo_lib.evaluation import comparison
from mimo_lib.executors import (
    ANALYSIS_NOTEBOOK,
    TRAINING_NOTEBOOK,
    RunOutcome,
    RunTask,
    execute,
    failure_message,
    run_dask,
    run_local,
)
from mimo_lib.grid import Axis, GridPoint, grid_points, parse_axis

COMPARISON_NOTEBOOK = "05_fusion_comparison.ipynb"
EXECUTORS = ("local", "dask")

RunState = Literal["new", "finished", "failed", "changed"]


@dataclass
class SweepSummary:
    """What a sweep leaves behind.

    ``runs`` maps every grid point whose params are valid to its run folder;
    ``skipped`` names the points found finished with the same params, ``rerun`` the
    points run again and why (``failed``, ``changed``). ``table`` shows per strategy
    and modality ``mean ± sd [95 % interval]`` over seeds (the numbers are in
    ``table_file``), ``differences`` the paired differences between strategies (the
    numbers are in ``differences_file``); both are empty when no run finished or
    the comparison failed.
    """

    sweep_dir: Path
    runs: dict[str, Path]
    failures: list[str]
    skipped: list[str]
    rerun: dict[str, str]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: list[Path] = field(default_factory=list)
    table_file: Path | None = None
    differences_file: Path | None = None


@dataclass
class _Plan:
    task: RunTask
    params: Params
    state: RunState


def _as_mapping(overrides: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return dict(parse_override(text) for text in overrides)


def _completed(notebook: Path) -> bool:
    """Whether an executed notebook ran to its last cell."""
    if not notebook.is_file():
        return False
    cells = nbformat.read(notebook, as_version=4).cells
    return bool(cells) and cells[-1].metadata.get("papermill", {}).get("status") == "completed"


def run_state(run_dir: Path, digest: str, split: str = "test") -> RunState:
    """What a sweep finds in a run folder: nothing (``new``), a run with the params of ``digest`` that
    ran both notebooks to the end (``finished``) or not (``failed``), or a run with other params (``changed``)."""
    if not run_dir.exists():
        return "new"
    saved = run_dir / comparison.PARAMS_FILE
    if not saved.is_file():
        return "failed"  # stopped before training wrote its params
    try:
        same = load_params(saved).digest() == digest
    except ParamsError:  # written by a version with other keys: not these params
        same = False
    if not same:
        return "changed"
    notebooks = (run_dir / TRAINING_NOTEBOOK, run_dir / ANALYSIS_NOTEBOOK)
    finished = comparison.is_finished(run_dir, split) and all(_completed(path) for path in notebooks)
    return "finished" if finished else "failed"


def _plan_runs(
    params_file: str, points: Sequence[GridPoint], overrides: dict[str, Any], sweep_dir: Path
) -> tuple[list[_Plan], list[str]]:
    """One plan per grid point whose params validate; the others as failure messages."""
    plans, failures = [], []
    for point in points:
        try:
            merged = {**point.overrides(), **overrides}
            params = load_params(params_file, merged)
        except ParamsError as error:
            failures.append(f"{point.name}: {error}")
            continue
        run_dir = sweep_dir / point.name
        plans.append(_Plan(RunTask(point.name, params_file, merged, run_dir), params, run_state(run_dir, params.digest())))
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
        self.bars = [tqdm(total=plan.params.training.epochs, desc=f"{plan.task.name} epochs", unit="epoch",
                          position=index + 1, leave=False) for index, plan in enumerate(plans)]
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def _update(self) -> None:
        for plan, bar in zip(self.plans, self.bars):
            done = epochs_done(plan.task.run_dir)
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
    """Build the prepared-window cache once per distinct data setting; failures by run name."""
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
            failures[plan.task.name] = f"{plan.task.name}: {outcome[key]}"
    return failures


def _execute_runs(plans: list[_Plan], jobs: int, executor: str, scheduler: str | None) -> list[RunOutcome]:
    tasks = [plan.task for plan in plans]
    with EpochProgress(plans):
        return run_dask(tasks, jobs, scheduler) if executor == "dask" else run_local(tasks, jobs)


def _run_pending(plans: list[_Plan], jobs: int, executor: str, scheduler: str | None) -> tuple[set[str], list[str]]:
    """Clear the folders of the runs not found finished, prepare their data, execute them: the names of
    those that finished now and the failure messages."""
    pending = [plan for plan in plans if plan.state != "finished"]
    for plan in pending:
        if plan.task.run_dir.exists():
            shutil.rmtree(plan.task.run_dir)
    unprepared = _prepare_data(pending)
    ready = [plan for plan in pending if plan.task.name not in unprepared]
    outcomes = _execute_runs(ready, jobs, executor, scheduler) if ready else []
    failures = [*unprepared.values(), *(outcome.failure for outcome in outcomes if outcome.failure)]
    return {outcome.name for outcome in outcomes if not outcome.failure}, failures


def _grid_and_overrides(
    grid: Sequence[Axis | str], overrides: Iterable[str] | Mapping[str, Any] | None
) -> tuple[list[GridPoint], dict[str, Any]]:
    """The grid points and the overrides of every run; a key cannot be both a grid axis and an override."""
    axes = [axis if isinstance(axis, Axis) else parse_axis(axis) for axis in grid]
    user = _as_mapping(overrides)
    both = sorted(set(user) & {axis.key for axis in axes})
    if both:
        raise ParamsError(f"{both} are grid axes and overrides at once: give their values in the grid only")
    return grid_points(axes), user


def _compare(run_dirs: list[Path], sweep_dir: Path, figures_dir: Path) -> dict[str, Any]:
    """Execute 05 over ``run_dirs``; its tables (formatted), files and figures as :class:`SweepSummary` fields."""
    table_file = sweep_dir / "comparison_test.csv"
    execute(COMPARISON_NOTEBOOK, sweep_dir / COMPARISON_NOTEBOOK, {
        "runs_from": [str(path) for path in run_dirs], "figures_dir": str(figures_dir), "table_file": str(table_file),
    })
    numbers = pd.read_csv(table_file, index_col=["strategy", "modality"])
    metrics = [column.removesuffix("_mean") for column in numbers.columns if column.endswith("_mean")]
    differences_file = comparison.differences_file(table_file)
    pairs = pd.read_csv(differences_file, index_col=["strategy", "versus", "modality"])
    return {"table": comparison.format_summary(numbers, metrics),
            "differences": comparison.format_differences(pairs, metrics),
            "figures": sorted(figures_dir.glob("*.png")), "table_file": table_file,
            "differences_file": differences_file}


def run_sweep(
    params_file: str | Path,
    grid: Sequence[Axis | str],
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    name: str | None = None,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
) -> SweepSummary:
    """Run 03 and 04 once per grid point into ``<paths.runs>/<name>/<point>/``, then 05 over them.

    ``grid`` holds :class:`~mimo_lib.grid.Axis` objects or ``"key=value,value"`` strings;
    ``overrides`` are ``"key=value"`` strings or a mapping of dotted keys, applied to
    every run after its grid values. ``executor`` ``local`` runs here (``jobs`` 1) or in
    ``jobs`` processes; ``dask`` on the Dask cluster at ``scheduler`` (``tcp://host:port``)
    or else on a local cluster of ``jobs`` worker processes. Either way each run's
    kernels get the cores divided by the worker processes as threads.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise ValueError(f"a scheduler address ({scheduler}) needs the dask executor")
    points, user = _grid_and_overrides(grid, overrides)
    # Kernels run in notebooks/: a file found from here is passed absolute.
    params_file = str(Path(params_file).resolve()) if Path(params_file).is_file() else str(params_file)
    base = load_params(params_file, user)
    name = name or time.strftime("sweep-%Y%m%d-%H%M%S")
    sweep_dir = base.resolve_path(base.paths.runs) / name
    plans, failures = _plan_runs(params_file, points, user, sweep_dir)
    succeeded, run_failures = _run_pending(plans, jobs, executor, scheduler)
    failures += run_failures
    finished = [plan.task.run_dir for plan in plans if plan.state == "finished" or plan.task.name in succeeded]
    compared: dict[str, Any] = {}
    if finished:
        try:
            compared = _compare(finished, sweep_dir, base.resolve_path(base.paths.figures) / name)
        except Exception as error:  # report it beside the run failures
            failures.append(failure_message("comparison", sweep_dir / COMPARISON_NOTEBOOK, error))
    return SweepSummary(
        sweep_dir=sweep_dir, runs={plan.task.name: plan.task.run_dir for plan in plans}, failures=failures,
        skipped=[plan.task.name for plan in plans if plan.state == "finished"],
        rerun={plan.task.name: plan.state for plan in plans if plan.state in ("failed", "changed")}, **compared,
    )
