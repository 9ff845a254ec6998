"""Per-subject polarity: subjects whose masked signal is inverted are found, and training on them with
``missing_polarity: subject`` is training on the signals the right way round."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import LENGTH, MODALITIES, RATE, tiny_params, zscored_windowset

from mimo_lib.training.polarity import subject_signs
from mimo_lib.training.trainer import train

INVERTED = "S01"


def shared_wave(n: int, seed: int, prefix: str = "S") -> tuple:
    """Windows whose second modality (PPG) is the first (ECG) plus noise; and a copy with subject S01's PPG negated."""
    rng = np.random.default_rng(seed)
    time = np.arange(LENGTH) / RATE
    wave = np.sin(2 * np.pi * rng.uniform(0.5, 1.5, (n, 1)) * time + rng.uniform(0, 2 * np.pi, (n, 1)))
    raw = np.stack([wave, wave + 0.2 * rng.standard_normal(wave.shape)], axis=1)
    upright = zscored_windowset(raw, MODALITIES, RATE, prefix)
    windows = np.array(upright.windows)
    windows[upright.subjects == prefix + INVERTED[1:], 1] *= -1
    return upright, replace(upright, windows=windows)


def test_the_inverted_subject_and_only_its_masked_signal_is_negated():
    _, inverted = shared_wave(48, 0)
    signs = subject_signs(inverted, ["PPG"], "ECG", cutoff_hz=3.0)
    assert signs.shape == (48, 2, 1)
    assert (signs[:, 0] == 1).all()
    np.testing.assert_array_equal(signs[:, 1, 0], np.where(inverted.subjects == INVERTED, -1.0, 1.0))


def test_a_reference_that_is_absent_or_masked_is_refused():
    _, inverted = shared_wave(12, 0)
    with pytest.raises(ValueError, match="'RESP' is not among the modalities"):
        subject_signs(inverted, ["PPG"], "RESP", 3.0)
    with pytest.raises(ValueError, match="'PPG' is itself masked"):
        subject_signs(inverted, ["PPG"], "PPG", 3.0)


def test_training_with_subject_polarity_is_training_on_upright_signals(tmp_path):
    upright_train, inverted_train = shared_wave(64, 1)
    upright_val, inverted_val = shared_wave(16, 2, "V")
    imputer = {"training.epochs": 2, "training.modality_dropout": {"PPG": 1.0}, "training.missing_weight": 1.0}
    aligned = train(tiny_params(tmp_path, **imputer, **{"training.missing_polarity": "subject",
                                                         "training.polarity_reference": "ECG",
                                                         "training.polarity_cutoff_hz": 3.0}),
                    {"train": inverted_train, "val": inverted_val}, run_dir=tmp_path / "aligned", progress=False)
    upright = train(tiny_params(tmp_path, **imputer), {"train": upright_train, "val": upright_val},
                    run_dir=tmp_path / "upright", progress=False)
    pd.testing.assert_frame_equal(aligned.history.drop(columns="seconds"), upright.history.drop(columns="seconds"))
    with pytest.raises(ValueError, match="needs training.polarity_reference"):
        train(tiny_params(tmp_path, **imputer, **{"training.missing_polarity": "subject"}),
              {"train": inverted_train}, run_dir=tmp_path / "refused", progress=False)
