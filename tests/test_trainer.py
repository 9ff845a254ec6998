"""Trainer on tiny synthetic windows: learns, resumes exactly, stops on a non-finite loss."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from mimo_lib.checkpoint import CheckpointError, load_checkpoint
from mimo_lib.config import load_params
from mimo_lib.normalization import zscore_windows
from mimo_lib.trainer import (
    NonFiniteLossError,
    loss_weights,
    modality_mask,
    random_circular_shift,
    random_stretch,
    train,
)
from mimo_lib.types import WindowSet

from conftest import zscored_windowset

MODALITIES = ["ECG", "PPG"]
LENGTH = 64
RATE = 25.0


def sine_windows(n: int, seed: int, subject_prefix: str = "S") -> WindowSet:
    """Per-window z-scored mixtures of two sines per modality, sharing a base frequency across modalities."""
    rng = np.random.default_rng(seed)
    time = np.arange(LENGTH) / RATE
    base = rng.uniform(0.8, 2.0, (n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 2, 1))
    x = np.sin(2 * np.pi * base * time + phase) + 0.5 * np.sin(2 * np.pi * 2 * base * time + 2 * phase)
    x += 0.05 * rng.standard_normal(x.shape)
    return zscored_windowset(x, MODALITIES, RATE, subject_prefix)



@pytest.fixture(scope="module")
def sets():
    return {"train": sine_windows(64, 0), "val": sine_windows(16, 1, "V"), "test": sine_windows(16, 2, "T")}


def tiny_params(tmp_path, **overrides):
    values = {
        "data.modalities": MODALITIES, "data.splits": {}, "model.latent_dim": 16, "model.base_width": 8,
        "model.stages": [1, 1], "model.compress_channels": 8, "model.latent_steps": 2,
        "training.epochs": 4, "training.batch_size": 16, "training.learning_rate": 0.005,
        "training.warmup_epochs": 1, "training.device": "cpu", "paths.runs": str(tmp_path / "runs"),
        "tracking.n_example_windows": 2,
    }
    values.update(overrides)
    return load_params(overrides=values)


def test_short_run_learns_and_writes_its_run_folder(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 10})
    result = train(params, sets, progress=False)
    history = result.history
    assert len(history) == 10
    assert history["train_loss"].iloc[-1] < 0.8 * history["train_loss"].iloc[0]
    assert history["val_mse"].min() < 0.9  # clearly beats predicting the mean (0) of a z-scored window
    for column in ("train_loss", "val_loss", "train_mse/ECG", "val_spectral/PPG", "lr", "seconds"):
        assert column in history
    assert result.best_epoch == int(history.loc[history["val_loss"].idxmin(), "epoch"])
    assert result.run_dir == tmp_path / "runs" / f"concat-{params.digest()}"
    for name in ("params.yaml", "history.csv", "checkpoints/best.pt", "checkpoints/last.pt",
                 "figures/loss_curves.png", "figures/reconstructions_val.png"):
        assert (result.run_dir / name).is_file(), name
    pd.testing.assert_frame_equal(pd.read_csv(result.run_dir / "history.csv"), history, check_dtype=False)
    assert load_checkpoint(result.best_checkpoint)["epoch"] == result.best_epoch
    assert result.windows_per_second > 0


def test_same_seed_same_numbers(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 1})
    first = train(params, sets, run_dir=tmp_path / "a", progress=False).history
    second = train(params, sets, run_dir=tmp_path / "b", progress=False).history
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))


@pytest.mark.parametrize("scheduler", ["cosine", "plateau"])
def test_resume_equals_uninterrupted(tmp_path, sets, scheduler):
    augment = {"training.scheduler": scheduler, "training.random_crop": True, "training.modality_dropout": 0.3,
               "training.missing_weight": 0.5, "training.stretch": 0.3,
               "model.dropout": 0.1, "training.epochs": 3, "training.patience": 2}
    params = tiny_params(tmp_path, **augment, **{"training.checkpoint_every": 1})
    full = train(params, sets, run_dir=tmp_path / "full", progress=False)
    assert (tmp_path / "full/checkpoints/epoch_003.pt").is_file()
    checkpoint = str(tmp_path / "full/checkpoints/epoch_001.pt")
    resumed = train(tiny_params(tmp_path, **augment, **{"training.resume": checkpoint}), sets,
                    run_dir=tmp_path / "resumed", progress=False)
    pd.testing.assert_frame_equal(full.history.drop(columns="seconds"), resumed.history.drop(columns="seconds"))
    last_full = load_checkpoint(tmp_path / "full/checkpoints/last.pt")["model_state"]
    last_resumed = load_checkpoint(tmp_path / "resumed/checkpoints/last.pt")["model_state"]
    for key, value in last_full.items():
        assert torch.allclose(value, last_resumed[key]), key


def test_non_finite_loss_names_epoch_and_component(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 1})
    run_dir = tmp_path / "run"
    train(params, sets, run_dir=run_dir, progress=False)
    poisoned = dict(sets)
    windows = sets["train"].windows.copy()
    windows[5, 0, 10] = np.inf
    poisoned["train"] = WindowSet(windows, sets["train"].subjects, sets["train"].starts, list(MODALITIES), RATE,
                                  sets["train"].normalization)
    resume = tiny_params(tmp_path, **{"training.epochs": 3, "training.resume": str(run_dir / "checkpoints/last.pt")})
    with pytest.raises(NonFiniteLossError, match=r"epoch 2: (mse|spectral)/ECG = (nan|inf).*last good checkpoint"):
        train(resume, poisoned, run_dir=run_dir, progress=False)
    assert load_checkpoint(run_dir / "checkpoints/last.pt")["epoch"] == 1


def test_resume_with_other_architecture_is_refused(tmp_path, sets):
    train(tiny_params(tmp_path, **{"training.epochs": 1}), {"train": sets["train"]}, run_dir=tmp_path / "run",
          progress=False)
    checkpoint = tmp_path / "run/checkpoints/last.pt"
    params = tiny_params(tmp_path, **{"model.latent_dim": 8, "training.resume": str(checkpoint)})
    with pytest.raises(CheckpointError, match=f"cannot resume from {checkpoint}"):
        train(params, {"train": sets["train"]}, run_dir=tmp_path / "other", progress=False)


def test_early_stopping_and_train_monitor_without_val(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 6, "training.patience": 1, "training.min_delta": 10.0})
    result = train(params, {"train": sets["train"]}, run_dir=tmp_path / "run", progress=False)
    assert len(result.history) == 2  # epoch 1 is best; nothing beats it by 10, so one more epoch then stop
    assert result.best_epoch == 1
    assert not any(column.startswith("val_") for column in result.history)


def test_modality_mask_never_drops_everything():
    generator = torch.Generator().manual_seed(0)
    mask = modality_mask(5000, [0.9] * 3, generator)
    assert mask.any(dim=1).all()
    assert 0.05 < (~mask).float().mean() < 0.95
    assert modality_mask(100, [0.9], generator).all()


def test_modality_mask_per_modality_probabilities():
    generator = torch.Generator().manual_seed(0)
    mask = modality_mask(5000, [1.0, 0.0, 0.5], generator)
    assert not mask[:, 0].any()  # probability 1: never present, not even to keep a window non-empty
    assert mask[:, 1].all()
    assert 0.45 < mask[:, 2].float().mean() < 0.55
    rescued = modality_mask(5000, [1.0, 0.9, 0.9], generator)
    assert rescued.any(dim=1).all() and not rescued[:, 0].any()
    with pytest.raises(ValueError, match="no modality"):
        modality_mask(10, [1.0, 1.0], generator)


def test_loss_weights_scale_only_the_masked_modalities():
    present = torch.tensor([[True, False, True], [True, True, True]])
    np.testing.assert_array_equal(loss_weights(present, 0.25), [[1.0, 0.25, 1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(loss_weights(present, 1.0), torch.ones(2, 3))


def test_random_shift_is_a_circular_roll_shared_by_modalities():
    x = torch.arange(2 * 3 * 10, dtype=torch.float32).reshape(2, 3, 10)
    shifted = random_circular_shift(x, torch.Generator().manual_seed(1))
    for window in range(2):
        offset = int(shifted[window, 0, 0] - x[window, 0, 0])
        assert torch.equal(shifted[window], torch.roll(x[window], -offset, dims=-1))


def test_stretch_reads_a_shorter_span_at_a_random_offset_for_all_modalities():
    ramp = torch.arange(50, dtype=torch.float32).expand(64, 3, 50)
    stretched = random_stretch(ramp, 0.4, torch.Generator().manual_seed(0), rezscore=False)
    slopes = stretched.diff(dim=-1)
    torch.testing.assert_close(slopes, slopes[..., :1].expand_as(slopes))  # one uniform resampling per window
    assert torch.equal(stretched[:, 0], stretched[:, 2])  # the same stretch for every modality
    assert (slopes >= 0.6 - 1e-5).all() and (slopes <= 1 + 1e-5).all()
    assert (stretched >= 0).all() and (stretched <= 49 + 1e-4).all()
    assert slopes[:, 0, 0].std() > 0.05 and stretched[:, 0, 0].std() > 1  # shares and offsets vary


def test_stretch_zero_is_the_identity_and_window_zscore_is_restored():
    x = torch.randn(8, 3, 40)
    torch.testing.assert_close(random_stretch(x, 0.0, torch.Generator().manual_seed(0), rezscore=False), x)
    z = random_stretch(x, 0.5, torch.Generator().manual_seed(0), rezscore=True)
    raw = random_stretch(x, 0.5, torch.Generator().manual_seed(0), rezscore=False)
    # the stretched windows are z-scored by the same rule as the prepared ones
    np.testing.assert_allclose(z.numpy(), zscore_windows(raw.numpy())[0], atol=1e-5)


def test_warmup_reaches_the_learning_rate(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 3, "training.warmup_epochs": 2,
                                       "training.scheduler": "none", "training.batch_size": 64})
    lr = train(params, {"train": sets["train"]}, run_dir=tmp_path / "run", progress=False).history["lr"].tolist()
    assert lr == pytest.approx([0.0025, 0.005, 0.005])
    assert not any(math.isnan(v) for v in lr)
