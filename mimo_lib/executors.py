"""Where the runs of a sweep execute: here, in a local process pool, or on a Dask cluster.

A run executes ``03_training`` then ``04_analysis`` with papermill into its run
folder and comes back as a :class:`RunOutcome`: the folder and, when it failed, a
message naming the executed notebook and the failing cell. A failing run never
stops the others.

Threads: a run's kernels train with ``OMP_NUM_THREADS`` threads (``training.threads``
defaults to it), the cores divided by the worker processes. In the local pool that
is ``cores // jobs``; on Dask it is the worker's own thread count, which is that
share already (``LocalCluster(threads_per_worker=...)``, or ``cores / processes``
in ``dask-jobqueue``). A Dask worker runs one run at a time: every run asks for
one unit of the worker resource :data:`RUN_RESOURCE`, and each worker offers one
(``dask worker --resources mimo_run=1``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import papermill as pm
from distributed import Client, Future, LocalCluster, get_worker, progress
from papermill.exceptions import PapermillExecutionError
from tqdm.auto import tqdm

from mimo_lib.config import PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
TRAINING_NOTEBOOK = "03_training.ipynb"
ANALYSIS_NOTEBOOK = "04_analysis.ipynb"
RUN_RESOURCE = "mimo_run"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
KERNEL_STARTS = 3
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"
LOG_PROGRESS_INTERVAL = "60s"
IOPUB_TIMEOUT_S = 120


@dataclass(frozen=True)
class RunTask:
    """One run of a sweep: its name, its run folder, and the params file and overrides it trains with."""

    name: str
    params_file: str
    overrides: dict[str, Any]
    run_dir: Path


@dataclass(frozen=True)
class RunOutcome:
    """A run's folder and, when it failed, why."""

    name: str
    run_dir: Path
    failure: str | None = None

    @property
    def status(self) -> str:
        """``finished`` or ``failed``."""
        return "failed" if self.failure else "finished"


def execute(notebook: str, output: Path, parameters: dict[str, Any]) -> Path:
    """Execute ``notebooks/<notebook>`` with papermill into ``output`` (the kernel runs in notebooks/).

    A kernel that dies before it answers is started again, up to :data:`KERNEL_STARTS` times in all:
    kernels started at the same moment by other processes can be handed the same free port
    (papermill issue 511), and the loser exits with "Address already in use" before running a cell.
    A cell's last outputs may arrive up to :data:`IOPUB_TIMEOUT_S` after it finished (papermill fails
    the cell after 4 s by default, which a kernel on a busy machine can miss after a long training cell).
    """
    output.parent.mkdir(parents=True, exist_ok=True)

    def run() -> Path:
        pm.execute_notebook(
            NOTEBOOK_DIR / notebook, output, parameters=parameters, kernel_name="python3",
            cwd=str(NOTEBOOK_DIR), progress_bar=False, log_output=False, iopub_timeout=IOPUB_TIMEOUT_S,
        )
        return output

    for _ in range(KERNEL_STARTS - 1):
        try:
            return run()
        except RuntimeError as error:
            if KERNEL_START_FAILURE not in str(error):
                raise
    return run()


def failure_message(name: str, notebook: Path, error: BaseException) -> str:
    """``<name>: <notebook> failed in cell [n] with <error>`` (or why it did not run)."""
    if isinstance(error, PapermillExecutionError):
        return f"{name}: {notebook} failed in cell [{error.exec_count}] with {error.ename}: {error.evalue}"
    return f"{name}: {notebook} did not run: {type(error).__name__}: {error}"


