"""Papermill sweeps over grids: one run per grid point on Dask and on the local executor, reruns that skip
finished runs, failures reported per run, and the comparison over seeds."""

from __future__ import annotations

import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from distributed import LocalCluster

from mimo_lib import executors
from mimo_lib.cli import build_parser, main, sweep_axes
from mimo_lib.config import ParamsError, flatten, load_params, save_params
from mimo_lib.evaluation import comparison
from mimo_lib.executors import (
    IOPUB_TIMEOUT_S,
    KERNEL_START_FAILURE,
    KERNEL_STARTS,
    LOG_PROGRESS_INTERVAL,
    RUN_RESOURCE,
    progress_interval,
)
from mimo_lib.grid import fusion_settings, grid_points, parse_axis
from mimo_lib.sweep import run_state, run_sweep

pytestmark = pytest.mark.notebooks

SMOKE = "params/smoke.yaml"
GRID = ["model.fusion=concat", "training.seed=0,1"]
POINTS = ["fusion=concat,seed=0", "fusion=concat,seed=1"]


def _papermill_failing(errors: list[Exception]):
    """A stand-in for ``papermill.execute_notebook`` raising ``errors`` in turn, then writing its output."""
    calls = []

    def execute_notebook(notebook, output, **kwargs):
        assert kwargs["iopub_timeout"] == IOPUB_TIMEOUT_S, "a busy kernel's late outputs must not fail the run"
        calls.append(notebook)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        Path(output).write_text("{}")

    return execute_notebook, calls


def test_a_kernel_that_dies_at_start_is_started_again_and_a_cell_error_is_not(monkeypatch, tmp_path):
    port_clash = RuntimeError(KERNEL_START_FAILURE)
    execute_notebook, calls = _papermill_failing([port_clash, port_clash])
    monkeypatch.setattr(executors.pm, "execute_notebook", execute_notebook)
    assert executors.execute("03_training.ipynb", tmp_path / "out.ipynb", {}) == tmp_path / "out.ipynb"
    assert len(calls) == 3

    execute_notebook, calls = _papermill_failing([port_clash] * KERNEL_STARTS)
    monkeypatch.setattr(executors.pm, "execute_notebook", execute_notebook)
    with pytest.raises(RuntimeError, match=KERNEL_START_FAILURE):
        executors.execute("03_training.ipynb", tmp_path / "out.ipynb", {})
    assert len(calls) == KERNEL_STARTS

    execute_notebook, calls = _papermill_failing([RuntimeError("a cell failed")])
    monkeypatch.setattr(executors.pm, "execute_notebook", execute_notebook)
    with pytest.raises(RuntimeError, match="a cell failed"):
        executors.execute("03_training.ipynb", tmp_path / "out.ipynb", {})
    assert len(calls) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_dask_progress_redraws_once_a_minute_into_a_log_file(tmp_path):
    """A cluster job's log gets a line a minute, not ten redraws a second; a terminal keeps Dask's own pace."""
    with open(tmp_path / "sweep.log", "w") as log:
        assert progress_interval(log) == LOG_PROGRESS_INTERVAL == "60s"
    assert progress_interval(_Terminal()) == "100ms"


def test_fusion_files_hold_their_strategy():
    for name in ("concat", "gated", "attention"):
        strategy, settings = fusion_settings(name)
        assert strategy == name
        assert settings["model.fusion"] == name
        assert load_params(SMOKE, settings).model.fusion == name


def test_unknown_fusion_names_the_known_ones():
    with pytest.raises(ParamsError, match=r"unknown fusion strategy 'mean'.*'attention', 'concat', 'gated'"):
        fusion_settings("mean")


def test_flatten_gives_dotted_keys():
    assert flatten({"model": {"fusion": "gated", "stages": [1, 1]}, "loss": {"modality_weights": {}}}) == {
        "model.fusion": "gated", "model.stages": [1, 1], "loss.modality_weights": {}}


def test_grid_points_are_named_by_their_values():
    axes = [parse_axis("model.fusion=concat,params/fusion/gated.yaml"), parse_axis("model.stages=[1,1],[2]"),
            parse_axis("training.seed=0,1")]
    points = grid_points(axes)
    assert [point.name for point in points] == [
        f"fusion={fusion},stages={stages},seed={seed}" for fusion in ("concat", "gated") for stages in ("1-1", "2")
        for seed in (0, 1)]
    assert points[-1].overrides() == {"model.fusion": "gated", "model.stages": [2], "training.seed": 1}


