"""The notebook test entry point: every numbered notebook executed under nbval with the smoke params.

``python -m mimo_lib.nbtests nbval`` executes every numbered notebook in order
under nbval with the smoke params, in lax mode: every cell must run without
error, and cells marked ``# NBVAL_CHECK_OUTPUT`` must print what they printed
before. Papermill first writes parameterised copies into ``build/nbval/``; 03
and 04 get one copy per smoke strategy (gated: the browser walkthrough runs the
smoke params' own, concat) and 05 compares them with PCA; 02 shows every
strategy, as a reader runs it. The
committed notebooks carry no outputs, so a notebook with checked cells is
executed once by papermill to record the reference outputs, and nbval's run then
checks that a second execution reproduces them (deterministic preprocessing,
model construction and seeded training). Runs, figures and prepared windows of
the check stay in ``build/nbval/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from tqdm.auto import tqdm

from mimo_lib.config import PROJECT_ROOT
from mimo_lib.executors import NOTEBOOK_DIR
from mimo_lib.grid import fusion_settings

NBVAL_DIR = PROJECT_ROOT / "build" / "nbval"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
SMOKE_PARAMS = "params/smoke.yaml"
SMOKE_FUSIONS = ("gated",)


def numbered_notebooks(suffix: str = ".ipynb") -> list[Path]:
    """``notebooks/NN_*<suffix>`` in order."""
    return sorted(NOTEBOOK_DIR.glob(f"[0-9][0-9]_*{suffix}"))


def _nbval_copies(build_dir: Path, params_file: str, fusions: tuple[str, ...]) -> list[Path]:
    """Parameterised copies of the numbered notebooks, in the order nbval must run them."""
    runs, figures = build_dir / "runs", build_dir / "figures"
    sweep_dir = runs / "smoke"
    base = {"paths.runs": str(runs), "paths.figures": str(figures), "paths.processed": str(build_dir / "processed")}
    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("01_preprocessing", "01_preprocessing", {"overrides": base, "figures_dir": str(figures / "01")}),
        ("02_model", "02_model", {"overrides": base}),
    ]
    for fusion in fusions:
        name, settings = fusion_settings(fusion)
        run = {"overrides": {**settings, **base}, "run_dir": str(sweep_dir / name)}
        plan += [("03_training", f"03_training-{name}", run), ("04_analysis", f"04_analysis-{name}", run)]
    plan.append(("05_fusion_comparison", "05_fusion_comparison", {
        "runs_from": str(sweep_dir), "figures_dir": str(figures / "smoke"),
        "table_file": str(sweep_dir / "comparison_test.csv"),
    }))
    copies = []
    for source, target, parameters in tqdm(plan, desc="reference outputs", unit="notebook"):
        if source != "05_fusion_comparison":
            parameters = {"params_file": params_file, **parameters}
        notebook = NOTEBOOK_DIR / f"{source}.ipynb"
        output = build_dir / f"{target}.ipynb"
        pm.execute_notebook(notebook, output, parameters=parameters, prepare_only=not _has_checked_cells(notebook),
                            kernel_name="python3", cwd=str(NOTEBOOK_DIR), progress_bar=False)
        copies.append(output)
    return copies


def _has_checked_cells(notebook: Path) -> bool:
    return any(CHECK_MARKER in cell.source for cell in nbformat.read(notebook, as_version=4).cells)


def run_nbval(build_dir: Path = NBVAL_DIR, params_file: str = SMOKE_PARAMS,
              fusions: tuple[str, ...] = SMOKE_FUSIONS, pytest_args: list[str] | None = None) -> int:
    """Run the numbered notebooks under nbval with ``params_file``; pytest's exit code."""
    import pytest

    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    copies = _nbval_copies(build_dir, params_file, fusions)
    args = ["--nbval-lax", "--nbval-current-env", "-p", "no:xdist", "-p", "no:cacheprovider",
            *(pytest_args or []), *map(str, copies)]
    return int(pytest.main(args))


def main(argv: list[str] | None = None) -> None:
    """``python -m mimo_lib.nbtests nbval [--params FILE] [pytest args...]``."""
    parser = argparse.ArgumentParser(prog="python -m mimo_lib.nbtests", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    nbval = commands.add_parser("nbval", help="execute the numbered notebooks under nbval with the smoke params")
    nbval.add_argument("--params", default=SMOKE_PARAMS, help="params file for every notebook")
    nbval.add_argument("--build-dir", type=Path, default=NBVAL_DIR)
    args, pytest_args = parser.parse_known_args(argv)
    sys.exit(run_nbval(args.build_dir, args.params, SMOKE_FUSIONS, pytest_args))


if __name__ == "__main__":
    main()
