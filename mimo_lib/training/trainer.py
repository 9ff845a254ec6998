"""Training loop: AdamW, learning-rate schedule, early stopping, checkpoints, resume.

Rules a user can rely on:

- **Monitor and best checkpoint.** ``training.monitor`` names a history column
  (``val_loss`` by default). Without a validation split a ``val_*`` monitor falls
  back to the matching ``train_*`` column. With ``training.keep: best`` the run's
  model (``checkpoints/best.pt``) is the epoch with the lowest monitored value; an
  epoch counts as better only when it beats the best by more than
  ``training.min_delta``, so ties keep the earlier epoch, and training stops after
  ``training.patience`` epochs without improvement. With ``keep: last`` it is the
  last epoch (the end of the schedule) and nothing stops early; the monitor is
  still logged and drives a ``plateau`` schedule.
- **Schedule** (per epoch). ``warmup_epochs`` ramp the rate linearly up to
  ``learning_rate`` (epoch ``e`` of ``W`` uses ``(e+1)/W`` of it); then ``cosine``
  anneals to 0 over the remaining epochs, ``step`` multiplies by ``gamma`` every
  ``step_size`` epochs, ``plateau`` multiplies by ``gamma`` after
  ``max(1, patience // 2)`` epochs without improvement of the monitor, ``none``
  keeps it constant.
- **Reproducibility.** ``training.seed`` seeds torch and numpy; batch order and
  augmentations draw from their own ``torch.Generator``. A split in memory and the
  same split memory-mapped from the prepare cache give the same batches
  (:mod:`mimo_lib.training.batches`: the first lives on the device, the second is
  read a batch at a time), so the same history. Every checkpoint keeps
  model, optimiser, schedule, RNG states, history and early-stopping state, so
  ``training.resume=<checkpoint>`` continues exactly as if never interrupted (CPU).
- **Denoising.** With ``training.corruption.probability > 0`` every training batch's
  input is corrupted by :func:`mimo_lib.training.corruption.corrupt` (drawing from the same
  seeded generator) while the loss compares against the clean window (after the
  random crop, if any). Validation stays clean.
- **Missing modalities.** ``training.modality_dropout`` masks modalities at the input;
  their reconstruction error weighs ``training.missing_weight``. A modality masked
  with probability 1 (an imputer) is masked in validation too, so the best
  checkpoint is the best imputer. ``training.missing_polarity: free`` and
  ``training.missing_lag_seconds`` score a masked modality against its target
  negated and/or rolled, whichever fits each window best
  (:func:`mimo_lib.training.loss.align_target`): for a signal whose sign or delay
  relative to the others differs between subjects. ``training.missing_polarity:
  subject`` instead negates, once, the masked modalities of every training and
  validation subject whose slow coupling with ``training.polarity_reference`` is
  negative (:mod:`mimo_lib.training.polarity`), at input and target alike.
  ``training.missing_delay: subject`` rolls, once, each such subject's masked ECG so
  that its R-peaks precede ``training.delay_reference``'s pulses by the training
  subjects' median delay (:mod:`mimo_lib.training.delay`).
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
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from mimo_lib.config import Params
from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.types import WindowSet
from mimo_lib.model import MiMoAE, build_model
from mimo_lib.model.device import bf16_autocast_available, select_device
from mimo_lib.training import distributed, tracking
from mimo_lib.training.augmentations import modality_mask, random_circular_shift, random_stretch, roll_windows
from mimo_lib.training.batches import batch_source
from mimo_lib.training.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from mimo_lib.training.corruption import corrupt
from mimo_lib.training.delay import MIN_BEATS, subject_delays, subject_shifts, window_shifts
from mimo_lib.training.distributed import Topology
from mimo_lib.training.loss import HybridLoss, align_target
from mimo_lib.training.polarity import subject_signs
from mimo_lib.training.schedule import EpochSchedule
from mimo_lib.training.threads import busy_cores_hint, training_threads, use_threads


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


def loss_weights(present: torch.Tensor, missing_weight: float) -> torch.Tensor:
    """Per window and modality ``[B, M]``: 1 where present at the input, ``missing_weight`` where absent.

    An absent modality's target is only partly predictable from the others; its
    errors are large and would otherwise dominate the gradient of that modality's
    decoder over the fine detail of the windows where it is present. The weights
    scale errors inside the mean over windows (:class:`~mimo_lib.training.loss.HybridLoss`).
    """
    present = present.to(torch.float32)
    return present + missing_weight * (1.0 - present)


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
        self.masked = [name for name, p in zip(self.modalities, self.dropout_probabilities) if p > 0]
        self.normalization = _model_normalization(sets["train"])
        self.rate = float(sets["train"].rate)
        self.max_shift = round(self.cfg.missing_lag_seconds * self.rate)
        always_absent = np.array(self.dropout_probabilities) >= 1
        self.validation_present = torch.from_numpy(~always_absent) if always_absent.any() else None
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
        self.data = {name: batch_source(ws, self.device) for name, ws in sets.items() if len(ws)}
        self.signs = self._subject_signs(sets)
        self.shifts = self._subject_shifts(sets)
        self.autocast = self.cfg.bf16 and bf16_autocast_available(self.device)
        self.history: list[dict[str, Any]] = []
        self.best = {"value": math.inf, "epoch": 0, "bad_epochs": 0}
        self.start_epoch = 0
        self.checkpoints = run_dir / "checkpoints"
        probe = torch.zeros(1, len(self.modalities), self.window_length, device=self.device)
        self.metric_keys = list(self.loss_fn(probe, probe).as_dict())

    def _subject_signs(self, sets: dict[str, WindowSet]) -> dict[str, torch.Tensor]:
        """Per training and validation split, ``(N, M, 1)`` signs that align each subject's masked modalities
        (``missing_polarity: subject``); empty otherwise."""
        if self.cfg.missing_polarity != "subject":
            return {}
        if self.cfg.polarity_reference is None:
            raise ValueError("training.missing_polarity: subject needs training.polarity_reference (a modality that "
                             "stays present, e.g. PLETH)")
        return {name: torch.from_numpy(subject_signs(sets[name], self.masked, self.cfg.polarity_reference,
                                                     self.cfg.polarity_cutoff_hz)).to(self.device)
                for name in ("train", "val") if name in self.data}

    def _subject_shifts(self, sets: dict[str, WindowSet]) -> dict[str, torch.Tensor]:
        """Per training and validation split, ``(N, M)`` sample shifts that bring each subject's masked ECGs to the
        training subjects' median delay before ``training.delay_reference``'s pulses (``missing_delay: subject``;
        the measured delays go to ``subject_delays.csv``); empty otherwise."""
        if self.cfg.missing_delay != "subject":
            return {}
        kinds = modality_kinds(self.params)
        reference = self.cfg.delay_reference
        if reference is None or kinds.get(reference) != "ppg":
            raise ValueError(f"training.missing_delay: subject needs training.delay_reference, a PPG modality that "
                             f"stays present; got {reference!r} (kinds: {kinds})")
        ecgs = [name for name in self.masked if kinds[name] == "ecg"]
        if not ecgs or reference in self.masked:
            raise ValueError(f"training.missing_delay: subject aligns masked ECG modalities to an unmasked PPG; masked "
                             f"are {self.masked}, delay_reference is {reference!r} (kinds: {kinds})")
        splits = [name for name in ("train", "val") if name in self.data]
        shifts = {name: np.zeros((len(sets[name]), len(self.modalities)), dtype=np.int64) for name in splits}
        tables = []
        for ecg in ecgs:
            delays = {name: subject_delays(sets[name], ecg, reference) for name in splits}
            target = float(np.nanmedian(delays["train"]["delay_s"]))
            if not np.isfinite(target):
                raise ValueError(f"training.missing_delay: no training subject has {MIN_BEATS} beats of {ecg!r} "
                                 f"followed by a {reference!r} pulse")
            for name in splits:
                per_subject = subject_shifts(delays[name], target)
                shifts[name] += window_shifts(sets[name], per_subject, ecg)
                tables.append(delays[name].assign(split=name, modality=ecg, shift_s=per_subject.to_numpy()))
        if self.topology.is_main:
            pd.concat(tables).to_csv(self.run_dir / "subject_delays.csv", index=False)
        return {name: torch.from_numpy(value).to(self.device) for name, value in shifts.items()}

    def _aligned(self, batch: torch.Tensor, split: str, rows: torch.Tensor | slice) -> torch.Tensor:
        """``batch`` (rows ``rows`` of ``split``) with each subject's polarity and delay alignment applied."""
        if split in self.signs:
            batch = batch * self.signs[split][rows]
        if split in self.shifts:
            batch = roll_windows(batch, self.shifts[split][rows])
        return batch

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
            output = self.step_model(inputs, present, self.cfg.latent_noise if self.model.training else 0.0)
        weights = None if present is None else loss_weights(present, self.cfg.missing_weight)
        if present is not None and (self.max_shift or self.cfg.missing_polarity == "free"):
            target = align_target(output.reconstruction.float(), target, ~present.to(torch.bool), self.max_shift,
                                  self.cfg.missing_polarity == "free")
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
        order = torch.randperm(len(windows), generator=self.generator)
        sums: dict[str, float] = {}
        seen = 0
        batches = distributed.global_batches(order, self.cfg.batch_size, self.topology)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=not self.progress)
        for indices in bar:
            batch = self._aligned(windows.take(indices), "train", indices.to(self.device))
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
        first, stop = distributed.shard_bounds(len(self.data[split]), self.topology)
        sums = torch.zeros(len(self.metric_keys) + 1, dtype=torch.float64, device=self.device)
        for start in range(first, stop, self.cfg.batch_size):
            stop_row = min(start + self.cfg.batch_size, stop)
            batch = self._aligned(self.data[split].span(start, stop_row), split, slice(start, stop_row))
            present = None
            if self.validation_present is not None:
                present = self.validation_present.to(self.device).expand(len(batch), -1)
            values = self._forward_loss(batch, batch, present).as_dict()
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
            if self.cfg.keep == "last" or value < self.best["value"] - self.cfg.min_delta:
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
                tracking.write_history(self.history, self.run_dir)
                logger.log_epoch(row)
            epochs.set_postfix({k: f"{row[k]:.4f}" for k in ("train_loss", "val_loss") if k in row})
        return seconds


