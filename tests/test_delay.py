"""Per-subject delay alignment: each subject's beat-to-pulse delay is measured, and training with
``missing_delay: subject`` on subjects with different delays is training on subjects with one delay."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import MODALITIES, tiny_params, zscored_windowset

from mimo_lib.training.augmentations import roll_windows
from mimo_lib.training.delay import subject_delays, subject_shifts, window_shifts
from mimo_lib.training.trainer import train

RATE = 32.0
LENGTH = 256  # 8 s: eight beats of 1 s, so a circular roll of a window is the same beat train later
PERIOD = 32
UPRIGHT_DELAY = 12  # samples from R-peak to pulse peak (0.375 s)
ROLLS = {"S00": 4, "S01": 0, "S02": -4}  # ECG rolled later: delays 8, 12 and 16 samples (0.25, 0.375, 0.5 s)


def beat_windows(n: int, seed: int, prefix: str = "S") -> tuple:
    """ECG (R spikes) and PPG (pulses ``UPRIGHT_DELAY`` samples later) windows at a random beat phase; and a copy
    with each subject's ECG rolled by :data:`ROLLS`, as a monitor with a subject-dependent lag would record it."""
    rng = np.random.default_rng(seed)
    samples = np.arange(LENGTH)
    raw = np.empty((n, 2, LENGTH))
    for i in range(n):
        offset = rng.integers(PERIOD)
        distance = (samples - offset) % PERIOD
        pulse_distance = (samples - offset - UPRIGHT_DELAY) % PERIOD
        raw[i, 0] = np.exp(-0.5 * (np.minimum(distance, PERIOD - distance) / 0.7) ** 2)
        raw[i, 1] = np.exp(-0.5 * (np.minimum(pulse_distance, PERIOD - pulse_distance) / 3.0) ** 2)
    raw += 0.01 * rng.standard_normal(raw.shape)
    upright = zscored_windowset(raw, MODALITIES, RATE, prefix)
    windows = np.array(upright.windows)
    for subject, roll in ROLLS.items():
        rows = upright.subjects == prefix + subject[1:]
        windows[rows, 0] = np.roll(windows[rows, 0], roll, axis=-1)
    return upright, replace(upright, windows=windows)


def test_each_subjects_delay_is_measured_and_shifted_to_the_median():
    _, delayed = beat_windows(30, 0)
    delays = subject_delays(delayed, "ECG", "PPG")
    assert list(delays["subject"]) == ["S00", "S01", "S02"]
    np.testing.assert_allclose(delays["period_s"], 1.0)
    np.testing.assert_allclose(delays["delay_s"], [0.25, 0.375, 0.5], atol=0.5 / RATE)
    shifts = subject_shifts(delays, float(delays["delay_s"].median()))
    samples = window_shifts(delayed, shifts, "ECG")
    assert (samples[:, 1] == 0).all()
    np.testing.assert_array_equal(samples[:, 0], [-ROLLS[s] for s in delayed.subjects])
    aligned = replace(delayed, windows=roll_windows(torch.from_numpy(delayed.windows), torch.from_numpy(samples)).numpy())
    np.testing.assert_allclose(subject_delays(aligned, "ECG", "PPG")["delay_s"], 0.375, atol=0.5 / RATE)


def test_a_shift_is_never_more_than_half_a_beat():
    delays = pd.DataFrame({"subject": ["a", "b", "c"], "period_s": [1.0, 0.5, 1.0], "delay_s": [0.2, 0.65, np.nan]})
    np.testing.assert_allclose(subject_shifts(delays, 0.7).to_numpy(), [-0.5, -0.05, 0.0])


def test_training_with_subject_delay_is_training_on_aligned_signals(tmp_path):
    upright_train, delayed_train = beat_windows(48, 1)
    upright_val, delayed_val = beat_windows(12, 2, "V")
    imputer = {"training.epochs": 2, "training.modality_dropout": {"ECG": 1.0}, "training.missing_weight": 1.0}
    aligned = train(tiny_params(tmp_path, **imputer, **{"training.missing_delay": "subject",
                                                         "training.delay_reference": "PPG"}),
                    {"train": delayed_train, "val": delayed_val}, run_dir=tmp_path / "aligned", progress=False)
    upright = train(tiny_params(tmp_path, **imputer), {"train": upright_train, "val": upright_val},
                    run_dir=tmp_path / "upright", progress=False)
    pd.testing.assert_frame_equal(aligned.history.drop(columns="seconds"), upright.history.drop(columns="seconds"))
    written = pd.read_csv(tmp_path / "aligned" / "subject_delays.csv", dtype={"subject": str})
    assert set(written["split"]) == {"train", "val"}
    np.testing.assert_allclose(written["shift_s"], [-ROLLS["S" + s[1:]] / RATE for s in written["subject"]],
                               atol=0.5 / RATE)


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "needs training.delay_reference, a PPG modality"),
    ({"training.delay_reference": "ECG"}, "needs training.delay_reference, a PPG modality"),
    ({"training.delay_reference": "PPG", "training.modality_dropout": {"PPG": 1.0}}, "aligns masked ECG modalities"),
])
def test_a_reference_that_is_not_a_present_ppg_is_refused(tmp_path, overrides, message):
    _, delayed = beat_windows(12, 0)
    values = {"training.modality_dropout": {"ECG": 1.0}, "training.missing_delay": "subject", **overrides}
    with pytest.raises(ValueError, match=message):
        train(tiny_params(tmp_path, **values), {"train": delayed}, run_dir=tmp_path / "refused", progress=False)
