"""Physiological fidelity scoring on synthetic signals with known beats, pulses and breaths (and on BIDMC)."""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from mimo_lib.data import beats
from mimo_lib.data.annotations import read_bidmc_breaths
from mimo_lib.data.beats import detect_breaths, detect_pulse_peaks, detect_r_peaks, pulse_arrival_times
from mimo_lib.evaluation.fidelity import (
    dominant_rates,
    match_events,
    pat_error,
    pulse_upstrokes,
    rate_error,
    score_recording,
    span_rates,
    summarize_scores,
)

RATE = 125.0
SECONDS = 128
N = int(SECONDS * RATE)
PAT_S = 0.3
KINDS = {"ecg": "ecg", "ppg": "ppg", "resp": "resp"}


def bumps(times: np.ndarray, width_s: float, amplitude: float = 1.0) -> np.ndarray:
    """Gaussian bumps of ``width_s`` standard deviation centred on sample indices ``times``."""
    t = np.arange(N)[:, None]
    return amplitude * np.exp(-0.5 * ((t - times[None]) / (width_s * RATE)) ** 2).sum(axis=1)


def r_peak_times(rng: np.random.Generator) -> np.ndarray:
    """R-peak samples: RR 0.8 s modulated by ±0.06 s at 0.1 Hz, 10 ms jitter (about 75 bpm)."""
    times = [0.5]
    while times[-1] < SECONDS - 1.5:
        times.append(times[-1] + 0.8 + 0.06 * np.sin(2 * np.pi * 0.1 * times[-1]) + rng.normal(0, 0.01))
    return np.rint(np.array(times) * RATE).astype(np.int64)


def ecg_signal(r_peaks: np.ndarray) -> np.ndarray:
    """Narrow QRS spikes at ``r_peaks`` with a small Q dip and a broad T wave."""
    return bumps(r_peaks, 0.012) - bumps(r_peaks - int(0.03 * RATE), 0.01, 0.15) + bumps(r_peaks + int(0.25 * RATE), 0.05, 0.25)


def ppg_signal(pulse_peaks: np.ndarray) -> np.ndarray:
    """Pulses peaking at ``pulse_peaks``: fast rise (80 ms), slow decay (200 ms)."""
    offset = (np.arange(N)[:, None] - pulse_peaks[None]) / RATE
    width = np.where(offset < 0, 0.08, 0.2)
    return np.exp(-0.5 * (offset / width) ** 2).sum(axis=1)


def resp_signal() -> tuple[np.ndarray, np.ndarray]:
    """Cosine breathing at 12 breaths/min for 64 s, then 18; and the samples of its peaks (ends of inspiration)."""
    frequency = np.where(np.arange(N) / RATE < 64, 0.2, 0.3)
    cycles = np.cumsum(frequency) / RATE
    peaks = np.flatnonzero(np.diff(np.floor(cycles)) > 0) + 1
    return np.cos(2 * np.pi * cycles), peaks


@pytest.fixture(scope="module")
def truth() -> dict:
    rng = np.random.default_rng(0)
    r_peaks = r_peak_times(rng)
    pulse_peaks = r_peaks + int(PAT_S * RATE)
    resp, breaths = resp_signal()
    signals = {
        "ecg": ecg_signal(r_peaks) + rng.normal(0, 0.02, N),
        "ppg": ppg_signal(pulse_peaks) + rng.normal(0, 0.01, N),
        "resp": resp + rng.normal(0, 0.02, N),
    }
    return {"signals": signals, "r_peaks": r_peaks, "pulse_peaks": pulse_peaks, "breaths": breaths}


def value(table: pd.DataFrame, modality: str, measure: str) -> float:
    row = table[(table.modality == modality) & (table.measure == measure)]
    assert len(row) == 1, f"expected one row for {modality} {measure}, got {len(row)}"
    return float(row.value.iloc[0])


def counts(table: pd.DataFrame, modality: str, measure: str) -> tuple[int, int]:
    row = table[(table.modality == modality) & (table.measure == measure)].iloc[0]
    return int(row.n_scored), int(row.n_not_scored)


# --- detectors recover the generator's events --------------------------------------


