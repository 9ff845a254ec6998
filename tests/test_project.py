"""The install paths agree: environment.yml lists what pyproject.toml declares."""

from __future__ import annotations

import tomllib

import yaml
from helpers import PROJECT_ROOT


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.update(extra)
    return requirements


def _conda_pip_requirements() -> set[str]:
    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_sections = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
    assert len(pip_sections) == 1, "environment.yml should have one pip section"
    return {line for line in pip_sections[0] if not line.startswith("-e")}


def test_environment_yml_lists_the_pyproject_dependencies():
    assert _conda_pip_requirements() == _pyproject_requirements()


def test_environment_yml_pins_python_311():
    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]


def test_torch_is_pinned_everywhere():
    assert "torch==2.13.0" in _pyproject_requirements()
    assert "torch==2.13.0" in _conda_pip_requirements()
    unpinned = [line for line in (PROJECT_ROOT / "Makefile").read_text().splitlines()
                if "torch" in line and "torch==2.13.0" not in line]
    assert not unpinned, f"Makefile mentions torch without the pin: {unpinned}"
