"""Hybrid reconstruction loss: time-domain MSE plus an FFT magnitude (spectral) term.

``total = (1 - λ) * Σ_m w_m MSE_m + λ * Σ_m w_m SPEC_m`` with ``λ = loss.spectral_weight``
and modality weights ``w_m`` summing to one.

With ``loss.time_error: log`` the time-domain term is ``Σ_m w_m mean_b log(MSE_bm + ε)``
instead, over windows ``b``: on z-scored windows ``-10 log10(MSE_bm)`` is the window's
SNR in dB, so this term is the mean per-window SNR (up to sign and scale), the
figure reported per modality. Each window's error then counts relative to its own
size: a modality reconstructed well keeps gaining from further precision, instead
of being ignored beside one with a large squared error. ``ε`` (:data:`LOG_FLOOR`,
40 dB) keeps windows reconstructed better than that from pulling further.

With ``loss.time_error: modality_log`` it is ``Σ_m w_m log(mean_b MSE_bm + ε)``: the
log is taken once per modality over the batch, so modalities are balanced by their
relative error (a modality's gradient is divided by its own MSE) while within a
modality windows still count by their squared error, as with ``mse``. Under
distributed training each process takes the log of its own slice of the batch.

With ``loss.slope_weight`` ``μ > 0`` the total gains ``μ Σ_m w_m SLOPE_m``: the squared
error of the first difference (the slope) of each window, divided by the batch's
mean squared slope of the target, so it is a relative error like the MSE of
z-scored windows. The spectral term compares magnitudes only and is blind to a
waveform arriving a few samples early or late; the MSE sees it, but in smooth
signals (a pulse wave) mostly through the slow fundamental. The slope weighs each
harmonic by its frequency squared, so the timing of steep edges (a pulse's
upstroke, a QRS complex) counts.

Spectral term: ``SPEC_m`` is the mean over windows and frequency bins of
``(|R_f| - |X_f|)^2`` where ``R, X = rfft(·, norm="ortho")`` of the reconstruction and
the target. The orthonormal scaling divides the raw FFT by ``sqrt(T)``, so by
Parseval a bin carries on average the energy of one time sample: for any window
length the spectral term is on the same scale as the MSE (e.g. both ≈ 2σ² order
for independent noise of variance σ²), and λ means the same for every window length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mimo_lib.config import LossConfig
from mimo_lib.training.augmentations import roll_windows

LOG_FLOOR = 1e-4


def modality_weight_vector(weights: Mapping[str, float], modalities: list[str]) -> Tensor:
    """Weights per modality in ``modalities`` order, normalised to sum to one.

    ``weights`` are relative and keyed by modality name; unnamed modalities weigh 1,
    so no weights at all gives ``1 / M`` each. An unknown name raises ``ValueError``.
    """
    unknown = sorted(set(weights) - set(modalities))
    if unknown:
        raise ValueError(f"loss.modality_weights names unknown modalities {unknown}; modalities are {modalities}")
    raw = torch.tensor([float(weights.get(name, 1.0)) for name in modalities], dtype=torch.float32)
    if (raw < 0).any() or raw.sum() <= 0:
        raise ValueError(f"loss.modality_weights must be >= 0 with a positive sum, got {dict(weights)}")
    return raw / raw.sum()


@dataclass
class LossTerms:
    """The parts of one loss evaluation; ``total`` is the differentiable objective."""

    total: Tensor
    mse: Tensor
    spectral: Tensor
    per_modality: dict[str, dict[str, Tensor]]
    slope: Tensor | None = None

    def as_dict(self) -> dict[str, float]:
        """Plain floats: ``loss``, ``mse``, ``spectral``, ``mse/<modality>``, ``spectral/<modality>`` (and ``slope``,
        ``slope/<modality>`` when the slope term is on)."""
        values = {"loss": self.total.item(), "mse": self.mse.item(), "spectral": self.spectral.item()}
        if self.slope is not None:
            values["slope"] = self.slope.item()
        for name, terms in self.per_modality.items():
            for term, value in terms.items():
                values[f"{term}/{name}"] = value.item()
        return values


@torch.no_grad()
def align_target(reconstruction: Tensor, target: Tensor, free: Tensor, max_shift: int, polarity: bool) -> Tensor:
    """``target`` ``[B, M, T]`` moved towards ``reconstruction`` where ``free`` ``[B, M]`` is true.

    There each window is rolled (circularly) by the shift in ±``max_shift`` samples
    and, with ``polarity``, given the sign that brings it closest to the
    reconstruction in squared error (the largest signed inner product: rolling and
    negating keep the target's energy). Elsewhere the target is returned as is.
    """
    shifts = torch.arange(-max_shift, max_shift + 1, device=target.device)
    products = torch.stack([(reconstruction * torch.roll(target, int(k), dims=2)).sum(dim=2) for k in shifts])
    fit = products.abs() if polarity else products
    best = fit.argmax(dim=0)  # [B, M]
    sign = torch.where(polarity & (products.gather(0, best[None])[0] < 0), -1.0, 1.0).to(target.dtype)
    aligned = roll_windows(target, shifts[best]) * sign[..., None]
    return torch.where(free.to(torch.bool)[..., None], aligned, target)


class HybridLoss(nn.Module):
    """``(1 - λ)`` weighted MSE ``+ λ`` weighted spectral loss over windows ``[B, M, T]``."""

    def __init__(self, cfg: LossConfig, modalities: list[str]) -> None:
        super().__init__()
        self.modalities = list(modalities)
        self.spectral_weight = cfg.spectral_weight
        self.time_error = cfg.time_error
        self.slope_weight = cfg.slope_weight
        self.register_buffer("weights", modality_weight_vector(cfg.modality_weights, self.modalities))

    def forward(self, reconstruction: Tensor, target: Tensor, window_weights: Tensor | None = None) -> LossTerms:
        """Loss of ``reconstruction`` against ``target``.

        ``window_weights`` ``[B, M]`` (optional) scale each window's error per modality
        before the mean over windows (e.g. less for a modality masked at the input).
        Per-modality terms stay means over all ``B`` windows, so the terms of the
        slices of a batch add up to the term of the whole batch (distributed training).
        """
        if reconstruction.shape != target.shape or target.dim() != 3 or target.shape[1] != len(self.modalities):
            raise ValueError(
                f"reconstruction {list(reconstruction.shape)} and target {list(target.shape)} must both be "
                f"[batch, {len(self.modalities)}, time] for modalities {self.modalities}"
            )
        reconstruction = reconstruction.float()
        target = target.float()
        mse = (reconstruction - target).pow(2).mean(dim=2)  # [B, M]
        spec_rec = torch.fft.rfft(reconstruction, dim=2, norm="ortho").abs()
        spec_tgt = torch.fft.rfft(target, dim=2, norm="ortho").abs()
        spectral = (spec_rec - spec_tgt).pow(2).mean(dim=2)  # [B, M]
        window_log = torch.log(mse + LOG_FLOOR) if self.time_error == "log" else None
        if window_weights is not None:
            window_weights = window_weights.to(mse.dtype)
            mse, spectral = mse * window_weights, spectral * window_weights
            if window_log is not None:
                window_log = window_log * window_weights
        mse_m, spectral_m = mse.mean(dim=0), spectral.mean(dim=0)
        weighted_mse = (self.weights * mse_m).sum()
        weighted_spectral = (self.weights * spectral_m).sum()
        if window_log is not None:
            weighted_time = (self.weights * window_log.mean(dim=0)).sum()
        elif self.time_error == "modality_log":
            weighted_time = (self.weights * torch.log(mse_m + LOG_FLOOR)).sum()
        else:
            weighted_time = weighted_mse
        total = (1.0 - self.spectral_weight) * weighted_time + self.spectral_weight * weighted_spectral
        per_modality = {
            name: {"mse": mse_m[i], "spectral": spectral_m[i]} for i, name in enumerate(self.modalities)
        }
        weighted_slope = None
        if self.slope_weight > 0:
            slope_m = self._slope_error(reconstruction, target, window_weights)
            weighted_slope = (self.weights * slope_m).sum()
            total = total + self.slope_weight * weighted_slope
            for i, name in enumerate(self.modalities):
                per_modality[name]["slope"] = slope_m[i]
        return LossTerms(total=total, mse=weighted_mse, spectral=weighted_spectral, per_modality=per_modality,
                         slope=weighted_slope)

    @staticmethod
    def _slope_error(reconstruction: Tensor, target: Tensor, window_weights: Tensor | None) -> Tensor:
        """Per modality ``[M]``: mean squared error of the first differences over the target's mean squared one."""
        target_slope = torch.diff(target, dim=2)
        error = (torch.diff(reconstruction, dim=2) - target_slope).pow(2).mean(dim=2)  # [B, M]
        if window_weights is not None:
            error = error * window_weights
        scale = target_slope.pow(2).mean(dim=(0, 2)).detach()
        return error.mean(dim=0) / (scale + LOG_FLOOR)