def test_detectors_recover_the_known_event_times(truth):
    signals = truth["signals"]
    r_match = match_events(truth["r_peaks"], detect_r_peaks(signals["ecg"], RATE), 0.05, RATE)
    pulse_match = match_events(truth["pulse_peaks"], detect_pulse_peaks(signals["ppg"], RATE), 0.1, RATE)
    breath_match = match_events(truth["breaths"], detect_breaths(signals["resp"], RATE), 1.0, RATE)
    assert r_match.f1 == 1.0 and r_match.median_abs_error_ms <= 8.0
    assert pulse_match.f1 == 1.0 and pulse_match.median_abs_error_ms <= 40.0
    assert breath_match.f1 >= 0.95 and breath_match.median_abs_error_ms <= 100.0


def test_rates_and_pulse_arrival_time_match_the_generator(truth):
    signals = truth["signals"]
    r_peaks = detect_r_peaks(signals["ecg"], RATE)
    heart = span_rates(r_peaks, RATE, N, 8.0)
    np.testing.assert_allclose(heart, span_rates(truth["r_peaks"], RATE, N, 8.0), atol=0.5)
    assert 65 < np.nanmean(heart) < 85
    np.testing.assert_allclose(span_rates(detect_breaths(signals["resp"], RATE), RATE, N, 32.0), [12, 12, 18, 18], atol=0.2)
    delays = pulse_arrival_times(r_peaks, detect_pulse_peaks(signals["ppg"], RATE), RATE)
    assert np.isfinite(delays).mean() > 0.95
    assert np.nanmedian(delays) == pytest.approx(PAT_S, abs=0.04)


# --- scoring a recording -----------------------------------------------------------


def test_original_against_itself_is_perfect_and_against_annotations_gives_the_floor(truth):
    signals = truth["signals"]
    table = score_recording(signals, signals, RATE, KINDS, breaths=truth["breaths"])
    assert list(table.columns) == ["modality", "measure", "reference", "unit", "value", "n_scored", "n_not_scored"]
    for measure in ("r_peak_sensitivity_50ms", "r_peak_ppv_50ms", "r_peak_f1_50ms"):
        assert value(table, "ecg", measure) == 1.0
    assert value(table, "ecg", "r_peak_median_abs_timing_error") == 0.0
    assert value(table, "ecg", "heart_rate_mae_8s") == 0.0 and value(table, "ecg", "heart_rate_mae_32s") == 0.0
    assert counts(table, "ecg", "heart_rate_mae_8s") == (16, 0)
    assert value(table, "ppg", "pulse_peak_f1_100ms") == 1.0 and value(table, "ppg", "pulse_rate_mae_8s") == 0.0
    assert value(table, "ecg->ppg", "pat_mae") == 0.0
    # RESP is scored against the annotations: the detector's own error, small but real.
    assert table.loc[table.modality == "resp", "reference"].eq("annotations").all()
    assert value(table, "resp", "breathing_rate_mae_32s") < 0.2
    assert value(table, "resp", "breath_f1_1000ms") >= 0.95


def test_without_annotations_breaths_are_scored_against_the_original(truth):
    signals = truth["signals"]
    table = score_recording(signals, signals, RATE, {"resp": "resp"})
    assert table.reference.eq("original").all()
    assert value(table, "resp", "breathing_rate_mae_32s") == 0.0 and value(table, "resp", "breath_f1_1000ms") == 1.0


def test_noisy_reconstruction_scores_worse(truth):
    signals = truth["signals"]
    rng = np.random.default_rng(1)
    noisy = {name: signal + rng.normal(0, 0.6, N) for name, signal in signals.items()}
    clean = score_recording(signals, signals, RATE, KINDS)
    degraded = score_recording(signals, noisy, RATE, KINDS)
    assert value(degraded, "ecg", "r_peak_f1_50ms") < 0.95
    assert value(degraded, "ppg", "pulse_peak_f1_100ms") < value(clean, "ppg", "pulse_peak_f1_100ms")
    assert value(degraded, "ecg", "heart_rate_mae_8s") > 1.0


def test_r_peaks_late_by_80_ms_fail_the_50_ms_tolerance_but_keep_the_heart_rate(truth):
    signals = truth["signals"]
    late = dict(signals, ecg=np.roll(signals["ecg"], int(0.08 * RATE)))
    table = score_recording(signals, late, RATE, {"ecg": "ecg"})
    assert value(table, "ecg", "r_peak_f1_50ms") == 0.0
    assert counts(table, "ecg", "r_peak_median_abs_timing_error") == (0, len(truth["r_peaks"]))
    assert np.isnan(value(table, "ecg", "r_peak_median_abs_timing_error"))
    assert value(table, "ecg", "heart_rate_mae_8s") < 0.5


