"""The package's stages import only from the stages before them: config -> data -> model -> training -> evaluation -> workbook."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "mimo_lib"
STAGES = {"config": 0, "registry": 0, "data": 1, "model": 2, "training": 3, "evaluation": 4}
WORKBOOK = 5


def stage_of(module: str) -> int:
    """Stage number of a ``mimo_lib`` module name; modules outside the named stages are the workbook layer."""
    parts = module.split(".")
    return STAGES.get(parts[1], WORKBOOK) if len(parts) > 1 else WORKBOOK


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Every ``mimo_lib`` module a file imports, anywhere in it (functions included), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mimo_lib"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(name if stage_of(name) != WORKBOOK or node.module == "mimo_lib" else node.module, node.lineno)
                      for name in names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("mimo_lib")]
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_against_the_data_flow(path):
    own = stage_of(module_name(path))
    back_edges = [f"line {line}: {name}" for name, line in imported_modules(path) if stage_of(name) > own]
    assert not back_edges, f"{module_name(path)} (stage {own}) imports a later stage: {back_edges}"


def test_the_walk_sees_a_back_edge(tmp_path):
    """The check itself: a data module importing the model is caught, also from inside a function."""
    source = tmp_path / "mimo_lib" / "data" / "bad.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from mimo_lib.model.inference import predict\n")
    assert [(name, stage_of(name)) for name, _ in imported_modules(source)] == [("mimo_lib.model.inference.predict", 2)]
