"""Missing sensors on the synthetic cohort: rates from imputed signals, calibration on the first seconds, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import smoke_params

from mimo_lib.calibration.stretch import target_sample_kinds
from mimo_lib.cli import main
from mimo_lib.config import SyntheticConfig
from mimo_lib.data.prepare import prepare
from mimo_lib.data.sources.synthetic import simulate_subject
from mimo_lib.data.types import Recording
from mimo_lib.data.windowing import AT_MAX, AT_MIN, EXACT, UNUSABLE
from mimo_lib.evaluation.fidelity import DETECTORS, span_rates
from mimo_lib.imputation import after, window_correlations, with_originals
from mimo_lib.physiology import score_reconstructions
from mimo_lib.plots.imputation import plot_calibrated_imputation
from mimo_lib.run import load_run
from mimo_lib.training.adaptation import AdaptationConfig, censored_reference
from mimo_lib.training.trainer import train

MODALITIES = ["ECG", "PPG", "RESP", "ABP"]
RATE = 100.0
CALIBRATE = 32.0
FAST = AdaptationConfig(steps=60, learning_rate=3e-3)
# Unseen subjects of the generator, longer than the smoke cohort's: three 32 s spans.
COHORT = SyntheticConfig(n_subjects=8, duration_s=96, sampling_rate=RATE, seed=0)


@pytest.fixture(scope="module")
def imputer(tmp_path_factory):
    """A RESP imputer (RESP always masked at the input) trained on the smoke cohort."""
    folder = tmp_path_factory.mktemp("missing")
    params = smoke_params(folder, **{
        "data.root": str(folder / "cohort"), "training.epochs": 30, "training.learning_rate": 0.005,
        "preprocessing.stride_seconds": 1, "training.modality_dropout": {"RESP": 1.0}, "training.missing_weight": 1.0})
    return load_run(train(params, prepare(params, progress=False), progress=False).run_dir)


def recording(index: int, resp_delay_s: float = 0.0, resp_sign: float = 1.0, subject: str = "T") -> Recording:
    """Subject ``index`` of :data:`COHORT`, its respiration delayed by ``resp_delay_s`` and multiplied by ``resp_sign``."""
    frame = simulate_subject(COHORT, index).frame
    signals = {name: frame[name].to_numpy() for name in MODALITIES}
    delay = round(resp_delay_s * RATE)
    if delay:
        signals["RESP"] = np.concatenate([np.full(delay, signals["RESP"][0]), signals["RESP"][:-delay]])
    signals["RESP"] = resp_sign * signals["RESP"]
    return Recording(f"{subject}{index}", signals, dict.fromkeys(MODALITIES, RATE))


def correlation_after_stretch(run, imputed, source: Recording) -> float:
    """Mean r per window of imputed against real RESP, over the windows starting after the calibration stretch."""
    windows = run.windows(source)
    scored = window_correlations(with_originals(imputed, run.reconstruct(source, reconstructor=lambda w: w)),
                                 "RESP", {source.subject: windows.starts}, run.params.preprocessing.window_seconds,
                                 CALIBRATE)
    assert scored["n_scored"].iloc[0] >= 10
    return float(scored["value"].iloc[0])


def test_calibration_recovers_a_flipped_and_delayed_sensor_the_uncalibrated_model_cannot(imputer):
    usual, odd = recording(7), recording(7, resp_delay_s=0.8, resp_sign=-1.0)
    assert correlation_after_stretch(imputer, imputer.reconstruct(usual, missing=["RESP"]), usual) > 0.8
    uncalibrated = correlation_after_stretch(imputer, imputer.reconstruct(odd, missing=["RESP"]), odd)
    calibrated = correlation_after_stretch(
        imputer, imputer.reconstruct(odd, missing=["RESP"], calibrate_seconds=CALIBRATE, adaptation=FAST), odd)
    assert uncalibrated < 0.3 and calibrated > 0.75, (uncalibrated, calibrated)


def test_breathing_rates_of_imputed_respiration_match_the_generator(imputer):
    for index in (5, 6, 7):
        for sign in (1.0, -1.0):  # the sign of the recorded RESP plays no part: it is never seen
            (imputed,) = imputer.reconstruct(recording(index, resp_sign=sign), missing=["RESP"])
            resp = imputed.reconstruction[imputed.modalities.index("RESP")]
            rates = span_rates(DETECTORS["resp"](resp, imputed.rate), imputed.rate, imputed.length, 32.0)
            true = simulate_subject(COHORT, index).physiology["respiratory_rate"]
            assert np.isfinite(rates).sum() == 3 and np.abs(rates - true).max() < 1.5, (index, rates, true)


def test_the_calibration_stretch_is_never_scored_nor_looked_past(imputer):
    source = recording(6)
    (calibrated,) = imputer.reconstruct(source, missing=["RESP"], calibrate_seconds=CALIBRATE, adaptation=FAST)
    stretch = round(CALIBRATE * calibrated.rate)
    resp = calibrated.modalities.index("RESP")
    assert np.isnan(calibrated.reconstruction[resp, :stretch]).all()
    assert np.isfinite(calibrated.reconstruction[resp, stretch:]).mean() > 0.9
    assert np.isfinite(calibrated.reconstruction[[0, 1, 3], :stretch]).all(), "present sensors stay reconstructed"

    # The sensor lost after the stretch (NaN there) imputes exactly as if it had stayed on.
    lost = Recording(source.subject, dict(source.signals), dict(source.rates))
    lost.signals["RESP"] = source.signals["RESP"].copy()
    lost.signals["RESP"][round(CALIBRATE * RATE):] = np.nan
    (again,) = imputer.reconstruct(lost, missing=["RESP"], calibrate_seconds=CALIBRATE, adaptation=FAST)
    np.testing.assert_allclose(again.reconstruction, calibrated.reconstruction, atol=1e-5)

    # Whatever the real signal does inside the stretch changes no score of the imputation.
    full = imputer.reconstruct(source, reconstructor=lambda w: w)
    tampered = imputer.reconstruct(source, reconstructor=lambda w: w)
    tampered[0].original[resp, :stretch] = np.random.default_rng(0).normal(size=stretch)
    kinds = {"RESP": "resp"}
    tables = [score_reconstructions({"calibrated": after(with_originals([calibrated], recons), CALIBRATE, ["RESP"])},
                                    kinds) for recons in (full, tampered)]
    values = [table.loc[table["method"] == "calibrated", ["measure", "value", "n_scored"]] for table in tables]
    pd.testing.assert_frame_equal(values[0].reset_index(drop=True), values[1].reset_index(drop=True))
    assert values[0].set_index("measure").loc["breathing_rate_mae_32s", "n_scored"] == 2  # spans 32-64 s and 64-96 s
    uncalibrated = after(with_originals(imputer.reconstruct(source, missing=["RESP"]), full), CALIBRATE, ["RESP"])
    assert np.isnan(uncalibrated[0].reconstruction[resp, :stretch]).all()
    assert np.isnan(uncalibrated[0].original[resp, :stretch]).all()


def test_impute_with_calibration_returns_the_windows_of_the_recording(imputer):
    source = recording(5)
    windows = imputer.windows(source, ["RESP"])
    imputed = imputer.impute(source, ["RESP"], calibrate_seconds=CALIBRATE, adaptation=FAST)
    assert imputed.shape == windows.windows.shape
    later = windows.starts >= CALIBRATE
    real = imputer.windows(source).windows[later, 2]
    assert np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(real, imputed[later, 2])]) > 0.75


@pytest.mark.parametrize(("change", "seconds", "expected"), [
    ({}, 2.0, r"subject T5: a calibration stretch of 2 s is shorter than one 4 s window"),
    ({}, 200.0, r"subject T5: a calibration stretch of 200 s is longer than the recording \(96.0 s\)"),
    ({"RESP": None}, 32.0, r"subject T5: no RESP signal to calibrate on; the recording has \['ECG', 'PPG', 'ABP'\]"),
    ({"RESP": np.nan}, 32.0, r"subject T5: RESP is missing \(all NaN\) in the calibration stretch \[0, 32\) s"),
    ({"RESP": 0.5}, 32.0, r"subject T5: RESP is flat \(standard deviation 0\) in the calibration stretch"),
])
def test_an_unusable_calibration_stretch_names_the_subject_and_what_was_found(imputer, change, seconds, expected):
    source = recording(5)
    for name, value in change.items():
        if value is None:
            del source.signals[name]
        else:
            source.signals[name] = np.where(np.arange(len(source.signals[name])) < 40 * RATE, value,
                                            source.signals[name])
    with pytest.raises(ValueError, match=expected):
        imputer.impute(source, ["RESP"], calibrate_seconds=seconds)


def saturated(signal: np.ndarray, until_s: float, low: float, high: float) -> np.ndarray:
    """``signal`` held within the ``low`` and ``high`` quantiles of its first ``until_s`` seconds there (a sensor
    at the rails of its amplifier)."""
    stop = round(until_s * RATE)
    bounds = np.quantile(signal[:stop], [low, high])
    return np.concatenate([np.clip(signal[:stop], *bounds), signal[stop:]])


def test_a_clipped_target_calibrates_with_its_clipped_samples_taken_for_bounds(imputer):
    odd = recording(7, resp_delay_s=0.8, resp_sign=-1.0)
    odd.signals["RESP"] = saturated(odd.signals["RESP"], CALIBRATE + 1, 0.25, 0.75)  # half of the stretch clipped
    with pytest.warns(UserWarning, match=r"subject T7: RESP is clipped in (4\d|5\d)% and flat or absent in 0% of the "
                                         r"samples of the calibration stretch's kept windows \[0, 32\) s"):
        calibrated = imputer.reconstruct(odd, missing=["RESP"], calibrate_seconds=CALIBRATE, adaptation=FAST)
    assert correlation_after_stretch(imputer, calibrated, odd) > 0.75


def test_a_stretch_where_no_window_passes_quality_control_is_refused(imputer):
    source = recording(5)
    source.signals["PPG"] = saturated(source.signals["PPG"], 40, 0.4, 0.6)  # a present sensor saturated
    with pytest.raises(ValueError, match=r"subject T5: no 4 s window of the calibration stretch \[0, 32\) s passes "
                                         r"quality control \(dropped per reason: \{'clipped': \d+\}\)"):
        imputer.calibrated(source, ["RESP"], CALIBRATE)
    source.signals["PPG"] = saturated(recording(5).signals["PPG"], 12, 0.4, 0.6)  # for the first 12 s only
    with pytest.warns(UserWarning, match=r"subject T5: \d+ of \d+ windows of the calibration stretch \[0, 32\) s pass "
                                         r"quality control \(dropped per reason: \{'clipped': \d+\}\)"):
        imputer.calibrated(source, ["RESP"], CALIBRATE)
    source = recording(5)
    stretch = np.arange(round(CALIBRATE * RATE))
    source.signals["RESP"][stretch] = np.where(stretch % 400 < 200, 0.2, 0.3)  # nothing but the rails
    with pytest.raises(ValueError, match=r"subject T5: RESP is clipped, flat or absent throughout the kept windows of the "
                                         r"calibration stretch \[0, 32\) s: nothing to calibrate on"):
        imputer.calibrated(source, ["RESP"], CALIBRATE)
    with pytest.raises(TypeError, match="calibration needs whole recordings"):
        imputer.impute(imputer.windows(source), ["RESP"], calibrate_seconds=CALIBRATE)


def test_cli_impute_calibrates_and_refuses_a_stretch_past_the_end(imputer, tmp_path, capsys):
    folder = tmp_path / "recordings"
    folder.mkdir()
    source = recording(5)
    frame = pd.DataFrame({"time": np.arange(len(source.signals["ECG"])) / RATE, **source.signals})
    frame.loc[frame["time"] >= 40, "RESP"] = np.nan  # the sensor came off after 40 s
    frame.to_csv(folder / "T5.csv", index=False)
    out = tmp_path / "imputed.npz"
    main(["impute", "--run", str(imputer.run_dir), "--missing", "RESP", "--input", str(folder),
          "--calibrate", "32", "--out", str(out)])
    assert "calibrated on the first 32 s of each recording" in capsys.readouterr().out
    with np.load(out) as result:
        assert result["windows"].shape == result["observed"].shape and float(result["calibrate_seconds"]) == 32
        assert np.isfinite(result["windows"]).all()
    with pytest.raises(SystemExit):
        main(["impute", "--run", str(imputer.run_dir), "--missing", "RESP", "--input", str(folder),
              "--calibrate", "600", "--out", str(out)])
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "subject T5" in error and "600 s is longer than the recording" in error
    with pytest.raises(SystemExit):
        main(["impute", "--run", str(imputer.run_dir), "--missing", "RESP", "--split", "test",
              "--calibrate", "32", "--out", str(out)])
    assert "--calibrate needs --input" in capsys.readouterr().err


def test_figure_of_real_uncalibrated_and_calibrated_respiration(imputer):
    source = recording(7, resp_sign=-1.0)
    full = imputer.reconstruct(source, reconstructor=lambda w: w)
    imputations = {
        "uncalibrated": with_originals(imputer.reconstruct(source, missing=["RESP"]), full)[0],
        "calibrated": with_originals(imputer.reconstruct(source, missing=["RESP"], calibrate_seconds=CALIBRATE,
                                                         adaptation=FAST), full)[0],
    }
    figure = plot_calibrated_imputation(imputations, "RESP", CALIBRATE)
    signals, rates = figure.axes
    assert [line.get_label() for line in signals.get_lines()] == ["real RESP", "uncalibrated", "calibrated"]
    assert signals.get_lines()[0].get_xdata()[0] == pytest.approx(CALIBRATE)
    labels = [line.get_label() for line in rates.get_lines()]
    assert labels == ["real RESP", "uncalibrated", "calibrated"]  # no annotations beside synthetic recordings
    calibrated_rates = rates.get_lines()[2].get_ydata()
    assert np.isnan(calibrated_rates[0]) and np.isfinite(calibrated_rates[1:]).all()


def test_clipped_flat_and_missing_target_samples_are_told_apart_at_the_run_rate():
    rate, native = 10.0, 100.0
    t = np.arange(round(20 * native)) / native
    resp = np.clip(np.sin(2 * np.pi * 0.25 * t), -0.8, 0.9)
    resp[round(8 * native) : round(11 * native)] = 0.1  # the belt off for 3 s: flat, off the rails
    resp[round(15 * native) : round(17 * native)] = np.nan  # and lost for 2 s
    stretch = Recording("S", {"RESP": resp}, {"RESP": native})
    (kinds,) = target_sample_kinds(stretch, ["RESP"], rate, round(20 * rate), max_gap_seconds=1.0, flat_std=1e-6,
                                   flat_seconds=2.0, margin_seconds=0.5)
    times = np.arange(len(kinds)) / rate
    assert set(kinds[(times >= 7.5) & (times < 11.5)]) == {UNUSABLE}
    assert set(kinds[(times >= 14.5) & (times < 17.5)]) == {UNUSABLE}
    assert set(kinds[(times > 0.85) & (times < 1.15)]) == {AT_MAX} and set(kinds[(times > 2.65) & (times < 3.35)]) == {AT_MIN}
    assert set(kinds[(times > 0.2) & (times < 0.5)]) == {EXACT}
    assert (kinds == EXACT).mean() > 0.3


def test_a_censored_reference_adds_error_only_on_the_wrong_side_of_a_bound():
    target = torch.zeros(1, 1, 4)
    output = torch.tensor([[[1.0, -1.0, 1.0, -1.0]]])
    kinds = torch.tensor([[[AT_MAX, AT_MAX, AT_MIN, UNUSABLE]]], dtype=torch.int8)
    reference = censored_reference(target, output, kinds)
    assert reference.tolist() == [[[1.0, 0.0, 0.0, -1.0]]]  # above a top rail and a lost sample: no error
