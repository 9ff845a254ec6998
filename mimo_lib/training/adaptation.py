"""Adapting a trained model to one subject: fine-tune the path that imputes a missing modality.

Given windows of a calibration stretch in which every modality was recorded,
a copy of the model learns to reconstruct the ``missing`` modalities with them
masked at the input, exactly as it will meet them afterwards. The loss sees
only the missing modalities: a clipped target sample as a bound on the true
value, a flat or lost one not at all (:func:`censored_reference`); the encoders
stay as trained (frozen, BatchNorm statistics included), so only the fusion and
the decoders move.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from mimo_lib.config import LossConfig
from mimo_lib.data.windowing import AT_MAX, AT_MIN, UNUSABLE
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import present_mask
from mimo_lib.training.loss import HybridLoss

ADAPTED_PARTS = ("fusion", "decoder")


@dataclass(frozen=True)
class AdaptationConfig:
    """Full-batch AdamW steps over calibration windows cut every ``stride_seconds``; a target's flat or lost
    stretches are left out of the loss with ``margin_seconds`` either side."""

    stride_seconds: float = 1.0
    margin_seconds: float = 0.25
    steps: int = 60
    learning_rate: float = 1e-3
    weight_decay: float = 0.0


DEFAULT_ADAPTATION = AdaptationConfig()


def censored_reference(target: torch.Tensor, output: torch.Tensor, kinds: torch.Tensor) -> torch.Tensor:
    """The target with no error left where it says nothing more: at :data:`AT_MAX` samples the output where it lies
    above the target (the true value lies above too), at :data:`AT_MIN` where below, at :data:`UNUSABLE` everywhere."""
    reference = torch.where((kinds == AT_MAX) & (output > target), output, target)
    reference = torch.where((kinds == AT_MIN) & (output < target), output, reference)
    return torch.where(kinds == UNUSABLE, output, reference)


def adapt_imputer(
    model: MiMoAE, windows: np.ndarray, missing: list[str], loss: LossConfig,
    config: AdaptationConfig = DEFAULT_ADAPTATION, kinds: np.ndarray | None = None,
) -> MiMoAE:
    """A copy of ``model`` whose fusion and decoders reconstruct ``missing`` from the other modalities of ``windows``.

    ``windows`` are ``(N, M, T)`` on the model's scale with every modality recorded;
    the ``missing`` rows are the targets and are masked at the input. ``kinds``
    (``(N, M, T)``, :data:`~mimo_lib.data.windowing.EXACT` … ``UNUSABLE``) mark the
    target samples that are bounds or unusable (:func:`censored_reference`). The
    model itself is left untouched.
    """
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 3 or windows.shape[1:] != (len(model.modalities), model.window_length):
        raise ValueError(f"calibration windows must be (N, {len(model.modalities)}, {model.window_length}), "
                         f"got {windows.shape}")
    if not len(windows):
        raise ValueError("no calibration window to adapt on")
    if kinds is not None and np.shape(kinds) != windows.shape:
        raise ValueError(f"kinds must be shaped like the windows {windows.shape}, got {np.shape(kinds)}")
    present = present_mask(list(model.modalities), missing)
    adapted = copy.deepcopy(model)
    device = next(adapted.parameters()).device
    adapted.eval()  # BatchNorm keeps the statistics of training and dropout stays off: the steps are deterministic
    for name, parameter in adapted.named_parameters():
        parameter.requires_grad_(name.split(".")[0] in ADAPTED_PARTS)
    trainable = [parameter for parameter in adapted.parameters() if parameter.requires_grad]
    target = torch.from_numpy(windows).to(device)
    inputs = target.clone()
    inputs[:, ~present] = 0.0
    mask = torch.as_tensor(np.broadcast_to(present, windows.shape[:2]).copy(), device=device)
    weights = (~mask).to(torch.float32)
    kinds = None if kinds is None else torch.as_tensor(np.asarray(kinds, dtype=np.int8), device=device)
    loss_fn = HybridLoss(loss, list(model.modalities)).to(device)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    for _ in range(config.steps):
        optimizer.zero_grad(set_to_none=True)
        output = adapted(inputs, mask).reconstruction
        reference = target if kinds is None else censored_reference(target, output.detach(), kinds)
        terms = loss_fn(output, reference, weights)
        terms.total.backward()
        optimizer.step()
    for parameter in adapted.parameters():
        parameter.requires_grad_(False)
    return adapted.eval()
