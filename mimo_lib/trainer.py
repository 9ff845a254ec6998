"""Training loop: AdamW, learning-rate schedule, early stopping, checkpoints, resume.

Rules a user can rely on:

- **Monitor and best checkpoint.** ``training.monitor`` names a history column
  (``val_loss`` by default). Without a validation split a ``val_*`` monitor falls
  back to the matching ``train_*`` column. The best checkpoint is the epoch with
  the lowest monitored value; an epoch counts as better only when it beats the
  best by more than ``training.min_delta``, so ties keep the earlier epoch.
  Training stops after ``training.patience`` epochs without improvement.
- **Schedule** (per epoch). ``warmup_epochs`` ramp the rate linearly up to
  ``learning_rate`` (epoch ``e`` of ``W`` uses ``(e+1)/W`` of it); then ``cosine``
  anneals to 0 over the remaining epochs, ``step`` multiplies by ``gamma`` every
  ``step_size`` epochs, ``plateau`` multiplies by ``gamma`` after
  ``max(1, patience // 2)`` epochs without improvement of the monitor, ``none``
  keeps it constant.
- **Reproducibility.** ``training.seed`` seeds torch and numpy; batch order and
  augmentations draw from their own ``torch.Generator``. Every checkpoint keeps
  model, optimiser, schedule, RNG states, history and early-stopping state, so
  ``training.resume=<checkpoint>`` continues exactly as if never interrupted (CPU).
- **Denoising.** With ``training.corruption.probability > 0`` every training batch's
  input is corrupted by :func:`mimo_lib.corruption.corrupt` (drawing from the same
  seeded generator) while the loss compares against the clean window (after the
  random crop, if any). Validation stays clean.
- **Several processes.** Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped
  in DistributedDataParallel (``nccl`` on CUDA, ``gloo`` on CPU) with BatchNorm
  statistics synchronised across ranks. ``training.batch_size`` is the GLOBAL batch:
  every rank draws the same seeded permutation and the same augmentations for the
  whole batch, then trains on its own contiguous slice, so losses and weights match
  a single-process run up to float rounding (``model.dropout`` masks excepted).
  Logged metrics are reduced over all ranks; rank 0 alone writes checkpoints,
  history, figures and logs and shows progress. A final batch smaller than the
  number of processes is skipped (and reported). Other ranks return the last
  epoch's weights.
- **Failure.** A non-finite loss raises :class:`NonFiniteLossError` naming the
  epoch and the first non-finite component (``mse/ECG``, ``spectral``, …);
  ``checkpoints/last.pt`` then still holds the last good epoch.
"""

from __future__ import annotations

import math
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from mimo_lib import distributed, tracking
from mimo_lib.checkpoint import CheckpointError, capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from mimo_lib.config import Params
from mimo_lib.corruption import corrupt
from mimo_lib.device import bf16_autocast_available, select_device
from mimo_lib.distributed import Topology
from mimo_lib.evaluate import predict
from mimo_lib.loss import HybridLoss
from mimo_lib.model import MiMoAE, build_model
from mimo_lib.plots import save_figure
from mimo_lib.plots.reconstruction import plot_reconstructions
from mimo_lib.plots.training import plot_loss_curves
from mimo_lib.types import WindowSet


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the component."""


@dataclass
class TrainResult:
    """What a finished training run leaves behind."""

    run_dir: Path
    history: pd.DataFrame
    best_epoch: int
    best_checkpoint: Path
    model: MiMoAE
    train_seconds: float
    windows_per_second: float


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and numpy globally; return a generator for batch order and augmentation."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def modality_mask(batch: int, p_drop: list[float], generator: torch.Generator) -> torch.Tensor:
    """Boolean ``[batch, M]`` mask of present modalities; modality ``m`` is dropped with ``p_drop[m]``.

    A window never loses every modality: where all were drawn absent, one of those
    with ``p_drop < 1``, chosen at random, is kept (a modality at 1 is always absent).
    """
    probabilities = torch.tensor(p_drop, dtype=torch.float32)
    present = torch.rand(batch, len(p_drop), generator=generator) >= probabilities
    empty = ~present.any(dim=1)
    if empty.any():
        eligible = (probabilities < 1).nonzero(as_tuple=True)[0]
        if len(eligible) == 0:
            raise ValueError(f"modality dropout probabilities {p_drop} leave no modality that can be present")
        keep = eligible[torch.randint(len(eligible), (int(empty.sum()),), generator=generator)]
        present[empty.nonzero(as_tuple=True)[0], keep] = True
    return present


def loss_weights(present: torch.Tensor, missing_weight: float) -> torch.Tensor:
    """Per window and modality ``[B, M]``: 1 where present at the input, ``missing_weight`` where absent.

    An absent modality's target is only partly predictable from the others; its
    errors are large and would otherwise dominate the gradient of that modality's
    decoder over the fine detail of the windows where it is present. The weights
    scale errors inside the mean over windows (:class:`~mimo_lib.loss.HybridLoss`).
    """
    present = present.to(torch.float32)
    return present + missing_weight * (1.0 - present)


def random_circular_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Roll every window ``[B, M, T]`` by its own random offset (all modalities together)."""
    batch, _, length = x.shape
    shift = torch.randint(length, (batch, 1), generator=generator).to(x.device)
    index = (torch.arange(length, device=x.device)[None, :] + shift) % length
    return torch.gather(x, 2, index[:, None, :].expand_as(x))


