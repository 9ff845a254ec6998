"""Every Python and shell example in README.md runs as written.

A code block runs unless the line before it reads ``<!-- example: skip: <reason> -->``
(network, GPUs); skipped blocks print their reason. Examples run in a folder
that stands in for a clone after ``make demo``: ``runs/demo/fusion=concat`` is a smoke
run and ``data/raw/synthetic`` the default synthetic cohort. Paths the examples do not find
there resolve against the project, as ``mimo`` resolves them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import PROJECT_ROOT, smoke_run

from mimo_lib.config import load_params
from mimo_lib.data.sources.synthetic import write_synthetic_cohort

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"(?:<!-- example: skip: (?P<skip>[^\n]*?) -->\n)?```(?P<language>python|bash)\n(?P<code>.*?)```",
                   re.S)


def readme_examples() -> list[tuple[str, str, str | None]]:
    """``(language, code, skip reason or None)`` of every python or bash block in README.md, in order."""
    text = (PROJECT_ROOT / "README.md").read_text()
    return [(m["language"], m["code"], m["skip"]) for m in BLOCK.finditer(text)]


def test_the_readme_has_runnable_examples_and_marks_the_rest():
    examples = readme_examples()
    assert sum(skip is None for _, _, skip in examples) >= 3
    for language, code, skip in examples:
        if skip is not None:
            print(f"skipped {language} example ({skip}): {code.splitlines()[0]}")
    assert all(skip for _, _, skip in examples if skip is not None), "a skip marker must give its reason"


@pytest.fixture(scope="module")
def demo_clone(tmp_path_factory):
    """A working folder where ``runs/demo/fusion=concat`` and ``data/raw/synthetic`` exist as after ``make demo``."""
    folder = tmp_path_factory.mktemp("clone")
    run_dir = smoke_run(folder / "work")
    (folder / "runs" / "demo").mkdir(parents=True)
    (folder / "runs" / "demo" / "fusion=concat").symlink_to(run_dir)
    write_synthetic_cohort(load_params("params/default.yaml").data.synthetic, folder / "data" / "raw" / "synthetic")
    return folder


@pytest.mark.parametrize("index", range(len(readme_examples())))
def test_readme_example_runs_as_written(index, demo_clone):
    language, code, skip = readme_examples()[index]
    if skip is not None:
        pytest.skip(f"README example {index} ({language}): {skip}")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", code] if language == "python" else ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=demo_clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README {language} example failed:\n{code}\n--- stderr ---\n{done.stderr[-3000:]}"
