"""Denoising corruptions: set SNR, repeatable from a seed, clean input untouched."""

from __future__ import annotations

import math

import pytest
import torch

from mimo_lib.config import CorruptionConfig
from mimo_lib.training.corruption import add_baseline_wander, add_dropouts, add_gaussian_noise, add_motion_bursts, corrupt, snr_db


def _windows(batch: int = 64, modalities: int = 3, length: int = 400) -> torch.Tensor:
    t = torch.arange(length) / 50.0
    phases = torch.linspace(0, 2 * math.pi, batch * modalities).view(batch, modalities, 1)
    return torch.sin(2 * math.pi * 1.2 * t + phases) * math.sqrt(2)


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("target_db", [0.0, 10.0, 20.0])
def test_gaussian_noise_reaches_the_requested_snr(target_db):
    clean = _windows()
    noisy = add_gaussian_noise(clean, target_db, _generator())
    assert snr_db(clean, noisy).mean().item() == pytest.approx(target_db, abs=0.5)


def test_wander_is_slow_and_bounded():
    clean = _windows()
    drift = add_baseline_wander(clean, 0.5, 50.0, _generator()) - clean
    assert drift.abs().max() <= 0.5 + 1e-6
    power = torch.fft.rfft(drift, dim=-1).abs().pow(2)
    frequencies = torch.fft.rfftfreq(clean.shape[-1], d=1 / 50.0)
    assert (power[..., frequencies > 1.0].sum() / power.sum()) < 0.02


def test_bursts_and_dropouts_touch_one_short_segment():
    clean = _windows()
    burst = add_motion_bursts(clean, 2.0, 0.5, 50.0, _generator()) - clean
    dropped = add_dropouts(clean, 0.5, 50.0, _generator())
    assert ((burst != 0).sum(dim=-1) <= 25).all()
    changed = (dropped != clean).sum(dim=-1)
    assert (changed <= 25).all() and changed.sum() > 0
    assert (dropped[dropped != clean] == 0).all()


def test_corrupt_is_repeatable_and_leaves_the_input_alone():
    clean = _windows(batch=512)
    before = clean.clone()
    config = CorruptionConfig(probability=0.5)
    first = corrupt(clean, config, 50.0, _generator(3))
    second = corrupt(clean, config, 50.0, _generator(3))
    assert torch.equal(first, second)
    assert torch.equal(clean, before)
    touched = (first != clean).flatten(1).any(dim=1).float().mean().item()
    expected = 1 - 0.5**4  # four corruptions, each given to half of the windows
    assert touched == pytest.approx(expected, abs=0.04)


def test_probability_zero_changes_nothing():
    clean = _windows()
    assert torch.equal(corrupt(clean, CorruptionConfig(probability=0.0), 50.0, _generator()), clean)
