"""Hybrid loss: hand-computed components, scale across window lengths, modality weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mimo_lib.config import LossConfig
from mimo_lib.training.loss import LOG_FLOOR, HybridLoss, align_target

MODALITIES = ["ECG", "PPG"]


def numpy_terms(rec: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-modality MSE and spectral terms written out directly."""
    n = rec.shape[-1]
    mse = ((rec - tgt) ** 2).mean(axis=(0, 2))
    mag = lambda a: np.abs(np.fft.rfft(a, axis=-1)) / np.sqrt(n)  # noqa: E731
    spectral = ((mag(rec) - mag(tgt)) ** 2).mean(axis=(0, 2))
    return mse, spectral


def test_components_match_hand_computation() -> None:
    rng = np.random.default_rng(0)
    rec, tgt = rng.normal(size=(3, 2, 16)), rng.normal(size=(3, 2, 16))
    loss = HybridLoss(LossConfig(spectral_weight=0.3, modality_weights={"ECG": 3.0, "PPG": 1.0}), MODALITIES)
    terms = loss(torch.tensor(rec, dtype=torch.float32), torch.tensor(tgt, dtype=torch.float32))
    mse, spectral = numpy_terms(rec, tgt)
    weights = np.array([0.75, 0.25])
    assert terms.mse.item() == pytest.approx(weights @ mse, rel=1e-5)
    assert terms.spectral.item() == pytest.approx(weights @ spectral, rel=1e-5)
    assert terms.total.item() == pytest.approx(0.7 * weights @ mse + 0.3 * weights @ spectral, rel=1e-5)
    values = terms.as_dict()
    assert set(values) == {"loss", "mse", "spectral", "mse/ECG", "mse/PPG", "spectral/ECG", "spectral/PPG"}
    assert values["mse/PPG"] == pytest.approx(mse[1], rel=1e-5)
    assert values["spectral/ECG"] == pytest.approx(spectral[0], rel=1e-5)


def test_total_is_differentiable() -> None:
    rec = torch.randn(2, 2, 32, requires_grad=True)
    HybridLoss(LossConfig(), MODALITIES)(rec, torch.randn(2, 2, 32)).total.backward()
    assert rec.grad is not None and rec.grad.abs().sum() > 0


@pytest.mark.parametrize("length", [64, 2048])
def test_spectral_term_has_the_scale_of_the_mse(length: int) -> None:
    torch.manual_seed(0)
    target = torch.randn(8, 2, length)
    terms = HybridLoss(LossConfig(), MODALITIES)(target + torch.randn(8, 2, length), target)
    assert 0.1 < terms.spectral.item() / terms.mse.item() < 10


def test_zero_spectral_weight_is_weighted_mse() -> None:
    rec, tgt = torch.randn(4, 2, 50), torch.randn(4, 2, 50)
    terms = HybridLoss(LossConfig(spectral_weight=0.0, modality_weights={"PPG": 4.0}), MODALITIES)(rec, tgt)
    per = ((rec - tgt) ** 2).mean(dim=(0, 2))
    assert torch.allclose(terms.total, 0.2 * per[0] + 0.8 * per[1])


def test_default_weights_are_uniform_and_keyed_by_name() -> None:
    loss = HybridLoss(LossConfig(), ["A", "B", "C", "D"])
    assert torch.allclose(loss.weights, torch.full((4,), 0.25))
    with pytest.raises(ValueError, match=r"unknown modalities \['EEG'\]"):
        HybridLoss(LossConfig(modality_weights={"EEG": 1.0}), MODALITIES)


def test_window_weights_scale_errors_and_slices_add_up_to_the_batch() -> None:
    rec, tgt = torch.randn(4, 2, 20), torch.randn(4, 2, 20)
    weights = torch.tensor([[1.0, 1.0], [0.25, 1.0], [1.0, 0.0], [1.0, 1.0]])
    loss = HybridLoss(LossConfig(), MODALITIES)
    terms = loss(rec, tgt, weights)
    error = ((rec - tgt) ** 2).mean(dim=2)
    assert terms.per_modality["ECG"]["mse"].item() == pytest.approx((error[:, 0] * weights[:, 0]).mean().item())
    # each slice's total weighted by its share of the batch gives the whole batch's total
    parts = [loss(rec[s], tgt[s], weights[s]).total * 2 / 4 for s in (slice(0, 2), slice(2, 4))]
    assert (parts[0] + parts[1]).item() == pytest.approx(terms.total.item())


