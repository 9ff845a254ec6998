"""The numbered notebooks: each .py (source of truth) and its .ipynb hold the same cells, without outputs."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from helpers import PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
PAIRS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
EXPECTED = ["01_preprocessing", "02_model", "03_training", "04_analysis", "05_fusion_comparison"]

pytestmark = pytest.mark.notebooks


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ()))) for cell in notebook.cells]


def differences(script: Path, notebook: Path) -> list[str]:
    """How the cells of ``notebook`` differ from those of ``script`` (read by jupytext); empty when in sync."""
    if not notebook.is_file():
        return [f"{notebook.name} is missing (run `make sync`)"]
    expected, found = _cells(jupytext.read(script)), _cells(nbformat.read(notebook, as_version=4))
    problems = [f"{script.name} has {len(expected)} cells, {notebook.name} has {len(found)}"] \
        if len(expected) != len(found) else []
    for number, (a, b) in enumerate(zip(expected, found), start=1):
        if a != b:
            problems.append(f"cell {number} differs: {a[1][:60]!r} in {script.name}, {b[1][:60]!r} in {notebook.name}")
    return problems


def outputs(notebook: Path) -> list[int]:
    """Numbers (1-based) of the code cells that carry outputs or an execution count."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [n for n, cell in enumerate(cells, start=1)
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]


def test_every_numbered_notebook_is_a_pair():
    assert [p.stem for p in PAIRS] == EXPECTED
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) == EXPECTED


@pytest.mark.parametrize("script", PAIRS, ids=lambda p: p.stem)
def test_pair_is_in_sync(script):
    assert differences(script, script.with_suffix(".ipynb")) == []


@pytest.mark.parametrize("script", PAIRS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(script):
    assert outputs(script.with_suffix(".ipynb")) == [], "clear the outputs before committing"


@pytest.mark.parametrize("script", PAIRS, ids=lambda p: p.stem)
def test_notebook_starts_with_one_parameters_cell_then_imports_mimo_lib(script):
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    tagged = [n for n, cell in enumerate(code) if "parameters" in cell.metadata.get("tags", [])]
    assert tagged == [0], "exactly one cell tagged `parameters`, the first code cell"
    assert "mimo_lib" in code[1].source


def test_an_edited_script_is_reported_out_of_sync(tmp_path):
    script = tmp_path / "01_example.py"
    script.write_text("# %% tags=[\"parameters\"]\nparams_file = 'params/default.yaml'\n\n# %%\nimport mimo_lib\n")
    notebook = script.with_suffix(".ipynb")
    nbformat.write(jupytext.read(script), notebook)
    assert differences(script, notebook) == []
    script.write_text(script.read_text().replace("import mimo_lib", "import mimo_lib.config"))
    assert differences(script, notebook) == [
        "cell 2 differs: 'import mimo_lib.config' in 01_example.py, 'import mimo_lib' in 01_example.ipynb"]


def test_an_executed_notebook_is_reported(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", execution_count=1)])
    notebook.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    path = tmp_path / "01_example.ipynb"
    nbformat.write(notebook, path)
    assert outputs(path) == [1]
