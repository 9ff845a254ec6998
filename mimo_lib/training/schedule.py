"""Per-epoch learning-rate schedule: linear warm-up, then cosine, step, plateau or constant."""

from __future__ import annotations

import math
from typing import Any

import torch

from mimo_lib.config import Params


class EpochSchedule:
    """Per-epoch learning rate: linear warm-up, then cosine / step / plateau / none."""

    def __init__(self, optimizer: torch.optim.Optimizer, params: Params) -> None:
        cfg = params.training
        self.optimizer, self.cfg = optimizer, cfg
        self.plateau = None
        if cfg.scheduler == "plateau":
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=cfg.gamma, patience=max(1, cfg.patience // 2), threshold=cfg.min_delta,
                threshold_mode="abs",
            )

    def lr_for(self, epoch: int) -> float | None:
        """Rate for 0-based ``epoch``; None when the plateau scheduler decides."""
        cfg = self.cfg
        if epoch < cfg.warmup_epochs:
            return cfg.learning_rate * (epoch + 1) / cfg.warmup_epochs
        if cfg.scheduler == "cosine":
            span = max(cfg.epochs - cfg.warmup_epochs, 1)
            return cfg.learning_rate * 0.5 * (1 + math.cos(math.pi * (epoch - cfg.warmup_epochs) / span))
        if cfg.scheduler == "step":
            return cfg.learning_rate * cfg.gamma ** ((epoch - cfg.warmup_epochs) // cfg.step_size)
        if cfg.scheduler == "none" or epoch == cfg.warmup_epochs:
            return cfg.learning_rate
        return None

    def start_epoch(self, epoch: int) -> float:
        lr = self.lr_for(epoch)
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        return self.optimizer.param_groups[0]["lr"]

    def end_epoch(self, epoch: int, monitored: float) -> None:
        if self.plateau is not None and epoch >= self.cfg.warmup_epochs:
            self.plateau.step(monitored)

    def state_dict(self) -> dict[str, Any]:
        return {"plateau": self.plateau.state_dict() if self.plateau is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.plateau is not None and state.get("plateau") is not None:
            self.plateau.load_state_dict(state["plateau"])
