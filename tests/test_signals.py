"""Band-pass filters, resampling and modality kinds."""

from __future__ import annotations

import numpy as np
import pytest

from mimo_lib.config import load_params
from mimo_lib.data.signals import bandpass, default_band, guess_kind, modality_bands, resample


def tone(freq: float, rate: float, seconds: float, amplitude: float = 1.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(round(seconds * rate))) / rate)


def amplitude_at(signal: np.ndarray, rate: float, freq: float) -> float:
    """Amplitude of the sinusoid at ``freq`` (least squares on sine and cosine)."""
    t = np.arange(len(signal)) / rate
    basis = np.column_stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)])
    coef, *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return float(np.hypot(*coef))


def middle(x: np.ndarray) -> np.ndarray:
    return x[len(x) // 5 : -len(x) // 5]


def test_bandpass_keeps_pass_band_and_removes_out_of_band_tones():
    rate = 250.0
    signal = tone(5, rate, 20) + tone(0.05, rate, 20) + tone(100, rate, 20)
    out = middle(bandpass(signal, rate, (1.0, 30.0), order=4))
    assert amplitude_at(out, rate, 5) == pytest.approx(1.0, abs=0.02)
    assert amplitude_at(out, rate, 100) < 0.01
    assert amplitude_at(out, rate, 0.05) < 0.05


def test_bandpass_is_zero_phase():
    rate = 100.0
    signal = tone(3, rate, 10)
    out = bandpass(signal, rate, (0.5, 20.0))
    assert np.corrcoef(middle(out), middle(signal))[0, 1] > 0.999


def test_low_edge_zero_is_low_pass_keeping_dc():
    rate = 100.0
    signal = 3.0 + tone(40, rate, 10)
    out = middle(bandpass(signal, rate, (0.0, 5.0)))
    assert out.mean() == pytest.approx(3.0, abs=1e-3)
    assert amplitude_at(out - out.mean(), rate, 40) < 0.01


def test_bandpass_rejects_edge_above_nyquist():
    with pytest.raises(ValueError, match="Nyquist"):
        bandpass(np.zeros(1000), 50.0, (0.5, 30.0))


@pytest.mark.parametrize(
    ("rate", "target"), [(250.0, 50.0), (125.0, 50.0), (62.47, 50.0), (50.0, 125.0), (1000.0, 50.0)]
)
def test_resample_preserves_frequency_and_amplitude(rate, target):
    signal = tone(2.0, rate, 30, amplitude=1.5)
    out = resample(signal, rate, target)
    assert len(out) == int(np.ceil(len(signal) * target / rate))
    core = middle(out)
    offset = len(out) // 5
    t = (np.arange(len(core)) + offset) / target
    # same phase at the same times: the time axis is not shifted or stretched
    np.testing.assert_allclose(core, 1.5 * np.sin(2 * np.pi * 2.0 * t), atol=0.02)


def test_resample_same_rate_is_identity():
    x = np.random.default_rng(0).normal(size=100)
    np.testing.assert_array_equal(resample(x, 50.0, 50.0), x)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("ECG", "ecg"), ("II", "ecg"), ("V", "ecg"), ("AVR", "ecg"), ("MCL1", "ecg"), ("ecg_lead", "ecg"),
     ("PPG", "ppg"), ("PLETH", "ppg"), ("Pleth", "ppg"), ("RESP", "resp"), ("RSP", "resp"), ("Resp", "resp"),
     ("ABP", "abp"), ("BP", "abp"), ("ART", "abp"), ("EDA", "eda"), ("GSR", "eda"), ("PhotoSensor", "other"),
     ("temperature", "other")],
)
def test_guess_kind(name, kind):
    assert guess_kind(name) == kind


def test_default_band_caps_high_edge_below_target_nyquist():
    low, high = default_band("ecg", 25.0)
    assert low == 0.5 and high < 12.5
    assert default_band("resp", 50.0) == (0.05, 1.0)
    with pytest.raises(ValueError, match="unknown modality kind"):
        default_band("eeg", 50.0)


def test_modality_bands_use_params_then_kind_defaults():
    params = load_params(overrides={"data.kinds": {"PPG": "resp"}, "preprocessing.bands": {"ECG": [1, 45]}})
    bands = modality_bands(params)
    assert bands["ECG"] == (1.0, 0.9 * 25.0)
    assert bands["PPG"] == default_band("resp", 50.0)
    assert bands["ABP"] == default_band("abp", 50.0)