def run_task(task: RunTask, threads: int | None = None) -> RunOutcome:
    """Train then analyse one run; its kernels get ``threads`` threads when given, else this process's setting."""
    if threads is not None:
        for variable in THREAD_VARIABLES:
            os.environ[variable] = str(threads)
    parameters = {"params_file": task.params_file, "overrides": task.overrides, "run_dir": str(task.run_dir)}
    # No widget in batch runs: nbclient can wait forever on a cell that displays one, the
    # kernel idle and the notebook written up to it (jupyter/nbclient issue 312).
    batch_only = {ANALYSIS_NOTEBOOK: {"interactive": False}}
    for notebook in (TRAINING_NOTEBOOK, ANALYSIS_NOTEBOOK):
        output = task.run_dir / notebook
        try:
            execute(notebook, output, {**parameters, **batch_only.get(notebook, {})})
        except Exception as error:  # one failing run must not stop the sweep
            return RunOutcome(task.name, task.run_dir, failure_message(task.name, output, error))
    return RunOutcome(task.name, task.run_dir)


def threads_per_worker(workers: int) -> int:
    """This machine's cores shared by ``workers`` processes (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_local(tasks: Sequence[RunTask], jobs: int = 1) -> list[RunOutcome]:
    """Runs one after another in this process (``jobs`` 1), or in ``jobs`` spawned processes of
    :func:`threads_per_worker` threads each; outcomes in the order the runs end."""
    if jobs <= 1 or len(tasks) <= 1:
        return [run_task(task) for task in tqdm(tasks, desc="runs", unit="run", position=0)]
    workers = min(jobs, len(tasks))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(run_task, task, threads_per_worker(workers)) for task in tasks]
        done = tqdm(as_completed(futures), total=len(futures), desc="runs", unit="run", position=0)
        return [future.result() for future in done]


def _run_on_worker(task: RunTask) -> RunOutcome:
    """A run on a Dask worker, its kernels using the worker's threads."""
    return run_task(task, get_worker().state.nthreads)


def local_cluster(workers: int) -> LocalCluster:
    """A Dask cluster on this machine: ``workers`` processes, each running one run at a time with
    :func:`threads_per_worker` threads."""
    return LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker(workers), processes=True,
                        resources={RUN_RESOURCE: 1}, dashboard_address=None)


def _check_workers(client: Client) -> None:
    """Raise unless some worker offers :data:`RUN_RESOURCE` (runs would wait for one forever)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if not any(worker.get("resources", {}).get(RUN_RESOURCE) for worker in workers.values()):
        raise RuntimeError(
            f"no worker of the Dask cluster at {client.scheduler.address} offers the resource {RUN_RESOURCE} "
            f"({len(workers)} worker(s) connected): start workers with --resources {RUN_RESOURCE}=1 "
            f"(dask-jobqueue: worker_extra_args=['--resources', '{RUN_RESOURCE}=1'])"
        )


def _outcome(task: RunTask, future: Future) -> RunOutcome:
    """The run's outcome, or a failure when its Dask task itself failed (e.g. its worker died)."""
    if future.status == "error":
        error = future.exception()
        return RunOutcome(task.name, task.run_dir, f"{task.name}: the Dask task failed: {type(error).__name__}: {error}")
    return future.result()


def progress_interval(stream: Any = None) -> str:
    """How often Dask's text progress bar redraws: Dask's own 100 ms on a terminal, once a minute into
    a log file (a cluster job's output), where every redraw is appended."""
    stream = sys.stdout if stream is None else stream
    return "100ms" if stream.isatty() else LOG_PROGRESS_INTERVAL


def _submit(client: Client, tasks: Sequence[RunTask]) -> list[RunOutcome]:
    _check_workers(client)
    futures = [client.submit(_run_on_worker, task, resources={RUN_RESOURCE: 1}, pure=False) for task in tasks]
    progress(futures, notebook=False, interval=progress_interval())
    return [_outcome(task, future) for task, future in zip(tasks, futures)]


def run_dask(tasks: Sequence[RunTask], jobs: int = 1, scheduler: str | None = None) -> list[RunOutcome]:
    """Runs on the Dask cluster at ``scheduler`` (``tcp://host:port``), else on a :func:`local_cluster` of
    ``jobs`` worker processes, closed afterwards; Dask's progress bar follows the runs."""
    if scheduler:
        with Client(scheduler) as client:
            return _submit(client, tasks)
    with local_cluster(max(1, jobs)) as cluster, Client(cluster) as client:
        return _submit(client, tasks)
