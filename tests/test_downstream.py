"""Downstream regression: monitor numerics per window, ridge on latent vs PCA features."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import coupled_windows, smoke_run, tiny_params, zscored_windowset

from mimo_lib.data.sources.numerics import read_bidmc_numerics, read_numerics, window_numerics
from mimo_lib.evaluation.downstream import (
    ALPHAS,
    compare_features,
    compare_probes,
    evaluate_downstream,
    fit_probe,
    join_numeric,
    window_rates,
)
from mimo_lib.model import build_model
from mimo_lib.model.inference import predict
from mimo_lib.run import load_run


def ramp_numerics() -> pd.DataFrame:
    """Two subjects at 1 Hz: HR equals the time for A, time + 100 for B; B misses HR at t = 5."""
    time = np.arange(60.0)
    hr_b = time + 100
    hr_b[5] = np.nan
    return pd.DataFrame({"subject": ["A"] * 60 + ["B"] * 60, "time": np.concatenate([time, time]),
                         "HR": np.concatenate([time, hr_b])})


def test_window_numerics_average_over_each_window_span():
    values = window_numerics(ramp_numerics(), np.array(["A", "B", "B", "C", "A"]),
                             np.array([10.0, 0.0, 4.0, 0.0, 58.0]), 8.0, "HR")
    # A from 10 s: samples 10..17; B from 0: 100..107 and B from 4: 104..111, both without t = 5 (missing);
    # C has no numerics; A from 58 s: only 58 and 59 exist.
    expected = [13.5, np.mean([100, 101, 102, 103, 104, 106, 107]), np.mean([104, 106, 107, 108, 109, 110, 111]),
                np.nan, 58.5]
    np.testing.assert_allclose(values, expected)
    with pytest.raises(ValueError, match="'SpO2'"):
        window_numerics(ramp_numerics(), np.array(["A"]), np.array([0.0]), 8.0, "SpO2")


def test_join_numeric_adds_the_column_to_an_encoded_table():
    encoded = pd.DataFrame({"subject": ["A", "B"], "start": [0.0, 10.0], "latent_0": [0.1, 0.2]})
    joined = join_numeric(encoded, ramp_numerics(), 4.0, "HR")
    assert list(joined.columns) == ["subject", "start", "latent_0", "HR"]
    np.testing.assert_allclose(joined["HR"], [1.5, 111.5])


def test_read_bidmc_numerics(bidmc_dir):
    folder = bidmc_dir / "bidmc_csv"
    frame = read_bidmc_numerics(folder, ["01", "05"])
    assert list(frame.columns) == ["subject", "time", "HR", "PULSE", "RESP", "SpO2"]
    assert set(frame["subject"]) == {"01", "05"}
    first = frame[frame["subject"] == "01"]
    raw = pd.read_csv(folder / "bidmc_01_Numerics.csv")
    assert len(first) == len(raw)
    np.testing.assert_allclose(first["PULSE"], raw[" PULSE"])  # NaN where the monitor had no value
    assert first["PULSE"].isna().sum() > 0
    values = window_numerics(frame, np.array(["01", "05"]), np.array([0.0, 100.0]), 8.0, "HR")
    expected_01 = raw[" HR"][(raw["Time [s]"] >= 0) & (raw["Time [s]"] < 8)].mean()
    assert values[0] == pytest.approx(expected_01)
    assert np.isfinite(values[1])
    with pytest.raises(FileNotFoundError, match="'99'"):
        read_bidmc_numerics(folder, ["99"])


def test_read_numerics_names_a_missing_time_column(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("t, HR\n0, 60\n")
    with pytest.raises(ValueError, match=r"n.csv.*'Time \[s\]'.*\['t', 'HR'\]"):
        read_numerics(path, "01")


def test_probe_picks_its_penalty_by_subject_folds_and_recovers_a_linear_relation():
    rng = np.random.default_rng(0)
    weights = np.array([2.0, -1.0, 0.0, 0.5])
    features = rng.normal(size=(200, 4)) * [1, 3, 1, 0.1] + 5
    target = features @ weights + 7
    groups = np.repeat(["A", "B", "C", "D"], 50)
    probe = fit_probe(features, target, groups)
    assert probe[-1].alpha_ == ALPHAS.min(), "noise-free data wants the smallest penalty"
    np.testing.assert_allclose(probe.predict(features), target, atol=1e-2)


def test_compare_features_scores_informative_above_random_features():
    rng = np.random.default_rng(1)
    informative = rng.normal(size=(300, 8))
    target = informative @ rng.normal(size=8) + 0.1 * rng.normal(size=300)
    target[:5] = np.nan  # windows without a monitor value are dropped and counted
    noise = rng.normal(size=(300, 8))
    noise[7, 0] = np.nan  # a missing feature is imputed and counted
    groups = np.repeat(np.arange(10), 20)
    table = compare_features({"informative": informative[:200], "random": noise[:200]}, target[:200], groups,
                             {"informative": informative[200:], "random": noise[200:]}, target[200:])
    assert list(table.index) == ["informative", "random"]
    assert table.loc["informative", "r"] > 0.99 and abs(table.loc["random", "r"]) < 0.3
    assert table.loc["informative", "mae"] < 0.2 < table.loc["random", "mae"]
    assert table.loc["informative", "n_dropped"] == 5 and table.loc["informative", "n_train"] == 195
    assert table.loc["random", "n_imputed"] == 1 and table.loc["informative", "n_imputed"] == 0
    assert table.loc["random", "alpha"] > table.loc["informative", "alpha"], "noise wants a larger penalty"
    with pytest.raises(ValueError, match="'random'"):
        compare_features({"random": noise[:200]}, target[:200], groups, {}, target[200:])


def test_neurokit_rates_per_window_follow_the_beats():
    rate, seconds = 100.0, 8.0
    time = np.arange(int(rate * seconds)) / rate
    windows = []
    for bpm in (60.0, 90.0):
        beats = np.arange(0.3, seconds, 60.0 / bpm)
        ecg = sum(np.exp(-0.5 * ((time - b) / 0.012) ** 2) for b in beats) - 0.1 * np.sin(2 * np.pi * 0.3 * time)
        windows.append([ecg])
    windowset = zscored_windowset(np.array(windows), ["ECG"], rate)
    rates = window_rates(windowset, {"ECG": "ecg"})
    np.testing.assert_allclose(rates[:, 0], [60.0, 90.0], rtol=0.02)
    with pytest.raises(ValueError, match="no modality of kind"):
        window_rates(windowset, {"ECG": "eda"})


def test_compare_probes_on_equal_sizes(tmp_path):
    train, test = coupled_windows(48, 0), coupled_windows(24, 2, "T")
    torch.manual_seed(0)
    model = build_model(tiny_params(tmp_path).model, train.modalities, train.window_length)
    latents = [predict(model, windows)[1] for windows in (train, test)]
    # A numeric that follows each window's dominant frequency (its "heart rate").
    frequency = {s: 60 + 10 * i for i, s in enumerate(np.unique(np.concatenate([train.subjects, test.subjects])))}
    numerics = pd.DataFrame([{"subject": s, "time": t, "HR": frequency[s] + 0.01 * t}
                             for s in frequency for t in np.arange(0.0, 200.0)])
    table = compare_probes(*latents, train, test, numerics, "HR")
    assert list(table.index) == ["mimo-ae", "pca-16"]
    assert (table["n_features"] == 16).all() and (table["n_test"] == 24).all()
    assert np.isfinite(table["mae"]).all()


def test_evaluate_downstream_on_a_run(tmp_path):
    run = load_run(smoke_run(tmp_path))
    # A numeric per subject: S01..S04 at 60, 70, 80, 90 with a slow drift.
    numerics = pd.DataFrame([{"subject": f"S0{i}", "time": t, "HR": 50 + 10 * i + 0.05 * t}
                             for i in range(1, 5) for t in np.arange(0.0, 48.0)])
    kinds = {"ECG": "ecg", "PPG": "ppg", "RESP": "resp"}
    table = evaluate_downstream(run.model, run.split("train"), run.split("test"), numerics, "HR", kinds)
    assert list(table.index) == ["mimo-ae", "pca-16", "neurokit2 rates"]
    assert table.loc["neurokit2 rates", "n_features"] == 3
    assert (table["n_test"] == len(run.split("test"))).all()
    assert (table["n_train"] == len(run.split("train"))).all()


def test_cohort_numerics_for_synthetic_and_bidmc_params(tmp_path, bidmc_dir):
    from mimo_lib.config import load_params
    from mimo_lib.data.sources import load_recordings
    from mimo_lib.data.sources.numerics import cohort_numerics

    smoke = load_params("params/smoke.yaml", {"data.root": str(tmp_path / "cohort")})
    load_recordings(smoke)  # writes the cohort and its numerics
    numerics = cohort_numerics(smoke)
    assert sorted(numerics["subject"].unique()) == ["S01", "S02", "S03", "S04"]
    assert {"time", "HR", "RESP"} <= set(numerics.columns)

    bidmc = load_params("params/bidmc.yaml", {"data.root": str(bidmc_dir / "bidmc_csv"),
                                              "data.splits": {"train": ["01"], "test": ["02"]}})
    numerics = cohort_numerics(bidmc)
    assert sorted(numerics["subject"].unique()) == ["01", "02"]
    assert numerics["HR"].between(20, 250).mean() > 0.9

    neurokit = load_params("params/neurokit.yaml")
    assert cohort_numerics(neurokit) is None