def random_stretch(x: torch.Tensor, max_stretch: float, generator: torch.Generator, rezscore: bool) -> torch.Tensor:
    """Resample a random stretch of every window ``[B, M, T]`` to the full length.

    The stretch covers a random share in ``[1 - max_stretch, 1]`` of the window at a
    random offset (all modalities together), read by linear interpolation: the
    signals come out slowed down by up to ``1 / (1 - max_stretch)``. With
    ``rezscore`` every stretched window is z-scored again per modality.
    """
    batch, _, length = x.shape
    share = 1 - max_stretch * torch.rand(batch, 1, generator=generator)
    span = share * (length - 1)
    offset = torch.rand(batch, 1, generator=generator) * (length - 1 - span)
    position = (offset + span * torch.linspace(0, 1, length)[None, :]).to(x.device)
    left = position.floor().long().clamp(max=length - 2)
    frac = (position - left)[:, None, :].to(x.dtype)
    index = left[:, None, :].expand(-1, x.shape[1], -1)
    out = torch.gather(x, 2, index) * (1 - frac) + torch.gather(x, 2, index + 1) * frac
    if rezscore:
        # population std, as normalization.zscore_windows uses for the prepared windows
        out = (out - out.mean(dim=2, keepdim=True)) / out.std(dim=2, keepdim=True, correction=0).clamp_min(1e-6)
    return out


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


def _first_non_finite(terms: dict[str, float]) -> str:
    ordered = sorted(terms, key=lambda key: (key in ("loss", "mse", "spectral"), key))
    return next((key for key in ordered if not math.isfinite(terms[key])), "loss")


def _check_sets(sets: dict[str, WindowSet]) -> tuple[list[str], int]:
    if "train" not in sets or len(sets["train"]) == 0:
        raise ValueError(f"training needs a non-empty 'train' split; got splits {sorted(sets)}")
    modalities, length = sets["train"].modalities, sets["train"].window_length
    for name, windows in sets.items():
        if windows.modalities != modalities or windows.window_length != length:
            raise ValueError(
                f"split {name!r} has modalities {windows.modalities} and window length {windows.window_length}; "
                f"train has {modalities} and {length}"
            )
    return modalities, length


def _model_normalization(windows: WindowSet) -> dict[str, Any]:
    """The normalisation a model needs at inference: the method, plus fitted stats unless per window."""
    norm = {"method": windows.normalization["method"]}
    if norm["method"] != "window":
        norm["mean"] = np.asarray(windows.normalization["mean"])
        norm["std"] = np.asarray(windows.normalization["std"])
    return norm


