"""Training-time augmentations of window batches ``[B, M, T]``, drawn from a seeded generator.

Modality dropout (:func:`modality_mask`), circular shifts (:func:`roll_windows`, also
used to align targets) and random time stretches; corruption of the input lives in
:mod:`mimo_lib.training.corruption`.
"""

from __future__ import annotations

import torch


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


def roll_windows(batch: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """``batch`` ``[B, M, T]`` with each window's modality rolled (circularly) later by ``shifts`` ``[B, M]`` samples."""
    length = batch.shape[-1]
    index = (torch.arange(length, device=batch.device) - shifts[..., None]) % length
    return torch.gather(batch, 2, index)


def random_circular_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Roll every window ``[B, M, T]`` by its own random offset (all modalities together)."""
    batch, modalities, length = x.shape
    shift = torch.randint(length, (batch, 1), generator=generator).to(x.device)
    return roll_windows(x, -shift.expand(batch, modalities))


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
