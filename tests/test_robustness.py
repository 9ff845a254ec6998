"""Missing sensors and corrupted inputs: masks respected, imputation and denoising measured and written."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import LENGTH, MODALITIES, RATE, coupled_windows, tiny_params

from mimo_lib.config import CorruptionConfig, load_params
from mimo_lib.data.coupling import lagged_coupling, slow_coupling
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.metrics import METRICS
from mimo_lib.evaluation.robustness import corrupt_windows, evaluate_denoising, evaluate_imputation
from mimo_lib.model import build_model
from mimo_lib.model.inference import impute, impute_each, present_mask
from mimo_lib.run import load_run
from mimo_lib.training.loss import HybridLoss
from mimo_lib.training.trainer import loss_weights, train

NOISE_ONLY = CorruptionConfig(probability=1.0, noise_snr_db=10.0, wander_amplitude=0.0, burst_amplitude=0.0,
                              dropouts=False)


@pytest.fixture(scope="module")
def sets():
    return {"train": coupled_windows(128, 0), "val": coupled_windows(32, 1, "V"), "test": coupled_windows(32, 2, "T")}


def _train(folder, sets, **overrides):
    params = tiny_params(folder, **{"training.epochs": 6, **overrides})
    return train(params, sets, run_dir=folder / "run", progress=False)


@pytest.fixture(scope="module")
def dropout_run(tmp_path_factory, sets):
    return _train(tmp_path_factory.mktemp("dropout"), sets, **{"training.modality_dropout": 0.5})


@pytest.fixture(scope="module")
def denoising_run(tmp_path_factory, sets):
    return _train(tmp_path_factory.mktemp("denoise"), sets, **{"training.corruption.probability": 1.0})


@pytest.fixture
def untrained(tmp_path):
    torch.manual_seed(0)
    return build_model(tiny_params(tmp_path).model, MODALITIES, LENGTH).eval()


def test_present_mask_names_bad_modalities():
    np.testing.assert_array_equal(present_mask(["A", "B", "C"], ["B"]), [True, False, True])
    with pytest.raises(ValueError, match=r"\['RESP'\].*\['A', 'B', 'C'\]"):
        present_mask(["A", "B", "C"], ["RESP"])
    with pytest.raises(ValueError, match="at least one must be present"):
        present_mask(["A", "B"], ["A", "B"])


def test_imputed_output_ignores_the_missing_inputs(untrained, sets):
    windows = sets["test"].windows
    imputed = impute(untrained, windows, ["PPG"], batch_size=7)
    assert imputed.shape == windows.shape
    changed = windows.copy()
    changed[:, 1] = np.random.default_rng(0).normal(0, 3, changed[:, 1].shape)
    np.testing.assert_allclose(impute(untrained, changed, ["PPG"]), imputed, rtol=1e-5, atol=1e-7)
    other = windows.copy()
    other[:, 0] *= -1
    # the present modality does reach the output: far above the float noise allowed just above
    assert np.abs(impute(untrained, other, ["PPG"]) - imputed).max() > 100 * 1e-7
    with torch.no_grad():
        present = torch.tensor([[True, False]]).expand(len(windows), 2)
        direct = untrained(torch.from_numpy(windows) * present[:, :, None], present).reconstruction.numpy()
    np.testing.assert_allclose(imputed, direct, atol=1e-5)
    with pytest.raises(ValueError, match=r"\['ECG', 'PPG'\]"):
        impute(untrained, windows, ["RESP"])
    with pytest.raises(ValueError, match="at least one"):
        impute(untrained, windows, ["ECG", "PPG"])


def test_imputation_beats_predicting_zeros(dropout_run, sets):
    test = sets["test"]
    table = evaluate_imputation(dropout_run.model, test)
    assert list(table.columns) == ["modality", "condition", "n_windows", *METRICS]
    assert list(zip(table["modality"], table["condition"])) == [
        ("ECG", "missing"), ("ECG", "present"), ("PPG", "missing"), ("PPG", "present")]
    missing = table[table["condition"] == "missing"].set_index("modality")
    zeros_mse = (test.windows**2).mean(axis=(0, 2))  # predicting all zeros
    for index, modality in enumerate(MODALITIES):
        assert missing.loc[modality, "mse"] < 0.6 * zeros_mse[index]
        assert missing.loc[modality, "pearson"] > 0.6
    present = table[table["condition"] == "present"].set_index("modality")
    assert (present["mse"] <= missing["mse"] + 0.05).all()


def test_a_modality_always_dropped_trains_an_imputer_for_it(tmp_path, sets):
    run = _train(tmp_path, sets, **{"training.modality_dropout": {"PPG": 1.0}, "training.missing_weight": 1.0})
    table = evaluate_imputation(run.model, sets["test"]).set_index(["modality", "condition"])
    zeros_mse = float((sets["test"].windows[:, 1] ** 2).mean())
    assert table.loc[("PPG", "missing"), "mse"] < 0.6 * zeros_mse
    assert load_params(run.run_dir / "params.yaml").training.dropout_probabilities(MODALITIES) == [0.0, 1.0]


def test_validation_masks_a_modality_that_training_always_masks(tmp_path, sets):
    run = _train(tmp_path, sets, **{"training.modality_dropout": {"PPG": 1.0}, "training.missing_weight": 1.0,
                                    "training.epochs": 1, "training.bf16": False})
    windows = torch.from_numpy(sets["val"].windows)
    present = torch.tensor([True, False]).expand(len(windows), -1)
    with torch.no_grad():
        reconstruction = run.model(windows, present).reconstruction
    expected = HybridLoss(tiny_params(tmp_path).loss, MODALITIES)(reconstruction, windows, loss_weights(present, 1.0))
    assert run.history["val_loss"].iloc[0] == pytest.approx(expected.total.item(), rel=1e-4)


def test_impute_each_takes_each_modality_from_its_own_absent_pass(dropout_run, sets):
    test = sets["test"]
    each = impute_each(dropout_run.model, test)
    for index, modality in enumerate(MODALITIES):
        alone = impute(dropout_run.model, test, [modality])
        np.testing.assert_allclose(each[:, index], alone[:, index], atol=1e-6)
        assert not np.allclose(each[:, index], alone[:, 1 - index])


def test_imputation_by_subject_splits_the_pooled_means(dropout_run, sets):
    test = sets["test"]
    pooled = evaluate_imputation(dropout_run.model, test).set_index(["modality", "condition"])
    table = evaluate_imputation(dropout_run.model, test, by_subject=True)
    assert list(table.columns) == ["modality", "condition", "subject", "n_windows", *METRICS]
    assert set(table["subject"]) == set(np.unique(test.subjects))
    for (modality, condition), rows in table.groupby(["modality", "condition"]):
        assert rows["n_windows"].sum() == len(test)
        weighted = (rows["pearson"] * rows["n_windows"]).sum() / len(test)
        assert weighted == pytest.approx(pooled.loc[(modality, condition), "pearson"], rel=1e-9)


def test_imputation_needs_two_modalities(tmp_path, sets):
    single = build_model(tiny_params(tmp_path, **{"data.modalities": ["ECG"]}).model, ["ECG"], LENGTH)
    windowset = sets["test"].subset(np.ones(len(sets["test"]), bool))
    windowset = WindowSet(windowset.windows[:, :1], windowset.subjects, windowset.starts, ["ECG"], RATE,
                          {"method": "window", "mean": 0.0, "std": 1.0})
    with pytest.raises(ValueError, match="at least two modalities"):
        evaluate_imputation(single, windowset)


def test_corruption_is_seeded_and_reaches_the_configured_snr(untrained, sets):
    test = sets["test"]
    table = evaluate_denoising(untrained, test, NOISE_ONLY, seed=3)
    assert table["input_snr_db"].to_numpy() == pytest.approx([10.0, 10.0], abs=0.5)
    pd.testing.assert_frame_equal(evaluate_denoising(untrained, test, NOISE_ONLY, seed=3), table)
    assert not np.allclose(corrupt_windows(test.windows, NOISE_ONLY, RATE, 4),
                           corrupt_windows(test.windows, NOISE_ONLY, RATE, 3))
    off = NOISE_ONLY.model_copy(update={"probability": 0.0})  # 0 means: corrupt every window
    np.testing.assert_array_equal(corrupt_windows(test.windows, off, RATE, 3),
                                  corrupt_windows(test.windows, NOISE_ONLY, RATE, 3))


def test_denoising_model_raises_the_snr(denoising_run, sets):
    table = evaluate_denoising(denoising_run.model, sets["test"], CorruptionConfig(probability=1.0), seed=0)
    assert list(table["modality"]) == MODALITIES
    assert (table["output_snr_db"] > table["input_snr_db"] + 1.0).all()
    assert (table["output_mse"] < table["input_mse"]).all()
    np.testing.assert_allclose(table["snr_gain_db"], table["output_snr_db"] - table["input_snr_db"])


def test_write_robustness_puts_both_tables_in_the_run_folder(denoising_run, sets):
    run = load_run(denoising_run.run_dir)
    paths = run.write_robustness("test", sets=sets)
    assert [p.name for p in paths] == ["imputation_test.csv", "imputation_test_subjects.csv", "denoising_test.csv"]
    imputation = pd.read_csv(paths[0])
    expected = evaluate_imputation(denoising_run.model, sets["test"])
    pd.testing.assert_frame_equal(imputation, expected, check_dtype=False, atol=1e-6)
    by_subject = pd.read_csv(paths[1], dtype={"subject": str})
    expected = evaluate_imputation(denoising_run.model, sets["test"], by_subject=True)
    pd.testing.assert_frame_equal(by_subject, expected, check_dtype=False, atol=1e-6)
    denoising = pd.read_csv(paths[2])
    # the run's own corruption settings (probability 1) are used by default
    expected = evaluate_denoising(denoising_run.model, sets["test"], CorruptionConfig(probability=1.0), seed=0)
    pd.testing.assert_frame_equal(denoising, expected, check_dtype=False, atol=1e-6)
    with pytest.raises(ValueError, match="'holdout'"):
        run.write_robustness("holdout", sets=sets)


def test_slow_coupling_finds_the_sign_of_each_subject():
    rng = np.random.default_rng(0)
    t = np.arange(400) / 25.0
    windows, subjects = [], []
    for subject, sign in [("A", 1.0), ("B", -1.0)]:
        for _ in range(5):
            breath = np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi))
            pulse = np.sin(2 * np.pi * 1.2 * t + rng.uniform(0, 2 * np.pi))
            windows.append([sign * breath + 0.1 * rng.standard_normal(400), pulse + 0.3 * breath])
            subjects.append(subject)
    windowset = WindowSet(np.asarray(windows, dtype=np.float32), np.asarray(subjects), np.zeros(10),
                          ["RESP", "PPG"], 25.0, {"method": "window"})
    coupling = slow_coupling(windowset, "RESP", "PPG", cutoff_hz=0.6).set_index("subject")
    assert coupling.loc["A", "median_r"] > 0.8 and coupling.loc["B", "median_r"] < -0.8
    assert coupling["windows"].tolist() == [5, 5]
    with pytest.raises(ValueError, match="ECG"):
        slow_coupling(windowset, "ECG", "PPG", cutoff_hz=0.6)


def test_lagged_coupling_finds_each_subjects_delay():
    rng = np.random.default_rng(0)
    rate, t = 25.0, np.arange(200) / 25.0
    windows, subjects = [], []
    for subject, delay in [("A", 0.2), ("B", 0.6)]:
        for _ in range(4):
            frequency, phase = rng.uniform(0.9, 1.4), rng.uniform(0, 2 * np.pi)
            beats = np.sin(2 * np.pi * frequency * t + phase) ** 15  # sharp, QRS-like peaks
            pulse = np.sin(2 * np.pi * frequency * (t - delay) + phase) ** 15
            windows.append([beats, pulse + 0.05 * rng.standard_normal(len(t))])
            subjects.append(subject)
    windowset = WindowSet(np.asarray(windows, dtype=np.float32), np.asarray(subjects), np.zeros(8),
                          ["ECG", "PPG"], rate, {"method": "window"})
    table = lagged_coupling(windowset, "ECG", "PPG", max_lag_s=0.7).set_index("subject")
    assert table.loc["A", "lag_s"] == pytest.approx(0.2, abs=1 / rate)
    assert table.loc["B", "lag_s"] == pytest.approx(0.6, abs=1 / rate)
    assert (table["median_r"] > 0.9).all() and table["windows"].tolist() == [4, 4]
    with pytest.raises(ValueError, match="max_lag_s"):
        lagged_coupling(windowset, "ECG", "PPG", max_lag_s=8.0)
    with pytest.raises(ValueError, match="EDA"):
        lagged_coupling(windowset, "EDA", "PPG", max_lag_s=0.5)
