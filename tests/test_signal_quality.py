"""The PPG quality gate: disturbed stretches are found, blanked, and counted as not scored."""

import neurokit2 as nk
import numpy as np
import pytest

from mimo_lib.evaluation.signal_quality import good_ppg, ppg_quality
from mimo_lib.imputation import pulse_rate_errors, where_ppg_good
from mimo_lib.reconstruction import RecordingReconstruction

RATE = 125.0
SECONDS = 96


@pytest.fixture(scope="module")
def disturbed():
    """Clean ECG and PPG at 72 bpm, the PPG's samples [32 s, 48 s) replaced by motion-like noise."""
    ecg = nk.ecg_simulate(duration=SECONDS, sampling_rate=RATE, heart_rate=72, noise=0.0, random_state=1)
    ppg = nk.ppg_simulate(duration=SECONDS, sampling_rate=int(RATE), heart_rate=72, random_state=1,
                          motion_amplitude=0.0, powerline_amplitude=0.0, burst_number=0, ibi_randomness=0.0)
    noise = np.random.default_rng(0).normal(0.0, 1.0, int(16 * RATE))
    ppg[int(32 * RATE):int(48 * RATE)] = np.cumsum(noise) / 10.0 + 3.0 * noise
    return np.vstack([ecg, ppg])


def as_recording(signals: np.ndarray) -> RecordingReconstruction:
    return RecordingReconstruction("S", "", ["II", "PLETH"], RATE, signals.copy(), signals.copy(), 1, {})


def test_a_regular_pulse_scores_high_and_noise_scores_low(disturbed):
    quality = ppg_quality(disturbed[1], RATE)
    clean = np.r_[int(4 * RATE):int(28 * RATE), int(52 * RATE):int(92 * RATE)]
    assert np.median(quality[clean]) > 0.95
    assert np.median(quality[int(34 * RATE):int(46 * RATE)]) < 0.8


def test_missing_samples_have_no_quality_and_fail_every_threshold(disturbed):
    ppg = disturbed[1].copy()
    ppg[: int(10 * RATE)] = np.nan
    quality = ppg_quality(ppg, RATE)
    assert np.isnan(quality[: int(10 * RATE)]).all()
    assert not good_ppg(ppg, RATE, 0.0)[: int(10 * RATE)].any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        good_ppg(ppg, RATE, 1.5)


def test_gated_spans_are_counted_as_not_scored(disturbed):
    recording = as_recording(disturbed)
    (everything,) = pulse_rate_errors([recording], "PLETH", "II").to_dict("records")
    gated_recording = where_ppg_good([recording], "PLETH", 0.9)[0]
    (gated,) = pulse_rate_errors([gated_recording], "PLETH", "II").to_dict("records")
    assert everything["n_scored"] + everything["n_not_scored"] == gated["n_scored"] + gated["n_not_scored"]
    assert gated["n_not_scored"] >= everything["n_not_scored"] + 2      # the two 8 s spans inside the noise
    assert gated["value"] < everything["value"]
    assert np.isnan(gated_recording.original[:, int(36 * RATE)]).all()    # every row blanked, not only PLETH
    assert np.isfinite(gated_recording.reconstruction[:, int(70 * RATE)]).all()
