"""Shared fixtures: paths to the optional real recordings beside the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from helpers import SHARED_DATA


def pytest_configure(config: pytest.Config) -> None:
    """Tests train tiny models: one thread per test process is fastest and keeps xdist workers off each other's cores
    (training reads OMP_NUM_THREADS when training.threads is unset; subprocesses and notebook kernels inherit it)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n 2 --dist loadgroup``: the tests of a module that share a module-scoped fixture run on one
    worker, so that the fixture (a trained run, a sweep) is built once. With ``--no-loadscope-reorder`` the workers
    take the slow end-to-end checks first, those sharing a fixture before the others, so that the longest of them
    does not start last."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        shares_module_fixture = fixtures is not None and any(
            definition.scope == "module" for definitions in fixtures.name2fixturedefs.values()
            for definition in definitions)
        if shares_module_fixture:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.get_closest_marker("xdist_group") is None))


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real recordings not available: {path} is absent (fresh clones do not ship them)")
    return path


@pytest.fixture
def bidmc_dir() -> Path:
    """``../shared/data/bidmc`` (skips when absent)."""
    return _shared("bidmc")


@pytest.fixture
def wfdb_dir() -> Path:
    """``../shared/data/wfdb`` (skips when absent)."""
    return _shared("wfdb")


@pytest.fixture
def neurokit_dir() -> Path:
    """``../shared/data/neurokit`` (skips when absent)."""
    return _shared("neurokit")
