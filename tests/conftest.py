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
    """The slow end-to-end checks come first. ``make test`` runs ``pytest -n 2 --dist loadscope
    --no-loadscope-reorder``: each module goes whole to one worker, in this order, so that a module-scoped fixture
    (a trained run, a sweep) is built once and the longest modules do not start last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
