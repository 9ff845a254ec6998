"""Input corruptions for denoising training: the model sees a damaged window, the loss the clean one.

All functions take and return float tensors shaped ``(B, M, T)`` of z-scored
windows, draw randomness from an explicit :class:`torch.Generator` (one seed,
repeatable runs) and never modify their input.
"""

from __future__ import annotations

import math

import torch

from mimo_lib.config import CorruptionConfig


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator, like: torch.Tensor):
    return low + (high - low) * torch.rand(shape, generator=generator, device=generator.device).to(like)


def add_gaussian_noise(x: torch.Tensor, snr_db: float, generator: torch.Generator) -> torch.Tensor:
    """White Gaussian noise scaled so each window/modality has the given SNR (dB)."""
    power = x.pow(2).mean(dim=-1, keepdim=True)
    std = torch.sqrt(power / 10 ** (snr_db / 10))
    noise = torch.randn(x.shape, generator=generator, device=generator.device).to(x)
    return x + noise * std


def add_baseline_wander(
    x: torch.Tensor, amplitude: float, sampling_rate: float, generator: torch.Generator
) -> torch.Tensor:
    """A slow sinusoidal drift (0.05–0.5 Hz, random phase) of ``amplitude`` standard deviations."""
    batch, modalities, length = x.shape
    t = torch.arange(length, device=x.device, dtype=x.dtype) / sampling_rate
    frequency = _uniform((batch, modalities, 1), 0.05, 0.5, generator, x)
    phase = _uniform((batch, modalities, 1), 0.0, 2 * math.pi, generator, x)
    return x + amplitude * torch.sin(2 * math.pi * frequency * t + phase)


def _segment_mask(
    shape: tuple[int, int, int], max_length: int, generator: torch.Generator, like: torch.Tensor
) -> torch.Tensor:
    """One random segment of 1..max_length samples per window/modality, as a 0/1 mask."""
    batch, modalities, length = shape
    max_length = max(1, min(max_length, length))
    seg_length = torch.randint(1, max_length + 1, (batch, modalities, 1), generator=generator, device=generator.device)
    start = (torch.rand((batch, modalities, 1), generator=generator, device=generator.device)
             * (length - seg_length + 1)).long()
    position = torch.arange(length, device=generator.device)
    inside = (position >= start) & (position < start + seg_length)
    return inside.to(like)


def add_motion_bursts(
    x: torch.Tensor, amplitude: float, max_seconds: float, sampling_rate: float, generator: torch.Generator
) -> torch.Tensor:
    """A short high-amplitude burst of smoothed noise, as from sensor movement."""
    mask = _segment_mask(tuple(x.shape), round(max_seconds * sampling_rate), generator, x)
    noise = torch.randn(x.shape, generator=generator, device=generator.device).to(x)
    smoothed = torch.nn.functional.avg_pool1d(noise.flatten(0, 1).unsqueeze(1), 5, stride=1, padding=2)
    return x + amplitude * mask * smoothed.view_as(x) * math.sqrt(5)


def add_dropouts(
    x: torch.Tensor, max_seconds: float, sampling_rate: float, generator: torch.Generator
) -> torch.Tensor:
    """A short stretch where the sensor reads zero (the z-scored mean)."""
    mask = _segment_mask(tuple(x.shape), round(max_seconds * sampling_rate), generator, x)
    return x * (1 - mask)


def corrupt(
    x: torch.Tensor, config: CorruptionConfig, sampling_rate: float, generator: torch.Generator
) -> torch.Tensor:
    """Apply each enabled corruption to a random ``config.probability`` share of windows."""
    corrupted = x
    steps = []
    if config.noise_snr_db is not None:
        steps.append(lambda v: add_gaussian_noise(v, config.noise_snr_db, generator))
    if config.wander_amplitude > 0:
        steps.append(lambda v: add_baseline_wander(v, config.wander_amplitude, sampling_rate, generator))
    if config.burst_amplitude > 0:
        steps.append(lambda v: add_motion_bursts(
            v, config.burst_amplitude, config.max_event_seconds, sampling_rate, generator))
    if config.dropouts:
        steps.append(lambda v: add_dropouts(v, config.max_event_seconds, sampling_rate, generator))
    for step in steps:
        chosen = torch.rand((x.shape[0], 1, 1), generator=generator, device=generator.device).to(x.device)
        corrupted = torch.where(chosen < config.probability, step(corrupted), corrupted)
    return corrupted


def snr_db(clean: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """SNR of ``observed`` against ``clean`` in dB, per window and modality."""
    error = (observed - clean).pow(2).sum(dim=-1)
    return 10 * torch.log10(clean.pow(2).sum(dim=-1) / error.clamp_min(1e-12))
