"""CPU threads per training process: explicit, from OMP_NUM_THREADS, or the cores shared by the processes."""

import os

import pytest

from mimo_lib.config import load_params
from mimo_lib.training.threads import busy_cores_hint, training_threads


def test_explicit_threads_win(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert training_threads(5) == 5


def test_omp_num_threads_when_unset(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert training_threads(None, processes_here=2) == 3


def test_cores_shared_by_the_processes(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert training_threads(None) == 16
    assert training_threads(None, processes_here=4) == 4
    assert training_threads(None, processes_here=32) == 1


def test_busy_cores_hint_reads_the_load_average(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 1.0, 1.0))
    assert "load average 1.9 on 2 cores" in busy_cores_hint(2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 1.0, 1.0))
    assert busy_cores_hint(2) is None


def test_threads_do_not_change_the_run_folder_digest():
    assert load_params(overrides={"training.threads": 1}).digest() == load_params().digest()
    with pytest.raises(Exception, match="training.threads"):
        load_params(overrides={"training.threads": 0})
