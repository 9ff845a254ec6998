"""Trainer on tiny synthetic windows: learns, resumes exactly, stops on a non-finite loss."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import MODALITIES, RATE, sine_windows, tiny_params

from mimo_lib.data.normalization import zscore_windows
from mimo_lib.data.types import WindowSet
from mimo_lib.model import MiMoAE
from mimo_lib.reports import save_training_figures
from mimo_lib.training import trainer as trainer_module
from mimo_lib.training.augmentations import modality_mask, random_circular_shift, random_stretch
from mimo_lib.training.checkpoint import CheckpointError, load_checkpoint
from mimo_lib.training.trainer import NonFiniteLossError, loss_weights, train


@pytest.fixture(scope="module")
def sets():
    return {"train": sine_windows(64, 0), "val": sine_windows(16, 1, "V"), "test": sine_windows(16, 2, "T")}


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
    for name in ("params.yaml", "history.csv", "checkpoints/best.pt", "checkpoints/last.pt"):
        assert (result.run_dir / name).is_file(), name
    assert not (result.run_dir / "figures").exists(), "training draws no figures; the workbook layer does"
    saved = save_training_figures(result, sets)
    assert [p.relative_to(result.run_dir).as_posix() for p in saved] == [
        "figures/loss_curves.png", "figures/reconstructions_val.png"]
    pd.testing.assert_frame_equal(pd.read_csv(result.run_dir / "history.csv"), history, check_dtype=False)
    assert load_checkpoint(result.best_checkpoint)["epoch"] == result.best_epoch
    assert result.windows_per_second > 0


def test_history_is_written_every_epoch_so_an_interrupted_run_keeps_it(tmp_path, sets, monkeypatch):
    original = trainer_module._Trainer.train_epoch

    def interrupted(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(trainer_module._Trainer, "train_epoch", interrupted)
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(tiny_params(tmp_path, **{"training.epochs": 5}), sets, run_dir=run_dir, progress=False)
    history = pd.read_csv(run_dir / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    assert np.isfinite(history["val_loss"]).all()


def test_same_seed_same_numbers(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 1})
    first = train(params, sets, run_dir=tmp_path / "a", progress=False).history
    second = train(params, sets, run_dir=tmp_path / "b", progress=False).history
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))


def test_latent_noise_is_added_in_training_steps_only(tmp_path, sets, monkeypatch):
    seen = []
    forward = MiMoAE.forward

    def recording(self, x, present=None, latent_noise=0.0):
        seen.append((self.training, latent_noise))
        return forward(self, x, present, latent_noise)

    monkeypatch.setattr(MiMoAE, "forward", recording)
    train(tiny_params(tmp_path, **{"training.epochs": 1, "training.latent_noise": 0.5}), sets, progress=False)
    assert {noise for training, noise in seen if training} == {0.5}
    assert {noise for training, noise in seen if not training} == {0.0}


def test_training_from_disk_gives_the_history_of_training_in_memory(tmp_path, sets):
    for name, windows in sets.items():
        windows.save(tmp_path / "cache" / f"{name}.npz")
    on_disk = {name: WindowSet.load(tmp_path / "cache" / f"{name}.npz") for name in sets}
    assert all(isinstance(windows.windows, np.memmap) for windows in on_disk.values())
    augment = {"training.epochs": 2, "training.random_crop": True, "training.stretch": 0.3,
               "training.modality_dropout": 0.3, "training.corruption.probability": 0.5}
    params = tiny_params(tmp_path, **augment)
    memory = train(params, sets, run_dir=tmp_path / "memory", progress=False)
    disk = train(params, on_disk, run_dir=tmp_path / "disk", progress=False)
    pd.testing.assert_frame_equal(memory.history.drop(columns="seconds"), disk.history.drop(columns="seconds"))
    for key, value in memory.model.state_dict().items():
        assert torch.equal(value, disk.model.state_dict()[key]), key


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


def test_keep_last_makes_the_last_epoch_the_runs_model(tmp_path, sets):
    params = tiny_params(tmp_path, **{"training.epochs": 3, "training.keep": "last", "training.patience": 1,
                                      "training.min_delta": 10.0})
    result = train(params, sets, run_dir=tmp_path / "run", progress=False)
    assert len(result.history) == 3 and result.best_epoch == 3  # no early stop, whatever the monitor does
    best, last = (load_checkpoint(tmp_path / f"run/checkpoints/{name}.pt") for name in ("best", "last"))
    assert best["epoch"] == last["epoch"] == 3
    for key, value in last["model_state"].items():
        assert torch.equal(best["model_state"][key], value), key
        assert torch.equal(result.model.state_dict()[key].cpu(), value), key


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