@pytest.mark.parametrize(("axes", "message"), [
    (["model.fuson=concat"], r"unknown params key 'model.fuson': model has \[.*'fusion'"),
    (["training.seed"], r"grid 'training.seed' must look like key=value,value"),
    (["training.seed=0,1", "training.seed=2"], r"grid axes repeat the key\(s\) \['training.seed'\]"),
    (["model.fusion=gated,params/fusion/gated.yaml"], "both give the run name 'fusion=gated'"),
    (["training.seed=1,1"], "repeats a value"),
])
def test_grid_errors_name_the_key_or_the_values(axes, message):
    with pytest.raises(ParamsError, match=message):
        grid_points([parse_axis(text) for text in axes])


def _completed_notebook(path, status="completed"):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    notebook.cells[0].metadata["papermill"] = {"status": status}
    nbformat.write(notebook, path)


def test_run_state_tells_new_finished_failed_and_changed_runs(tmp_path):
    params = load_params(SMOKE)
    run_dir = tmp_path / "fusion=concat"
    assert run_state(run_dir, params.digest()) == "new"
    run_dir.mkdir()
    assert run_state(run_dir, params.digest()) == "failed"
    save_params(params, run_dir / comparison.PARAMS_FILE)
    _completed_notebook(run_dir / "03_training.ipynb")
    _completed_notebook(run_dir / "04_analysis.ipynb", status="failed")
    (run_dir / comparison.per_window_file("test")).write_text("window,modality,method\n")
    comparison.record_headline(run_dir, epochs=1)
    assert run_state(run_dir, params.digest()) == "failed"
    _completed_notebook(run_dir / "04_analysis.ipynb")
    assert run_state(run_dir, params.digest()) == "finished"
    assert run_state(run_dir, load_params(SMOKE, {"training.threads": 3}).digest()) == "finished"
    assert run_state(run_dir, load_params(SMOKE, {"training.epochs": 3}).digest()) == "changed"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """One point of the grid and a broken strategy beside it (it resumes from a checkpoint that does not exist)
    trained for one epoch on a Dask LocalCluster of two worker processes; a grid of one fusion over two seeds on
    the local executor; then there again with an invalid fusion value added."""
    root = tmp_path_factory.mktemp("sweep")
    broken = root / "broken.yaml"
    broken.write_text(yaml.safe_dump({"model": {"fusion": "concat"}, "training": {"resume": str(root / "lost.pt")}}))
    overrides = {"paths.runs": str(root / "runs"), "paths.figures": str(root / "figures"),
                 "paths.processed": str(root / "processed"), "training.epochs": 1}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, resources={RUN_RESOURCE: 1},
                      dashboard_address=None) as cluster:
        on_dask = run_sweep(SMOKE, [f"model.fusion=concat,{broken}", "training.seed=0"], overrides, name="dask",
                            executor="dask", scheduler=cluster.scheduler_address)
    # jobs=1: with jobs=2 the spawned pool workers hung twice in about eight full-suite runs, after their
    # notebooks were written, each holding an idle kernel (an open problem of the local parallel path)
    local = run_sweep(SMOKE, GRID, overrides, name="local", jobs=1)
    written = {point: (root / "runs" / "local" / point / "03_training.ipynb").stat().st_mtime for point in POINTS}
    again = run_sweep(SMOKE, [f"{GRID[0]},mean", GRID[1]], overrides, name="local", jobs=1)
    return root, on_dask, local, again, written


@pytest.mark.slow
def test_dask_and_local_runs_give_identical_metrics(sweeps):
    root, on_dask, local, _, _ = sweeps
    point = POINTS[0]
    assert on_dask.runs[point] == root / "runs" / "dask" / point
    windows = [pd.read_csv(summary.runs[point] / comparison.per_window_file("test")) for summary in (on_dask, local)]
    pd.testing.assert_frame_equal(*windows)


@pytest.mark.slow
def test_failing_run_on_dask_is_reported_with_its_notebook_and_cell(sweeps):
    root, on_dask, _, _, _ = sweeps
    notebook = root / "runs" / "dask" / "fusion=broken,seed=0" / "03_training.ipynb"
    [failure] = on_dask.failures
    assert failure.startswith(f"fusion=broken,seed=0: {notebook} failed in cell [")
    assert "lost.pt" in failure
    assert notebook.is_file()  # the executed copy shows the error under the failing cell
    assert list(on_dask.table.index.unique("strategy")) == ["fusion=concat", "pca-32"]