def test_pat_error_measures_a_shift_of_the_r_peaks(truth):
    signals = truth["signals"]
    shift = int(0.032 * RATE)  # 4 samples: inside the 50 ms R-peak tolerance
    table = score_recording(signals, dict(signals, ecg=np.roll(signals["ecg"], shift)), RATE, KINDS)
    assert value(table, "ecg->ppg", "pat_mae") == pytest.approx(shift / RATE * 1000, abs=2.0)
    assert counts(table, "ecg->ppg", "pat_mae")[0] > 0.9 * len(truth["r_peaks"])


def test_pat_to_the_upstroke_follows_a_delayed_pulse_and_ignores_a_moved_peak(truth):
    signals = truth["signals"]
    delay = 3  # samples
    table = score_recording(signals, dict(signals, ppg=np.roll(signals["ppg"], delay)), RATE, KINDS)
    assert value(table, "ecg->ppg", "pat_upstroke_mae") == pytest.approx(delay / RATE * 1000, abs=1.0)
    assert counts(table, "ecg->ppg", "pat_upstroke_mae")[0] > 0.9 * len(truth["r_peaks"])
    perfect = score_recording(signals, signals, RATE, KINDS)
    assert value(perfect, "ecg->ppg", "pat_upstroke_mae") == 0.0


def test_upstroke_lies_between_samples_where_the_rise_is_steepest():
    time = np.arange(200) / 100.0
    pulse = 1 / (1 + np.exp(-(time - 1.003) / 0.02))  # steepest at 1.003 s, peak (plateau end) after it
    pulse[130:] = pulse[129] - 0.01 * np.arange(70)  # fall after a peak at sample 129
    (upstroke,) = pulse_upstrokes(pulse, np.array([129]), 100.0)
    assert upstroke / 100.0 == pytest.approx(1.003, abs=0.002)
    with_gap = pulse.copy()
    with_gap[110] = np.nan
    assert len(pulse_upstrokes(with_gap, np.array([129]), 100.0)) == 0


def test_flat_and_all_nan_reconstructions_are_counted_not_scored(truth):
    signals = truth["signals"]
    n_spans_8s, n_spans_32s = N // int(8 * RATE), N // int(32 * RATE)
    missing = score_recording(signals, {name: np.full(N, np.nan) for name in signals}, RATE, KINDS)
    assert missing.value.isna().all()
    assert (missing.n_scored == 0).all()
    assert counts(missing, "ecg", "heart_rate_mae_8s") == (0, n_spans_8s)
    assert counts(missing, "resp", "breathing_rate_mae_32s") == (0, n_spans_32s)
    assert counts(missing, "ecg", "r_peak_f1_50ms") == (0, len(truth["r_peaks"]))

    flat = score_recording(signals, {name: np.zeros(N) for name in signals}, RATE, KINDS)
    # Every beat lost is a real score of 0; rates have no events to compare and are not scored.
    assert value(flat, "ecg", "r_peak_f1_50ms") == 0.0 and value(flat, "ecg", "r_peak_sensitivity_50ms") == 0.0
    assert np.isnan(value(flat, "ecg", "r_peak_ppv_50ms"))
    assert counts(flat, "ppg", "pulse_rate_mae_8s") == (0, n_spans_8s)
    assert np.isnan(value(flat, "ecg->ppg", "pat_mae"))

    flat_original = score_recording({name: np.zeros(N) for name in signals}, signals, RATE, KINDS)
    assert flat_original.value.isna().all()


def test_nan_gaps_are_left_out_of_scoring(truth):
    signals = truth["signals"]
    gap = slice(int(40 * RATE), int(60 * RATE))
    gapped = {}
    for name, signal in signals.items():
        gapped[name] = signal.copy()
        gapped[name][gap] = np.nan
    table = score_recording(signals, gapped, RATE, KINDS)
    in_gap = ((truth["r_peaks"] >= gap.start) & (truth["r_peaks"] < gap.stop)).sum()
    assert counts(table, "ecg", "r_peak_f1_50ms") == (len(truth["r_peaks"]) - in_gap, in_gap)
    assert value(table, "ecg", "r_peak_f1_50ms") > 0.97
    assert counts(table, "ecg", "heart_rate_mae_8s") == (13, 3)  # spans 5, 6 and 7 touch 40-60 s
    assert value(table, "ecg", "heart_rate_mae_8s") < 0.5
    assert counts(table, "resp", "breathing_rate_mae_32s") == (3, 1)  # span 1 (32-64 s) holds the gap


