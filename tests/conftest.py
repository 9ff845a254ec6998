"""Shared fixtures: paths to the optional real recordings beside the project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mimo_lib.normalization import zscore_windows
from mimo_lib.types import WindowSet

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Tests train tiny models: one thread per test process is fastest and keeps xdist workers off each other's cores."""
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


def zscored_windowset(raw: np.ndarray, modalities: list[str], rate: float, prefix: str = "S") -> WindowSet:
    """Raw ``(N, M, T)`` windows z-scored per window; subjects ``<prefix>00..02`` in turn, a window every 2 s."""
    windows, normalization = zscore_windows(raw)
    subjects = np.array([f"{prefix}{i % 3:02d}" for i in range(len(raw))])
    return WindowSet(windows, subjects, np.arange(len(raw)) * 2.0, list(modalities), rate, normalization)
