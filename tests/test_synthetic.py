"""The embedded synthetic cohort: deterministic, and its signals are coupled like physiology."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.signal import find_peaks

from mimo_lib.config import SyntheticConfig, load_params
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.sources.synthetic import simulate_subject, subject_ids, write_synthetic_cohort

CFG = SyntheticConfig(n_subjects=3, duration_s=60, sampling_rate=250, seed=7)


@pytest.fixture(scope="module")
def subjects():
    return [simulate_subject(CFG, i) for i in range(CFG.n_subjects)]


def r_peaks(ecg: np.ndarray, rate: float) -> np.ndarray:
    peaks, _ = find_peaks(ecg, height=0.5 * np.percentile(ecg, 99.5), distance=int(0.3 * rate))
    return peaks / rate


def test_same_seed_same_subject_other_seed_other_subject():
    a = simulate_subject(CFG, 1).frame
    pd.testing.assert_frame_equal(a, simulate_subject(CFG, 1).frame)
    other = simulate_subject(CFG.model_copy(update={"seed": 8}), 1).frame
    assert not np.allclose(a["ECG"], other["ECG"])
    assert not np.allclose(a["ECG"], simulate_subject(CFG, 2).frame["ECG"])


def test_columns_length_and_time(subjects):
    frame = subjects[0].frame
    assert list(frame.columns) == ["time", "ECG", "PPG", "RESP", "ABP"]
    assert len(frame) == 60 * 250
    np.testing.assert_allclose(np.diff(frame["time"]), 1 / 250)
    assert [s.subject for s in subjects] == ["S01", "S02", "S03"]


def test_subjects_differ_in_heart_and_respiratory_rate(subjects):
    heart = [60 / np.median(np.diff(r_peaks(s.frame["ECG"].to_numpy(), 250))) for s in subjects]
    assert np.ptp(heart) > 2
    for s, bpm in zip(subjects, heart):
        assert bpm == pytest.approx(s.physiology["heart_rate"], rel=0.05)
    assert 40 < min(heart) and max(heart) < 120


def test_ecg_r_peaks_are_where_the_beats_are(subjects):
    s = subjects[0]
    detected = r_peaks(s.frame["ECG"].to_numpy(), 250)
    assert len(detected) == len(s.r_peaks)
    np.testing.assert_allclose(detected, s.r_peaks, atol=0.01)


@pytest.mark.parametrize("column", ["PPG", "ABP"])
def test_pulse_lags_r_peak_by_positive_per_subject_delay(subjects, column):
    lags = []
    for s in subjects:
        rate = 250
        beats = r_peaks(s.frame["ECG"].to_numpy(), rate)
        pulse = s.frame[column].to_numpy()
        peaks, _ = find_peaks(pulse, distance=int(0.3 * rate), prominence=0.3 * np.ptp(pulse[: 10 * rate]))
        peaks = peaks / rate
        following = np.searchsorted(peaks, beats)
        ok = following < len(peaks)
        lag = peaks[following[ok]] - beats[ok]
        assert np.all(lag > 0.05) and np.all(lag < 0.6)
        assert np.std(lag) < 0.02  # one delay per subject, beat after beat
        lags.append(np.median(lag))
    assert np.ptp(lags) > 0.005  # the delay differs between subjects


def test_ppg_peak_follows_abp_peak(subjects):
    for s in subjects:
        assert s.physiology["ptt_ppg"] > s.physiology["ptt_abp"] > 0


def test_heart_rate_varies_with_respiration(subjects):
    """Respiratory sinus arrhythmia: RR intervals shorten while the lungs are full."""
    for s in subjects:
        beats = r_peaks(s.frame["ECG"].to_numpy(), 250)
        rr = np.diff(beats)
        breath = np.interp((beats[1:] + beats[:-1]) / 2, s.frame["time"], s.frame["RESP"])
        assert np.corrcoef(rr, breath)[0, 1] < -0.5


def test_respiration_modulates_pulse_amplitude(subjects):
    s = subjects[0]
    abp = s.frame["ABP"].to_numpy()
    peaks, _ = find_peaks(abp, distance=75, prominence=10)
    breath = s.frame["RESP"].to_numpy()[peaks]
    assert np.corrcoef(abp[peaks], breath)[0, 1] > 0.3


def test_cohort_written_as_csv_loads_through_the_csv_path(tmp_path):
    cfg = SyntheticConfig(n_subjects=2, duration_s=20, sampling_rate=250, seed=3)
    paths = write_synthetic_cohort(cfg, tmp_path / "cohort")
    assert [p.name for p in paths] == ["S01.csv", "S02.csv"]
    params = load_params(overrides={
        "data.root": str(tmp_path / "cohort"), "data.synthetic": cfg.model_dump(),
        "data.splits": {"train": ["S01"], "test": ["S02"]},
    })
    recordings = load_recordings(params)
    assert [r.subject for r in recordings] == ["S01", "S02"]
    expected = simulate_subject(cfg, 1).frame
    assert recordings[1].rates["ECG"] == pytest.approx(250.0, rel=1e-9)
    np.testing.assert_allclose(recordings[1].signals["PPG"], expected["PPG"], atol=1e-6)


def test_synthetic_source_writes_cohort_when_absent_and_rewrites_when_config_changes(tmp_path):
    root = tmp_path / "raw"
    overrides = {"data.root": str(root), "data.synthetic.n_subjects": 2, "data.synthetic.duration_s": 10,
                 "data.splits": {"train": ["S01", "S02"]}}
    first = load_recordings(load_params(overrides=overrides))
    assert sorted(p.name for p in root.glob("*.csv")) == ["S01.csv", "S02.csv"]
    assert len(first[0].signals["ECG"]) == 2500
    longer = load_recordings(load_params(overrides={**overrides, "data.synthetic.duration_s": 12}))
    assert len(longer[0].signals["ECG"]) == 3000


def test_subject_ids_are_zero_padded():
    assert subject_ids(SyntheticConfig(n_subjects=12))[-1] == "S12"
    assert subject_ids(SyntheticConfig(n_subjects=120))[0] == "S001"


def test_monitor_numerics_follow_the_ecg(subjects, tmp_path):
    """The 1 Hz heart rate written beside the cohort is the rate of the R-peaks found in the ECG itself."""
    from mimo_lib.data.sources.numerics import read_numerics_folder
    from mimo_lib.data.sources.synthetic import NUMERICS

    write_synthetic_cohort(CFG, tmp_path)
    numerics = read_numerics_folder(tmp_path / NUMERICS)
    assert sorted(numerics["subject"].unique()) == subject_ids(CFG)
    for subject in subjects:
        rows = numerics[numerics["subject"] == subject.subject]
        assert len(rows) == 60 and list(rows["time"]) == list(range(60))
        peaks = r_peaks(subject.frame["ECG"].to_numpy(), 250.0)
        beats_per_minute = 60 * (len(peaks) - 1) / (peaks[-1] - peaks[0])
        assert rows["HR"].mean() == pytest.approx(beats_per_minute, rel=0.03)
        assert rows["RESP"].iloc[0] == pytest.approx(subject.physiology["respiratory_rate"])