# --- detection edge cases -------------------------------------------------------------


def test_detectors_give_no_events_for_flat_nan_or_too_short_stretches(truth):
    ecg = truth["signals"]["ecg"]
    for detect in (detect_r_peaks, detect_pulse_peaks, detect_breaths):
        assert len(detect(np.zeros(N), RATE)) == 0
        assert len(detect(np.full(N, np.nan), RATE)) == 0
    chopped = ecg.copy()
    chopped[int(2 * RATE) :: int(3 * RATE)] = np.nan  # finite stretches under 3 s, shorter than the 4 s minimum
    assert len(detect_r_peaks(chopped, RATE)) == 0


def test_detection_runs_per_finite_stretch_and_offsets_indices(truth):
    ecg = truth["signals"]["ecg"].copy()
    ecg[int(30 * RATE) : int(31 * RATE)] = np.nan
    peaks = detect_r_peaks(ecg, RATE)
    assert match_events(truth["r_peaks"], peaks, 0.05, RATE).sensitivity > 0.97
    assert not np.isnan(ecg[peaks]).any()


def test_a_failing_detector_warns_and_gives_no_events(truth, monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("boom")

    monkeypatch.setattr(beats.nk, "ecg_peaks", broken)
    with pytest.warns(RuntimeWarning, match=r"R-peak detection failed on samples \[0, 16000\) \(IndexError: boom\)"):
        assert len(detect_r_peaks(truth["signals"]["ecg"], RATE)) == 0


# --- building blocks -----------------------------------------------------------------


def test_match_events_is_one_to_one_and_respects_the_tolerance():
    match = match_events(np.array([100, 200, 300]), np.array([101, 103, 206, 500]), 0.05, 125.0)  # 6.25 samples
    assert match.n_matched == 2  # 101 -> 100 (103 left over), 206 -> 200 (6 samples, inside)
    np.testing.assert_array_equal(match.pairs, [[0, 0], [1, 2]])
    assert match.sensitivity == pytest.approx(2 / 3) and match.ppv == pytest.approx(2 / 4)
    assert match.f1 == pytest.approx(4 / 7)
    assert match.median_abs_error_ms == pytest.approx(3.5 / 125 * 1000)
    empty = match_events(np.array([], dtype=int), np.array([], dtype=int), 0.05, 125.0)
    assert np.isnan(empty.sensitivity) and np.isnan(empty.ppv) and np.isnan(empty.f1)


def test_span_rates_need_three_events_and_full_coverage():
    events = np.array([0, 60, 120, 180, 240, 500, 600])  # 0.5 s apart in span 0 (120 /min), two in span 1
    np.testing.assert_allclose(span_rates(events, 120.0, 960, 4.0), [120.0, np.nan])
    valid = np.ones(960, dtype=bool)
    valid[10] = False
    assert np.isnan(span_rates(events, 120.0, 960, 4.0, valid)).all()
    error = rate_error(np.array([60.0, 70.0, np.nan]), np.array([62.0, np.nan, 50.0]))
    assert (error.mae, error.n_scored, error.n_not_scored) == (2.0, 1, 2)


def test_dominant_rates_find_the_breathing_frequency_of_each_span_whatever_the_sign():
    rate = 25.0
    time = np.arange(round(96 * rate)) / rate  # three 32 s spans: 12, then 18, then 12 breaths/min
    frequency = np.where(time < 32, 0.2, np.where(time < 64, 0.3, 0.2))
    breathing = np.sin(2 * np.pi * np.cumsum(frequency) / rate) + 0.3 * np.random.default_rng(0).normal(size=time.size)
    np.testing.assert_allclose(dominant_rates(breathing, rate, 32.0, (0.08, 0.7)), [12.0, 18.0, 12.0], atol=0.3)
    np.testing.assert_allclose(dominant_rates(-breathing, rate, 32.0, (0.08, 0.7)),
                               dominant_rates(breathing, rate, 32.0, (0.08, 0.7)))
    breathing[900] = np.nan  # inside the second span
    assert np.isnan(dominant_rates(breathing, rate, 32.0, (0.08, 0.7))).tolist() == [False, True, False]


def test_pulse_arrival_times_take_the_first_pulse_in_range():
    r_peaks = np.array([100, 200, 300])
    pulses = np.array([105, 140, 250, 390])  # 105 is sooner than 0.15 s; 300 -> 390 is 0.9 s, too late
    np.testing.assert_allclose(pulse_arrival_times(r_peaks, pulses, 100.0), [0.4, 0.5, np.nan])
    error = pat_error(r_peaks, pulses, r_peaks + 2, pulses, 100.0)
    assert (error.mae, error.n_scored, error.n_not_scored) == (pytest.approx(20.0), 2, 1)


def test_a_missed_pulse_is_counted_not_paired_with_the_next_beat():
    r_peaks = np.array([100, 140, 180, 220])  # 100 Hz: a beat every 0.4 s, its pulse 0.3 s later
    pulses = r_peaks + 30
    late_and_one_missed = np.array([131, 211, 251])  # 1 sample late; the pulse at 170 is gone
    error = pat_error(r_peaks, pulses, r_peaks, late_and_one_missed, 100.0)
    # the second beat's pulse would otherwise be the next beat's (0.71 s instead of 0.3 s)
    assert (error.mae, error.n_scored, error.n_not_scored) == (pytest.approx(10.0), 3, 1)


def test_summary_averages_recordings_and_totals_counts(truth):
    signals = truth["signals"]
    perfect = score_recording(signals, signals, RATE, {"ecg": "ecg"})
    missing = score_recording(signals, {"ecg": np.full(N, np.nan)}, RATE, {"ecg": "ecg"})
    summary = summarize_scores({"a": perfect, "b": perfect, "c": missing}).set_index("measure")
    f1 = summary.loc["r_peak_f1_50ms"]
    assert f1["mean"] == 1.0 and f1.n_recordings == 2 and f1.n_recordings_not_scored == 1
    assert f1.n_scored == 2 * len(truth["r_peaks"]) and f1.n_not_scored == len(truth["r_peaks"])


def test_score_recording_rejects_bad_inputs(truth):
    signals = truth["signals"]
    with pytest.raises(ValueError, match="unknown modality kinds"):
        score_recording(signals, signals, RATE, {"ecg": "eeg"})
    with pytest.raises(KeyError, match="reconstructed has no signal for modalities \\['ppg'\\]"):
        score_recording(signals, {"ecg": signals["ecg"]}, RATE, {"ecg": "ecg", "ppg": "ppg"})
    with pytest.raises(ValueError, match="same number of samples"):
        score_recording(signals, dict(signals, ecg=signals["ecg"][:-5]), RATE, {"ecg": "ecg"})
    with pytest.raises(ValueError, match="1-D"):
        score_recording(signals, dict(signals, ecg=signals["ecg"][None]), RATE, {"ecg": "ecg"})
    with pytest.raises(ValueError, match="annotations must be sample indices"):
        score_recording(signals, signals, RATE, {"resp": "resp"}, breaths=np.array([10, N + 5]))


# --- real recordings -------------------------------------------------------------------


def test_bidmc_floor_breathing_rate_against_annotator_1_and_r_peaks_against_themselves(bidmc_dir):
    subject = bidmc_dir / "bidmc_csv" / "bidmc_36"
    table = pd.read_csv(f"{subject}_Signals.csv", skipinitialspace=True)
    breaths = read_bidmc_breaths(f"{subject}_Breaths.csv")["ann1"]
    signals = {"II": table["II"].to_numpy(), "RESP": table["RESP"].to_numpy()}
    scores = score_recording(signals, signals, 125.0, {"II": "ecg", "RESP": "resp"}, breaths=breaths)
    mae = value(scores, "RESP", "breathing_rate_mae_32s")
    assert np.isfinite(mae) and mae < 5.0
    assert counts(scores, "RESP", "breathing_rate_mae_32s")[0] >= 12
    assert value(scores, "II", "r_peak_f1_50ms") == 1.0



@pytest.mark.parametrize("heart_rate", [60, 120])
def test_every_beat_of_an_ecg_at_30_hz_is_found(heart_rate):
    """NeuroKit2's detector misses beats of a realistic ECG at 30 Hz unless the signal is upsampled first."""
    ecg = nk.ecg_simulate(duration=60, sampling_rate=300, heart_rate=heart_rate, method="ecgsyn", random_state=0)
    peaks = detect_r_peaks(resample_poly(ecg, 1, 10), 30.0)
    assert len(peaks) == heart_rate - 1
    assert np.abs(np.diff(peaks) - 30 * 60 / heart_rate).max() <= 2  # no beat skipped or doubled
