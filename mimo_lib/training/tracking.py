"""Run folders and optional Weights & Biases logging.

A run folder ``<paths.runs>/<run name>/`` holds ``params.yaml`` (resolved),
``history.csv``, ``metrics_<split>.csv/.json``, ``figures/`` and ``checkpoints/``.
The default run name is ``<fusion>-<params digest>``; ``training.resume`` is left
out of the digest so a resumed run continues in its own folder.

W&B is optional (``tracking.wandb: true``): it is imported only when enabled and
runs offline when no login is found (``tracking.wandb_mode: auto``), writing under
the run folder. A ``WANDB_MODE`` environment variable always wins.
"""

from __future__ import annotations

import netrc
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from mimo_lib.config import Params, save_params


def run_dir_for(params: Params) -> Path:
    """``<paths.runs>/<tracking.run_name or f"{fusion}-{digest}">`` (not created)."""
    name = params.tracking.run_name
    if not name:
        unresumed = params.model_copy(deep=True)
        unresumed.training.resume = None
        name = f"{params.model.fusion}-{unresumed.digest()}"
    return params.resolve_path(params.paths.runs) / name


def init_run_dir(params: Params, run_dir: Path) -> Path:
    """Create the run folder layout and write the resolved ``params.yaml``."""
    run_dir = Path(run_dir)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    save_params(params, run_dir / "params.yaml")
    return run_dir


def _has_wandb_login() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(params: Params) -> str:
    """``online`` or ``offline`` for ``tracking.wandb_mode`` (auto: online only with a login)."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    mode = params.tracking.wandb_mode
    if mode == "auto":
        return "online" if _has_wandb_login() else "offline"
    return mode


def write_history(history: list[dict[str, Any]], run_dir: Path) -> Path:
    """Write ``history.csv`` (one row per epoch so far) atomically, so an interrupted run keeps its epochs."""
    path = Path(run_dir) / "history.csv"
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    os.close(fd)
    pd.DataFrame(history).to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


class RunLogger:
    """Sends epoch metrics and summaries to W&B when ``tracking.wandb`` is on.

    With W&B off every method returns at once, so the trainer calls it unconditionally.
    """

    def __init__(self, params: Params, run_dir: Path) -> None:
        self.run = None
        if not params.tracking.wandb:
            return
        try:
            import wandb
        except ImportError as error:
            raise ImportError(
                "tracking.wandb is true but the wandb package is not installed; "
                "`pip install wandb` or set tracking.wandb=false"
            ) from error
        self._wandb = wandb
        self.run = wandb.init(
            project=params.tracking.wandb_project,
            name=Path(run_dir).name,
            dir=str(run_dir),
            config=params.to_dict(),
            mode=wandb_mode(params),
            reinit=True,
        )

    @property
    def active(self) -> bool:
        return self.run is not None

    def log_epoch(self, row: dict[str, Any]) -> None:
        """One history row (numbers only), stepped by its epoch."""
        if self.run is not None:
            values = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "epoch"}
            self.run.log(values, step=int(row["epoch"]))

    def log_summary(self, values: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