def _plain_model(trainer: _Trainer, state: dict[str, torch.Tensor]) -> MiMoAE:
    """A fresh model (ordinary BatchNorm, no DDP wrapper) holding ``state``."""
    model = build_model(trainer.params.model, trainer.modalities, trainer.window_length).to(trainer.device)
    model.load_state_dict(state)
    return model


def train(
    params: Params,
    sets: dict[str, WindowSet],
    run_dir: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train MiMo-AE on prepared windows (:func:`mimo_lib.data.prepare.prepare`).

    Writes ``params.yaml``, ``history.csv`` (one row appended per epoch) and checkpoints into ``run_dir``
    (default :func:`mimo_lib.training.tracking.run_dir_for`). The returned model holds the
    best checkpoint's weights. Under ``torchrun`` every rank calls this; only rank 0
    writes, and the other ranks return the last epoch's weights.
    """
    device = select_device(params.training.device)
    with distributed.process_group(device) as topology:
        return _train(params, sets, run_dir, progress, distributed.process_device(device, topology), topology)


def _train(params: Params, sets: dict[str, WindowSet], run_dir: Path | None, progress: bool,
           device: torch.device, topology: Topology) -> TrainResult:
    run_dir = Path(run_dir) if run_dir is not None else tracking.run_dir_for(params)
    threads = training_threads(params.training.threads, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    use_threads(threads)
    hint = busy_cores_hint(threads) if device.type == "cpu" and progress and topology.is_main else None
    if hint:
        print(hint)
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
            tracking.write_history(trainer.history, run_dir)
            trainer.model.load_state_dict(load_checkpoint(best_checkpoint)["model_state"])
            logger.log_summary({"best_epoch": trainer.best["epoch"],
                                "best_" + trainer.monitor_key(): trainer.best["value"]})
    finally:
        logger.finish()
    model = _plain_model(trainer, trainer.model.state_dict()) if topology.distributed else trainer.model
    return TrainResult(
        run_dir=run_dir, history=history, best_epoch=int(trainer.best["epoch"]), best_checkpoint=best_checkpoint,
        model=model.eval(), train_seconds=seconds, windows_per_second=windows_per_second,
    )


def _without_wandb(params: Params) -> Params:
    quiet = params.model_copy(deep=True)
    quiet.tracking.wandb = False
    return quiet
