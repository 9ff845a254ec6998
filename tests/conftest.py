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
