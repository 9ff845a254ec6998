"""Reconstruction metrics against values known in closed form."""

import numpy as np
import pytest

from mimo_lib.evaluation.metrics import METRICS, SNR_CAP_DB, reconstruction_metrics


def _zscored(n: int = 5, m: int = 2, t: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    time = np.arange(t) / 50.0
    x = np.sin(2 * np.pi * rng.uniform(0.5, 3.0, (n, m, 1)) * time) + 0.3 * rng.standard_normal((n, m, t))
    return (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)


def test_every_metric_is_per_window_and_modality():
    x = _zscored()
    values = reconstruction_metrics(x, 0.9 * x)
    assert set(values) == set(METRICS)
    assert all(v.shape == (5, 2) for v in values.values())


def test_perfect_reconstruction():
    x = _zscored()
    values = reconstruction_metrics(x, x.copy())
    np.testing.assert_allclose(values["mse"], 0)
    np.testing.assert_allclose(values["prd"], 0)
    np.testing.assert_allclose(values["pearson"], 1)
    np.testing.assert_allclose(values["psd_corr"], 1)
    np.testing.assert_array_equal(values["snr_db"], SNR_CAP_DB)


def test_zero_reconstruction_is_prd_100_and_snr_0():
    x = _zscored()
    values = reconstruction_metrics(x, np.zeros_like(x))
    np.testing.assert_allclose(values["prd"], 100.0)
    np.testing.assert_allclose(values["snr_db"], 0.0, atol=1e-9)
    np.testing.assert_allclose(values["mse"], 1.0)  # z-scored: mean square is 1
    assert np.isnan(values["pearson"]).all()  # a constant reconstruction has no correlation


def test_known_noise_level():
    rng = np.random.default_rng(1)
    x = _zscored(n=50, t=2000)
    noisy = x + 0.1 * rng.standard_normal(x.shape)  # error energy 1 % of signal energy
    values = reconstruction_metrics(x, noisy)
    assert np.median(values["snr_db"]) == pytest.approx(20.0, abs=0.3)
    assert np.median(values["prd"]) == pytest.approx(10.0, abs=0.3)
    assert np.median(values["mae"]) == pytest.approx(0.1 * np.sqrt(2 / np.pi), rel=0.05)


def test_independent_noise_is_uncorrelated():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 1, 4000))
    values = reconstruction_metrics(x, rng.standard_normal(x.shape))
    assert abs(values["pearson"].mean()) < 0.02
    assert values["mse"].mean() == pytest.approx(2.0, rel=0.05)


def test_constant_target_gives_nan_snr_and_prd():
    x = np.ones((1, 1, 100))
    values = reconstruction_metrics(x, x + 0.1)
    assert np.isnan(values["snr_db"]).all() and np.isnan(values["prd"]).all() and np.isnan(values["pearson"]).all()
    assert values["mse"][0, 0] == pytest.approx(0.01)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="must both be"):
        reconstruction_metrics(np.zeros((2, 1, 10)), np.zeros((2, 1, 11)))