def test_a_masked_targets_sign_and_shift_follow_the_reconstruction() -> None:
    target = torch.randn(2, 2, 50)
    reconstruction = torch.roll(target, 3, dims=2)
    reconstruction[0, 1] *= -1
    free = torch.tensor([[True, True], [True, False]])
    aligned = align_target(reconstruction, target, free, max_shift=5, polarity=True)
    torch.testing.assert_close(aligned[free], reconstruction[free])
    torch.testing.assert_close(aligned[1, 1], target[1, 1])  # not free: left as it is
    kept_sign = align_target(reconstruction, target, free, max_shift=5, polarity=False)
    torch.testing.assert_close(kept_sign[0, 0], reconstruction[0, 0])
    assert not torch.allclose(kept_sign[0, 1], reconstruction[0, 1])  # a negated target needs polarity
    unshifted = align_target(reconstruction, target, free, max_shift=0, polarity=True)
    assert not torch.allclose(unshifted[0, 0], reconstruction[0, 0])  # a shift of 3 needs max_shift >= 3


def test_log_time_error_is_the_mean_log_window_error_and_weighs_errors_relative_to_their_size() -> None:
    target = torch.zeros(2, 2, 8)
    reconstruction = torch.zeros(2, 2, 8)
    reconstruction[:, 0] = 0.01  # modality 0 reconstructed well (MSE 1e-4), modality 1 badly (MSE 1)
    reconstruction[:, 1] = 1.0
    cfg = LossConfig(spectral_weight=0.0, time_error="log")
    terms = HybridLoss(cfg, ["A", "B"])(reconstruction, target)
    expected = 0.5 * (np.log(1e-4 + LOG_FLOOR) + np.log(1.0 + LOG_FLOOR))
    assert terms.total.item() == pytest.approx(expected, rel=1e-5)
    assert terms.mse.item() == pytest.approx(0.5 * (1e-4 + 1.0), rel=1e-5)  # the logged MSE stays plain
    reconstruction.requires_grad_(True)
    HybridLoss(cfg, ["A", "B"])(reconstruction, target).total.backward()
    gradient = reconstruction.grad.abs().mean(dim=(0, 2))
    # d log(e² + ε) / de = 2e / (e² + ε): the small error pulls harder than the large one
    assert gradient[0] > 10 * gradient[1]


def test_modality_log_error_is_the_log_of_each_modality_batch_error() -> None:
    target = torch.zeros(2, 2, 8)
    reconstruction = torch.zeros(2, 2, 8)
    reconstruction[0, 0], reconstruction[1, 0] = 0.1, 0.3  # modality A: window MSEs 0.01 and 0.09
    reconstruction[:, 1] = 1.0  # modality B: MSE 1 in both windows
    cfg = LossConfig(spectral_weight=0.0, time_error="modality_log")
    terms = HybridLoss(cfg, ["A", "B"])(reconstruction, target)
    expected = 0.5 * (np.log(0.05 + LOG_FLOOR) + np.log(1.0 + LOG_FLOOR))  # the log of the mean, not the mean log
    assert terms.total.item() == pytest.approx(expected, rel=1e-5)
    reconstruction.requires_grad_(True)
    HybridLoss(cfg, ["A", "B"])(reconstruction, target).total.backward()
    # within modality A the windows pull by their own error (0.1 vs 0.3), as with plain MSE
    assert reconstruction.grad[1, 0].abs().mean().item() == pytest.approx(3 * reconstruction.grad[0, 0].abs().mean().item(), rel=1e-5)
    # across modalities each is divided by its own MSE: A's smaller error pulls harder than B's larger one
    assert reconstruction.grad[:, 0].abs().mean() > reconstruction.grad[:, 1].abs().mean()


def test_slope_term_sees_a_late_pulse_that_the_spectrum_cannot() -> None:
    """A pulse train arriving 3 samples late has the target's FFT magnitudes; its slope error is about
    twice the target's slope energy, and the term adds to the total with its weight."""
    t = torch.arange(250) / 125.0
    pulse = torch.sin(2 * torch.pi * 1.2 * t) + 0.5 * torch.sin(2 * torch.pi * 2.4 * t - 1.0)
    target = torch.stack([pulse, pulse])[None].repeat(2, 1, 1)
    late = torch.roll(target, 3, dims=2)
    plain = HybridLoss(LossConfig(spectral_weight=0.1), MODALITIES)(late, target)
    sloped = HybridLoss(LossConfig(spectral_weight=0.1, slope_weight=0.5), MODALITIES)(late, target)
    assert plain.spectral.item() < 1e-6 and plain.slope is None and "slope" not in plain.as_dict()
    slope = torch.diff(target, dim=2)
    expected = ((torch.diff(late, dim=2) - slope) ** 2).mean() / ((slope**2).mean() + LOG_FLOOR)
    assert sloped.slope.item() == pytest.approx(expected.item(), rel=1e-5)
    assert sloped.total.item() == pytest.approx(plain.total.item() + 0.5 * expected.item(), rel=1e-5)
    assert sloped.as_dict()["slope/PPG"] == pytest.approx(expected.item(), rel=1e-5)
    exact = HybridLoss(LossConfig(slope_weight=0.5), MODALITIES)(target, target)
    assert exact.slope.item() == 0.0