class _Trainer:
    def __init__(self, params: Params, sets: dict[str, WindowSet], run_dir: Path, progress: bool,
                 device: torch.device, topology: Topology) -> None:
        self.params, self.cfg, self.run_dir = params, params.training, run_dir
        self.topology, self.progress = topology, progress and topology.is_main
        self.modalities, self.window_length = _check_sets(sets)
        self.dropout_probabilities = self.cfg.dropout_probabilities(self.modalities)
        self.normalization = _model_normalization(sets["train"])
        self.rate = float(sets["train"].rate)
        self.device = device
        self.generator = seed_everything(self.cfg.seed)
        self.model = build_model(params.model, self.modalities, self.window_length).to(self.device)
        wrapped = distributed.wrap(self.model, self.device) if topology.distributed else self.model
        self.step_model = torch.compile(wrapped) if self.cfg.compile else wrapped
        self.loss_fn = HybridLoss(params.loss, self.modalities).to(self.device)
        if self.cfg.batch_size < topology.world_size:
            raise ValueError(f"training.batch_size={self.cfg.batch_size} is the global batch and must be at least "
                             f"the number of processes ({topology.world_size})")
        leftover = len(sets["train"]) % self.cfg.batch_size
        if 0 < leftover < topology.world_size and topology.is_main:
            warnings.warn(f"{len(sets['train'])} training windows in global batches of {self.cfg.batch_size} leave a "
                          f"last batch of {leftover}, fewer than the {topology.world_size} processes: each epoch "
                          f"skips those {leftover} (shuffled) windows", stacklevel=2)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=self.cfg.learning_rate, weight_decay=self.cfg.weight_decay, fused=True
        )
        self.schedule = EpochSchedule(self.optimizer, params)
        self.data = {name: torch.from_numpy(np.ascontiguousarray(ws.windows, dtype=np.float32)).to(self.device)
                     for name, ws in sets.items() if len(ws)}
        self.example_set = sets.get("val") if "val" in self.data else sets["train"]
        self.autocast = self.cfg.bf16 and bf16_autocast_available(self.device)
        self.history: list[dict[str, Any]] = []
        self.best = {"value": math.inf, "epoch": 0, "bad_epochs": 0}
        self.start_epoch = 0
        self.checkpoints = run_dir / "checkpoints"
        probe = torch.zeros(1, len(self.modalities), self.window_length, device=self.device)
        self.metric_keys = list(self.loss_fn(probe, probe).as_dict())

    def monitor_key(self) -> str:
        key = self.cfg.monitor
        if key.startswith("val_") and "val" not in self.data:
            key = "train_" + key[len("val_"):]
        return key

    def resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        try:
            self.model.load_state_dict(state["model_state"])
            self.optimizer.load_state_dict(state["optimizer_state"])
        except (RuntimeError, ValueError, TypeError) as error:
            raise CheckpointError(f"cannot resume from {path}: it does not fit these params ({error})") from None
        self.schedule.load_state_dict(state["scheduler_state"] or {})
        restore_rng_state(state["rng_state"], self.generator)
        self.history = [dict(row) for row in state["history"]]
        self.best = dict(state["extra"]["early_stopping"])
        self.start_epoch = int(state["epoch"])
        if self.topology.is_main:
            self._carry_best_checkpoint(path)

    def _carry_best_checkpoint(self, resumed_from: Path) -> None:
        """Give a run resumed into a new folder the best checkpoint so far (it may lie before the resume point).

        It is the resumed checkpoint itself when that epoch was the best, else ``best.pt``
        beside it; if neither holds the best epoch, the error says so now, not after training.
        """
        target = self.checkpoints / "best.pt"
        if self.best["epoch"] == 0 or target.exists():
            return
        if self.best["epoch"] == self.start_epoch:
            self.save(target, self.start_epoch)
            return
        source = resumed_from.parent / "best.pt"
        if source.is_file() and int(load_checkpoint(source)["epoch"]) == self.best["epoch"]:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            return
        raise CheckpointError(
            f"cannot resume from {resumed_from}: its best epoch so far is {self.best['epoch']}, but neither it "
            f"nor {source} holds that epoch's weights"
        )

    def _forward_loss(self, inputs: torch.Tensor, target: torch.Tensor, present: torch.Tensor | None) -> Any:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            output = self.step_model(inputs, present)
        weights = None if present is None else loss_weights(present, self.cfg.missing_weight)
        return self.loss_fn(output.reconstruction.float(), target, weights)

    def _fail(self, epoch: int, split: str, terms: dict[str, float]) -> None:
        component = _first_non_finite(terms)
        last = self.checkpoints / "last.pt"
        kept = f"last good checkpoint: {last}" if last.exists() else "no checkpoint was written yet"
        raise NonFiniteLossError(
            f"non-finite {split} loss at epoch {epoch + 1}: {component} = {terms[component]}; {kept}"
        )

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training windows; means over every window trained on (all ranks)."""
        self.model.train()
        windows = self.data["train"]
        order = torch.randperm(len(windows), generator=self.generator).to(self.device)
        sums: dict[str, float] = {}
        seen = 0
        batches = distributed.global_batches(order, self.cfg.batch_size, self.topology)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=not self.progress)
        for indices in bar:
            batch = windows[indices]
            target = random_circular_shift(batch, self.generator) if self.cfg.random_crop else batch
            if self.cfg.stretch > 0:
                target = random_stretch(target, self.cfg.stretch, self.generator,
                                        rezscore=self.params.preprocessing.normalization == "window")
            inputs = target
            if self.cfg.corruption.probability > 0:
                inputs = corrupt(target, self.cfg.corruption, sampling_rate=self.rate, generator=self.generator)
            present = None
            if any(self.dropout_probabilities):
                present = modality_mask(len(batch), self.dropout_probabilities, self.generator).to(self.device)
                present = distributed.shard(present, self.topology)
            target, inputs = distributed.shard(target, self.topology), distributed.shard(inputs, self.topology)
            terms = self._forward_loss(inputs, target, present)
            values = terms.as_dict()
            total = terms.total
            if self.topology.distributed:
                # DDP averages gradients over ranks; weighting by slice size makes that the global-batch mean
                values = distributed.global_means(values, len(target), self.device)
                total = total * (len(target) * self.topology.world_size / len(batch))
            if not math.isfinite(values["loss"]):
                self._fail(epoch, "train", values)
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            if self.cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value * len(batch)
            seen += len(batch)
            bar.set_postfix(loss=f"{values['loss']:.4f}")
        return {key: total / seen for key, total in sums.items()}

    @torch.no_grad()
    def evaluate(self, split: str, epoch: int) -> dict[str, float]:
        """Mean loss terms over a split; each rank scores its own shard, the sums are reduced."""
        self.model.eval()
        windows = distributed.shard(self.data[split], self.topology)
        sums = torch.zeros(len(self.metric_keys) + 1, dtype=torch.float64, device=self.device)
        for start in range(0, len(windows), self.cfg.batch_size):
            batch = windows[start:start + self.cfg.batch_size]
            values = self._forward_loss(batch, batch, None).as_dict()
            sums += torch.tensor([values[key] for key in self.metric_keys] + [1.0], dtype=torch.float64,
                                 device=self.device) * len(batch)
        totals = distributed.sum_across(sums).tolist()
        means = {key: total / totals[-1] for key, total in zip(self.metric_keys, totals)}
        if not all(math.isfinite(v) for v in means.values()):
            self._fail(epoch, split, means)
        return means

    def save(self, path: Path, epoch: int) -> Path:
        return save_checkpoint(
            path, model=self.model, optimizer=self.optimizer, scheduler=self.schedule, epoch=epoch,
            params=self.params, modalities=self.modalities, window_length=self.window_length,
            normalization=self.normalization, history=self.history,
            rng_state=capture_rng_state(self.generator), extra={"early_stopping": self.best},
        )

    def fit(self, logger: tracking.RunLogger) -> float:
        """Run the remaining epochs; return the seconds spent training."""
        seconds = 0.0
        epochs = tqdm(range(self.start_epoch, self.cfg.epochs), desc="training", initial=self.start_epoch,
                      total=self.cfg.epochs, disable=not self.progress)
        for epoch in epochs:
            if self.best["bad_epochs"] >= self.cfg.patience:
                break
            began = time.perf_counter()
            lr = self.schedule.start_epoch(epoch)
            row: dict[str, Any] = {"epoch": epoch + 1}
            row.update({f"train_{k}": v for k, v in self.train_epoch(epoch).items()})
            if "val" in self.data:
                row.update({f"val_{k}": v for k, v in self.evaluate("val", epoch).items()})
            row["lr"] = lr
            row["seconds"] = time.perf_counter() - began
            seconds += row["seconds"]
            key = self.monitor_key()
            if key not in row:
                raise KeyError(f"training.monitor={self.cfg.monitor!r}: no column {key!r}; history has {sorted(row)}")
            value = float(row[key])
            self.history.append(row)
            if value < self.best["value"] - self.cfg.min_delta:
                self.best.update(value=value, epoch=epoch + 1, bad_epochs=0)
            else:
                self.best["bad_epochs"] += 1
            self.schedule.end_epoch(epoch, value)
            if self.topology.is_main:
                self.save(self.checkpoints / "last.pt", epoch + 1)
                if self.best["epoch"] == epoch + 1:
                    self.save(self.checkpoints / "best.pt", epoch + 1)
                if self.cfg.checkpoint_every and (epoch + 1) % self.cfg.checkpoint_every == 0:
                    self.save(self.checkpoints / f"epoch_{epoch + 1:03d}.pt", epoch + 1)
                logger.log_epoch(row)
            epochs.set_postfix({k: f"{row[k]:.4f}" for k in ("train_loss", "val_loss") if k in row})
        return seconds


def _example_figure(trainer: _Trainer, windows: WindowSet) -> plt.Figure:
    count = min(trainer.params.tracking.n_example_windows, len(windows))
    indices = np.linspace(0, len(windows) - 1, count).astype(int)
    recon, _, _ = predict(trainer.model, windows.subset(indices))
    titles = [f"{windows.subjects[i]} @ {windows.starts[i]:.0f} s" for i in indices]
    return plot_reconstructions(windows.windows[indices], {"MiMo-AE": recon}, windows.modalities, windows.rate,
                                indices=range(count), titles=titles)


def _plain_model(trainer: _Trainer, state: dict[str, torch.Tensor]) -> MiMoAE:
    """A fresh model (ordinary BatchNorm, no DDP wrapper) holding ``state``."""
    model = build_model(trainer.params.model, trainer.modalities, trainer.window_length).to(trainer.device)
    model.load_state_dict(state)
    return model


def train(
    params: Params,
    sets: dict[str, WindowSet] | None = None,
    run_dir: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train MiMo-AE on prepared windows (``prepare(params)`` when ``sets`` is None).

    Writes ``params.yaml``, ``history.csv``, checkpoints and figures into ``run_dir``
    (default :func:`mimo_lib.tracking.run_dir_for`). The returned model holds the
    best checkpoint's weights. Under ``torchrun`` every rank calls this; only rank 0
    writes, and the other ranks return the last epoch's weights.
    """
    device = select_device(params.training.device)
    with distributed.process_group(device) as topology:
        return _train(params, sets, run_dir, progress, distributed.process_device(device, topology), topology)


