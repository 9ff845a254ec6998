"""Sweep grids: params keys and the values each takes, one run per combination of values.

``--grid model.fusion=concat,gated --grid training.seed=0,1`` gives four grid
points, each named by its values (``fusion=concat,seed=0``, ...), the name of its
run folder. Values are read as YAML, so ``model.stages=[1,1],[2,2]`` gives two
lists. A value of ``model.fusion`` is a strategy: a name with a file
``params/fusion/<name>.yaml``, or the path of such a file, whose settings are
applied (the file's stem names the run); ``--fusion a b`` is a grid on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mimo_lib.config import PROJECT_ROOT, ParamsError, check_key, flatten, read_yaml, values_label
from mimo_lib.evaluation.comparison import FUSION_KEY

FUSION_DIR = PROJECT_ROOT / "params" / "fusion"
DEFAULT_FUSIONS = ("concat", "gated", "attention")


@dataclass(frozen=True)
class Axis:
    """One params key of a grid and the values it takes, in order."""

    key: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """``"training.seed=0,1,2"`` -> ``Axis("training.seed", (0, 1, 2))``; the key must name a parameter."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ParamsError(f"grid {text!r} must look like key=value,value,..., e.g. training.seed=0,1,2")
    check_key(key)
    try:
        values = yaml.safe_load(f"[{raw}]")
    except yaml.YAMLError as error:
        raise ParamsError(f"grid {text!r}: the values are not valid YAML: {error}") from error
    if len({yaml.safe_dump(value) for value in values}) != len(values):
        raise ParamsError(f"grid {text!r} repeats a value")
    return Axis(key, tuple(values))


def fusion_axis(fusions: Iterable[str | Path]) -> Axis:
    """The grid on ``model.fusion`` that ``--fusion`` gives (names or YAML files)."""
    return Axis(FUSION_KEY, tuple(str(fusion) for fusion in fusions))


def _is_yaml_file(value: Any) -> bool:
    return isinstance(value, str) and Path(value).suffix in {".yaml", ".yml"}


def fusion_settings(fusion: str | Path) -> tuple[str, dict[str, Any]]:
    """A strategy's name and its settings as dotted overrides.

    ``fusion`` is a name with a file ``params/fusion/<name>.yaml``, or the path of a
    YAML file (the name is then the file's stem).
    """
    path = Path(fusion)
    if not _is_yaml_file(str(fusion)):
        path = FUSION_DIR / f"{fusion}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in FUSION_DIR.glob("*.yaml"))
            raise ParamsError(f"unknown fusion strategy {str(fusion)!r}: no {path}; known: {known}")
    return path.stem, flatten(read_yaml(path))


@dataclass(frozen=True)
class GridPoint:
    """One combination of grid values (params key -> value as given) and the run name it gets."""

    name: str
    values: dict[str, Any]

    def overrides(self) -> dict[str, Any]:
        """The point as dotted overrides: a strategy's file settings in place of its ``model.fusion`` value."""
        overrides: dict[str, Any] = {}
        for key, value in self.values.items():
            if key == FUSION_KEY:
                overrides.update(fusion_settings(value)[1])
            else:
                overrides[key] = value
        return overrides


def _shown(key: str, value: Any) -> Any:
    """A value as its run name shows it: a strategy file by its stem."""
    return Path(value).stem if key == FUSION_KEY and _is_yaml_file(value) else value


def grid_points(axes: Sequence[Axis]) -> list[GridPoint]:
    """Every combination of the axes' values, the first axis varying slowest; names must differ."""
    if not axes:
        raise ParamsError("a sweep needs at least one grid axis, e.g. model.fusion=concat,gated")
    keys = [axis.key for axis in axes]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ParamsError(f"grid axes repeat the key(s) {repeated}: give each key once with all its values")
    points: dict[str, GridPoint] = {}
    for combination in itertools.product(*(axis.values for axis in axes)):
        values = dict(zip(keys, combination))
        name = values_label({key: _shown(key, value) for key, value in values.items()})
        if name in points:
            raise ParamsError(f"grid values {points[name].values} and {values} both give the run name {name!r}")
        points[name] = GridPoint(name, values)
    return list(points.values())
