"""Denoising training: corrupted inputs, clean targets, clean validation, repeatable from the seed."""

import pandas as pd
import pytest
import torch
from helpers import RATE, sine_windows, tiny_params

from mimo_lib.model.device import bf16_autocast_available
from mimo_lib.training.corruption import corrupt, snr_db
from mimo_lib.training.trainer import train

NOISE_ONLY = {
    "training.corruption.probability": 1.0, "training.corruption.noise_snr_db": 0.0,
    "training.corruption.wander_amplitude": 0.0, "training.corruption.burst_amplitude": 0.0,
    "training.corruption.dropouts": False,
}



@pytest.fixture(scope="module")
def sets():
    return {"train": sine_windows(128, 0), "val": sine_windows(32, 1, "V")}


def test_denoising_run_raises_snr_of_corrupted_windows(tmp_path, sets):
    params = tiny_params(tmp_path, **NOISE_ONLY, **{"training.epochs": 12})
    result = train(params, sets, run_dir=tmp_path / "run", progress=False)
    clean = torch.from_numpy(sets["val"].windows)
    noisy = corrupt(clean, params.training.corruption, sampling_rate=RATE, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        denoised = result.model(noisy).reconstruction
    input_snr = snr_db(clean, noisy).mean().item()
    output_snr = snr_db(clean, denoised).mean().item()
    assert input_snr == pytest.approx(0.0, abs=0.5)
    assert output_snr > input_snr + 2.0
    # validation is scored on clean inputs, not corrupted ones (recomputed here under the run's autocast)
    autocast = params.training.bf16 and bf16_autocast_available(torch.device("cpu"))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        clean_error = (result.model(clean).reconstruction.float() - clean).pow(2).mean(dim=(0, 2))
    best = result.history.set_index("epoch").loc[result.best_epoch]
    for index, name in enumerate(sets["val"].modalities):
        assert best[f"val_mse/{name}"] == pytest.approx(clean_error[index].item(), rel=1e-4)


def test_denoising_run_repeats_from_its_seed_and_differs_from_clean_training(tmp_path, sets):
    params = tiny_params(tmp_path, **NOISE_ONLY, **{"training.epochs": 2})
    first = train(params, sets, run_dir=tmp_path / "a", progress=False)
    second = train(params, sets, run_dir=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(first.history.drop(columns="seconds"), second.history.drop(columns="seconds"))
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    clean = train(tiny_params(tmp_path, **{"training.epochs": 2}), sets, run_dir=tmp_path / "c", progress=False)
    assert first.history["train_loss"].iloc[0] > clean.history["train_loss"].iloc[0]


def test_resume_of_a_denoising_run_is_exact(tmp_path, sets):
    overrides = {**NOISE_ONLY, "training.epochs": 3, "training.checkpoint_every": 1, "training.random_crop": True}
    full = train(tiny_params(tmp_path, **overrides), sets, run_dir=tmp_path / "full", progress=False)
    resume = str(tmp_path / "full/checkpoints/epoch_001.pt")
    resumed = train(tiny_params(tmp_path, **overrides, **{"training.resume": resume}), sets,
                    run_dir=tmp_path / "resumed", progress=False)
    pd.testing.assert_frame_equal(full.history.drop(columns="seconds"), resumed.history.drop(columns="seconds"))