def _train(params: Params, sets: dict[str, WindowSet] | None, run_dir: Path | None, progress: bool,
           device: torch.device, topology: Topology) -> TrainResult:
    if sets is None:
        sets = _prepare_rank_0_first(params, progress, topology)
    run_dir = Path(run_dir) if run_dir is not None else tracking.run_dir_for(params)
    if topology.is_main:
        tracking.init_run_dir(params, run_dir)
    trainer = _Trainer(params, sets, run_dir, progress, device, topology)
    if params.training.resume:
        trainer.resume(params.resolve_path(params.training.resume))
    logger = tracking.RunLogger(params if topology.is_main else _without_wandb(params), run_dir)
    try:
        seconds = trainer.fit(logger)
        history = pd.DataFrame(trainer.history)
        best_checkpoint = trainer.checkpoints / "best.pt"
        windows_per_second = (len(history) - trainer.start_epoch) * len(sets["train"]) / seconds if seconds > 0 else float("nan")
        if topology.is_main:
            history.to_csv(run_dir / "history.csv", index=False)
            trainer.model.load_state_dict(load_checkpoint(best_checkpoint)["model_state"])
            figures = run_dir / "figures"
            for name, figure in (("loss_curves", plot_loss_curves(history)),
                                 ("reconstructions_val", _example_figure(trainer, trainer.example_set))):
                save_figure(figure, figures, name)
                logger.log_figure(name, figure)
                plt.close(figure)
            logger.log_summary({"best_epoch": trainer.best["epoch"],
                                "best_" + trainer.monitor_key(): trainer.best["value"]})
    finally:
        logger.finish()
    model = _plain_model(trainer, trainer.model.state_dict()) if topology.distributed else trainer.model
    return TrainResult(
        run_dir=run_dir, history=history, best_epoch=int(trainer.best["epoch"]), best_checkpoint=best_checkpoint,
        model=model.eval(), train_seconds=seconds, windows_per_second=windows_per_second,
    )


def _prepare_rank_0_first(params: Params, progress: bool, topology: Topology) -> dict[str, WindowSet]:
    """Rank 0 prepares (and caches) the windows; the others then read the cache or prepare their own."""
    from mimo_lib.prepare import prepare

    sets = prepare(params, progress=progress) if topology.is_main else None
    distributed.barrier()
    return sets if sets is not None else prepare(params, progress=False)


def _without_wandb(params: Params) -> Params:
    quiet = params.model_copy(deep=True)
    quiet.tracking.wandb = False
    return quiet
