"""Run folders and optional W&B logging."""

import pytest
from helpers import sine_windows, tiny_params

from mimo_lib.training.tracking import RunLogger, run_dir_for, wandb_mode
from mimo_lib.training.trainer import train


def test_run_dir_names(tmp_path):
    params = tiny_params(tmp_path)
    assert run_dir_for(params) == tmp_path / "runs" / f"concat-{params.digest()}"
    resumed = tiny_params(tmp_path, **{"training.resume": "somewhere/last.pt"})
    assert run_dir_for(resumed) == run_dir_for(params)
    assert run_dir_for(tiny_params(tmp_path, **{"tracking.run_name": "mine"})) == tmp_path / "runs" / "mine"


def test_wandb_off_does_nothing(tmp_path):
    logger = RunLogger(tiny_params(tmp_path), tmp_path)
    assert not logger.active
    logger.log_epoch({"epoch": 1, "train_loss": 1.0})
    logger.finish()


def test_wandb_mode_rules(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    assert wandb_mode(tiny_params(tmp_path, **{"tracking.wandb_mode": "auto"})) == "offline"
    assert wandb_mode(tiny_params(tmp_path, **{"tracking.wandb_mode": "online"})) == "online"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode(tiny_params(tmp_path, **{"tracking.wandb_mode": "auto"})) == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode(tiny_params(tmp_path)) == "disabled"


def test_wandb_offline_run_writes_under_the_run_dir(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="wandb is not installed")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    params = tiny_params(tmp_path, **{"training.epochs": 1, "tracking.wandb": True})
    sets = {"train": sine_windows(32, 0), "val": sine_windows(8, 1, "V")}
    result = train(params, sets, run_dir=tmp_path / "run", progress=False)
    offline_runs = list((result.run_dir / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    assert list(offline_runs[0].glob("*.wandb")), "no W&B log file was written"


def test_sweep_progress_counts_the_epochs_written(tmp_path):
    from mimo_lib.sweep import epochs_done
    from mimo_lib.training.tracking import write_history

    assert epochs_done(tmp_path) == 0
    write_history([{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5}], tmp_path)
    assert epochs_done(tmp_path) == 2