@pytest.mark.slow
def test_sweep_leaves_executed_notebooks_figures_and_headline_numbers(sweeps):
    root, _, local, _, _ = sweeps
    assert local.failures == [] and local.skipped == [] and local.rerun == {}
    for point in POINTS:
        run_dir = root / "runs" / "local" / point
        analysis = nbformat.read(run_dir / "04_analysis.ipynb", as_version=4)
        outputs = [output for cell in analysis.cells for output in cell.get("outputs", [])]
        # batch runs show no widget (nbclient can hang on one); the notebook still ran to its end
        assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
        assert analysis.cells[-1].metadata.papermill.status == "completed"
        assert (run_dir / "checkpoints" / "best.pt").is_file()
        headline = yaml.safe_load((run_dir / "headline.json").read_text())
        assert headline["epochs"] == 1 and headline["n_parameters"] > 0
        assert np.isfinite(headline["test_mimo-ae_mse"])
        assert load_params(run_dir / "params.yaml").training.seed == int(point[-1])
    assert (root / "runs" / "local" / "05_fusion_comparison.ipynb").is_file()
    assert {p.name for p in local.figures} == {"seeds_test.png", "differences_test.png", "metric_boxes_test.png",
                                               "radar_test.png", "cost.png"}
    assert all(p.parent == root / "figures" / "local" for p in local.figures)


@pytest.mark.slow
def test_comparison_gives_intervals_over_seeds_and_paired_differences(sweeps):
    _, _, local, _, _ = sweeps
    table = pd.read_csv(local.table_file, index_col=["strategy", "modality"])
    modalities = load_params(SMOKE).data.modalities
    assert list(table.index.unique("strategy")) == ["fusion=concat", "pca-32"]
    assert sorted(table.index) == sorted((s, m) for s in table.index.unique("strategy") for m in modalities)
    assert (table["n_seeds"] == 2).all()
    assert (table["mse_low"] <= table["mse_mean"]).all() and (table["mse_mean"] <= table["mse_high"]).all()
    pairs = pd.read_csv(local.differences_file, index_col=["strategy", "versus", "modality"])
    assert sorted(set(pairs.index.droplevel("modality"))) == [("fusion=concat", "pca-32")]
    assert list(local.table.index) == list(table.index) and list(local.differences.index) == list(pairs.index)
    unresolved = ~pairs["mse_resolved"].astype(bool)
    assert local.differences.loc[unresolved.to_numpy(), "mse"].str.endswith("not resolved").all()


@pytest.mark.slow
def test_rerun_skips_finished_points_and_reports_an_invalid_value(sweeps):
    root, _, _, again, written = sweeps
    assert again.skipped == POINTS and again.rerun == {}
    for point in POINTS:
        assert (root / "runs" / "local" / point / "03_training.ipynb").stat().st_mtime == written[point]
    assert [failure.split(":")[0] for failure in again.failures] == ["fusion=mean,seed=0", "fusion=mean,seed=1"]
    assert all("unknown fusion strategy 'mean'" in failure for failure in again.failures)
    assert list(again.table.index.unique("strategy")) == ["fusion=concat", "pca-32"]


def test_cli_grid_defaults_to_the_three_fusions_and_fusion_is_a_grid_on_it():
    def axes(*argv):
        return [(axis.key, axis.values) for axis in sweep_axes(build_parser().parse_args(["sweep", *argv]))]

    assert axes() == [("model.fusion", ("concat", "gated", "attention"))]
    assert axes("--grid", "training.seed=0,1") == [("training.seed", (0, 1))]
    assert axes("--fusion", "gated", "--grid", "training.seed=0,1") == [("model.fusion", ("gated",)),
                                                                       ("training.seed", (0, 1))]


@pytest.mark.parametrize(("argv", "message"), [
    (["--grid", "model.fuson=concat"], "error: unknown params key 'model.fuson'"),
    (["--grid", "training.seed=0,1", "--set", "training.seed=3"], "are grid axes and overrides at once"),
    (["--fusion", "concat", "--grid", "model.fusion=gated"], r"repeat the key\(s\) \['model.fusion'\]"),
    (["--executor", "dask", "--scheduler", "tcp://localhost:1", "--jobs", "2"], "--jobs sets the worker processes"),
])
def test_cli_sweep_errors_are_one_line_before_any_run(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--params", SMOKE, *argv])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and re.search(message, error)
