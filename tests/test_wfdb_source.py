"""WFDB records: named signals at their own rates, physical units, NaN kept; folders of records."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb
from helpers import SEGMENT_RATE, Segment, sine, write_multi_segment

from mimo_lib.config import DataConfig, load_params
from mimo_lib.data.prepare import prepare
from mimo_lib.data.sources import SourceError
from mimo_lib.data.sources.wfdb_source import load_wfdb_folder, read_wfdb_record

RECORDS = ["03700181", "a103l", "mixedsignals"]


@pytest.mark.parametrize("name", RECORDS)
def test_reads_every_signal_at_its_own_rate(wfdb_dir: Path, name: str) -> None:
    header = wfdb.rdheader(str(wfdb_dir / name))
    recording = read_wfdb_record(wfdb_dir / name, list(header.sig_name))
    assert recording.modalities == header.sig_name
    assert recording.subject == name
    assert recording.origin == str(wfdb_dir / name)
    for signal, per_frame, unit in zip(header.sig_name, header.samps_per_frame, header.units, strict=True):
        assert recording.rates[signal] == pytest.approx(header.fs * per_frame)
        assert recording.signals[signal].shape == (header.sig_len * per_frame,)
        assert recording.units[signal] == unit
        assert recording.duration(signal) == pytest.approx(header.sig_len / header.fs)


def test_multi_rate_record_keeps_ecg_at_four_times_the_frame_rate(wfdb_dir: Path) -> None:
    recording = read_wfdb_record(wfdb_dir / "03700181", ["RESP", "MCL1"], subject="S1")
    assert recording.modalities == ["RESP", "MCL1"]
    assert recording.subject == "S1"
    assert recording.rates == {"RESP": 125.0, "MCL1": 500.0}
    assert recording.units == {"RESP": "mV", "MCL1": "mV"}
    ecg = recording.signals["MCL1"]
    assert np.isfinite(ecg).all() and 0 < np.std(ecg) < 10  # physical mV, not raw ADC counts


def test_invalid_samples_stay_nan(wfdb_dir: Path) -> None:
    recording = read_wfdb_record(wfdb_dir / "mixedsignals", ["II", "Resp"])
    ii = recording.signals["II"]
    assert np.isnan(ii).any() and np.isfinite(ii).mean() > 0.9
    assert np.isfinite(recording.signals["Resp"]).all()


def test_missing_signal_names_record_and_available_signals(wfdb_dir: Path) -> None:
    with pytest.raises(SourceError, match=r"a103l.*\['ECG'\].*\['II', 'V', 'PLETH'\]"):
        read_wfdb_record(wfdb_dir / "a103l", ["II", "ECG"])


def _write_records(folder: Path, names: list[str], fs: float = 100.0) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        signal = rng.normal(size=(300, 2)) * [1.0, 20.0] + [0.0, 90.0]
        wfdb.wrsamp(name, fs=fs, units=["mV", "mmHg"], sig_name=["ECG", "ABP"], p_signal=signal,
                    fmt=["16", "16"], write_dir=str(folder))


def test_folder_maps_record_names_to_subjects(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01", "rec_02", "rec_03", "other"])
    data = DataConfig(source="wfdb", root=str(tmp_path), file_glob="*.hea",
                      subject_pattern=r"rec_(?P<subject>\d+)", modalities=["ABP", "ECG"])
    everything = load_wfdb_folder(data, tmp_path, None)
    assert [r.subject for r in everything] == ["01", "02", "03"]
    chosen = load_wfdb_folder(data, tmp_path, ["03", "01"])
    assert [r.subject for r in chosen] == ["03", "01"]
    assert chosen[0].origin == str(tmp_path / "rec_03")
    assert chosen[0].modalities == ["ABP", "ECG"]
    assert chosen[0].rates == {"ABP": 100.0, "ECG": 100.0}
    assert chosen[0].units == {"ABP": "mmHg", "ECG": "mV"}
    assert np.nanmean(chosen[0].signals["ABP"]) == pytest.approx(90, abs=5)


def test_folder_defaults_to_the_subjects_in_splits(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01", "rec_02", "rec_03"])
    data = DataConfig(source="wfdb", file_glob="*.hea", subject_pattern=r"rec_(?P<subject>\d+)",
                      modalities=["ECG"], splits={"train": ["02"], "test": ["03"]})
    assert [r.subject for r in load_wfdb_folder(data, tmp_path, None)] == ["02", "03"]


def test_folder_missing_subject_names_subject_and_folder(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01"])
    data = DataConfig(source="wfdb", file_glob="*.hea", subject_pattern=r"rec_(?P<subject>\d+)", modalities=["ECG"])
    with pytest.raises(SourceError, match=rf"\['07'\].*{tmp_path}"):
        load_wfdb_folder(data, tmp_path, ["07"])


def test_folder_glob_must_select_headers(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01"])
    data = DataConfig(source="wfdb", file_glob="*.dat", modalities=["ECG"])
    with pytest.raises(SourceError, match=r"rec_01\.dat.*not a WFDB header"):
        load_wfdb_folder(data, tmp_path, None)


def test_folder_of_shared_records_with_a_common_signal(wfdb_dir: Path) -> None:
    data = DataConfig(source="wfdb", file_glob="*.hea", subject_pattern=r"(?P<subject>a103l|mixedsignals)",
                      modalities=["II", "V"])
    recordings = load_wfdb_folder(data, wfdb_dir, None)
    assert {r.subject: r.rates["II"] for r in recordings} == {
        "a103l": 250.0, "mixedsignals": pytest.approx(62.4725 * 4),
    }


def test_missing_header_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nothing\.hea not found"):
        read_wfdb_record(tmp_path / "nothing", ["ECG"])


def _wfdb_params(wfdb_dir: Path, record: str, modalities: list[str], processed: Path):
    return load_params(None, {
        "data.source": "wfdb", "data.root": str(wfdb_dir), "data.file_glob": "*.hea",
        "data.subject_pattern": f"(?P<subject>{record})", "data.modalities": modalities,
        "data.splits": {"train": [record]}, "paths.processed": str(processed),
        "preprocessing.target_rate": 50, "preprocessing.window_seconds": 8, "preprocessing.stride_seconds": 4,
    })


@pytest.mark.parametrize(("record", "modalities"), [
    ("03700181", ["MCL1", "ABP", "RESP"]),
    ("mixedsignals", ["II", "ABP", "Resp"]),
])
def test_multi_rate_records_come_out_aligned_at_the_target_rate(
    wfdb_dir: Path, tmp_path: Path, record: str, modalities: list[str]
) -> None:
    params = _wfdb_params(wfdb_dir, record, modalities, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # modalities of unequal length would warn
        train = prepare(params, progress=False)["train"]
    assert train.windows.shape[1:] == (3, 400)
    assert train.rate == 50
    header = wfdb.rdheader(str(wfdb_dir / record))
    expected = int((header.sig_len / header.fs * 50 - 400) // 200) + 1
    dropped = train.dropped[record]
    assert dropped["unequal_length"] == 0
    assert len(train) + sum(dropped.values()) == expected


def test_ecg_and_blood_pressure_beat_at_the_same_rate_once_prepared(wfdb_dir: Path, tmp_path: Path) -> None:
    """ECG read at 500 Hz and ABP at 125 Hz share the heart rate after resampling to 50 Hz."""
    train = prepare(_wfdb_params(wfdb_dir, "03700181", ["MCL1", "ABP"], tmp_path), progress=False)["train"]
    freqs = np.fft.rfftfreq(train.window_length, 1 / train.rate)
    power = (np.abs(np.fft.rfft(train.windows, axis=-1)) ** 2).mean(axis=0)
    cardiac = (freqs > 0.6) & (freqs < 3.5)
    ecg_peak, abp_peak = (freqs[cardiac][np.argmax(p[cardiac])] for p in power)
    assert ecg_peak == pytest.approx(abp_peak, abs=1 / 8)


# Multi-segment records ------------------------------------------------------------------------------------------------

def _variable_record(folder: Path) -> dict[str, np.ndarray]:
    """``stay``: ECG+ABP for 100 frames, a 50-frame gap, ECG only for 70 frames; the expected signals."""
    ecg_a, abp_a, ecg_b = sine(100, 0.0), sine(100, 90.0), sine(70, 1.0)
    write_multi_segment(folder, "stay", [("stay_1", {"ECG": ecg_a, "ABP": abp_a}), 50, ("stay_2", {"ECG": ecg_b})],
                         layout={"ECG": "mV", "ABP": "mmHg", "RESP": "NU"})
    gap = np.full(50, np.nan)
    return {"ECG": np.concatenate([ecg_a, gap, ecg_b]), "ABP": np.concatenate([abp_a, gap, np.full(70, np.nan)])}


def test_variable_layout_joins_segments_with_nan_for_gaps_and_absent_signals(tmp_path: Path) -> None:
    expected = _variable_record(tmp_path)
    recording = read_wfdb_record(tmp_path / "stay", ["ABP", "ECG"])
    assert recording.modalities == ["ABP", "ECG"]
    assert recording.rates == {"ABP": SEGMENT_RATE, "ECG": SEGMENT_RATE}
    assert recording.units == {"ABP": "mmHg", "ECG": "mV"}
    assert recording.origin == str(tmp_path / "stay")
    for name, values in expected.items():
        np.testing.assert_allclose(recording.signals[name], values, atol=0.01)  # 16-bit storage at gain 200/unit


def test_a_signal_only_the_layout_names_reads_as_nan(tmp_path: Path) -> None:
    _variable_record(tmp_path)
    resp = read_wfdb_record(tmp_path / "stay", ["RESP"]).signals["RESP"]
    assert resp.shape == (220,) and np.isnan(resp).all()


def test_a_time_range_reads_only_the_segments_it_overlaps(tmp_path: Path) -> None:
    expected = _variable_record(tmp_path)
    (tmp_path / "stay_1.dat").unlink()  # frames 0-99: not needed for 2.4-4.0 s
    recording = read_wfdb_record(tmp_path / "stay", ["ECG"], start=2.4, stop=4.0)
    np.testing.assert_allclose(recording.signals["ECG"], expected["ECG"][120:200], atol=0.01)
    assert recording.origin == f"{tmp_path / 'stay'} (2.4–4 s)"


def test_fixed_layout_segments_of_different_lengths(tmp_path: Path) -> None:
    parts = [sine(80, 0.0), sine(30, 2.0)]
    write_multi_segment(tmp_path, "fixed", [("fixed_1", {"II": parts[0]}), 20, ("fixed_2", {"II": parts[1]})], None)
    ii = read_wfdb_record(tmp_path / "fixed", ["II"]).signals["II"]
    np.testing.assert_allclose(ii, np.concatenate([parts[0], np.full(20, np.nan), parts[1]]), atol=0.01)


def test_a_signal_in_no_segment_lists_the_signals_of_the_segments(tmp_path: Path) -> None:
    write_multi_segment(tmp_path, "fixed", [("fixed_1", {"II": sine(40, 0), "V": sine(40, 0)})], None)
    with pytest.raises(SourceError, match=r"fixed has no signal named \['PLETH'\]; available signals: \['II', 'V'\]"):
        read_wfdb_record(tmp_path / "fixed", ["II", "PLETH"])


def test_a_missing_segment_is_named(tmp_path: Path) -> None:
    _variable_record(tmp_path)
    (tmp_path / "stay_2.hea").unlink()
    with pytest.raises(SourceError, match=r"stay: segment 'stay_2'.*stay_2\.hea not found"):
        read_wfdb_record(tmp_path / "stay", ["ECG"])
    assert len(read_wfdb_record(tmp_path / "stay", ["ECG"], stop=2.0).signals["ECG"]) == 100


def test_a_time_range_outside_the_record_is_refused(tmp_path: Path) -> None:
    _variable_record(tmp_path)
    with pytest.raises(SourceError, match=r"stay: time range 3–5 s is outside the record \(4\.4 s\)"):
        read_wfdb_record(tmp_path / "stay", ["ECG"], start=3, stop=5)


def test_a_folder_reads_a_multi_segment_record_as_one_subject(tmp_path: Path) -> None:
    _variable_record(tmp_path)
    _write_records(tmp_path, ["single"])
    data = DataConfig(source="wfdb", file_glob="*.hea", subject_pattern=r"(?P<subject>.+)", modalities=["ECG"])
    recordings = load_wfdb_folder(data, tmp_path, None)
    assert [r.subject for r in recordings] == ["single", "stay"]
    assert len(recordings[1].signals["ECG"]) == 220


def test_gaps_between_segments_follow_the_gap_rules(tmp_path: Path) -> None:
    """A 12 s `~` stretch drops the windows touching it as gaps; a 0.1 s one is interpolated."""
    segments: list[Segment] = [("long_1", {"ECG": sine(1000, 0)}), 600, ("long_2", {"ECG": sine(995, 0)}), 5,
                               ("long_3", {"ECG": sine(400, 0)})]
    write_multi_segment(tmp_path, "long", segments, None)
    params = load_params(None, {
        "data.source": "wfdb", "data.root": str(tmp_path), "data.file_glob": "*.hea",
        "data.subject_pattern": "(?P<subject>long)", "data.modalities": ["ECG"], "data.splits": {"train": ["long"]},
        "paths.processed": str(tmp_path / "processed"), "preprocessing.target_rate": 25,
        "preprocessing.window_seconds": 8, "preprocessing.stride_seconds": 4, "preprocessing.bands": {},
    })
    train = prepare(params, progress=False)["train"]
    dropped = train.dropped["long"]
    assert dropped["gap"] == 4  # the windows starting at 16, 20, 24 and 28 s touch the 20-32 s gap
    assert len(train) + sum(dropped.values()) == (60 - 8) // 4 + 1


# Real multi-segment records ---------------------------------------------------------------------------------------

P000878 = "p000878-2137-10-26-16-57"


def test_fixed_layout_record_reads_whole(wfdb_dir: Path) -> None:
    path = wfdb_dir / "multi-segment" / "v102s" / "v102s"
    recording = read_wfdb_record(path, ["II", "V", "PLETH", "RESP"])
    assert recording.rates == dict.fromkeys(["II", "V", "PLETH", "RESP"], 250.0)
    whole = wfdb.rdrecord(str(path))
    for column, name in enumerate(whole.sig_name):
        np.testing.assert_array_equal(recording.signals[name], whole.p_signal[:, column])
    middle = read_wfdb_record(path, ["RESP"], start=290, stop=310).signals["RESP"]  # across segments 1 and 2
    np.testing.assert_array_equal(middle, whole.p_signal[72_500:77_500, 3])


def test_variable_layout_record_reads_inside_its_shipped_segments(wfdb_dir: Path) -> None:
    recording = read_wfdb_record(wfdb_dir / "multi-segment" / "p000878" / P000878, ["PLETH", "II", "ABP"], stop=60)
    pleth, ii, abp = (recording.signals[name] for name in ["PLETH", "II", "ABP"])
    assert recording.rates == {"PLETH": 125.0, "II": 125.0, "ABP": 125.0}
    assert recording.units == {"PLETH": "NU", "II": "mV", "ABP": "mmHg"}
    assert pleth.shape == ii.shape == abp.shape == (7500,)
    assert np.isnan(pleth[:3750]).all() and np.isfinite(pleth[3750:]).mean() > 0.9
    assert np.isnan(ii[:5750]).all() and np.isfinite(ii[5750:]).mean() > 0.9  # II only in the second segment
    assert np.isnan(abp).all()


def test_variable_layout_record_whole_names_the_missing_segment(wfdb_dir: Path) -> None:
    with pytest.raises(SourceError, match=r"segment '3269321_0003'.*3269321_0003\.hea not found"):
        read_wfdb_record(wfdb_dir / "multi-segment" / "p000878" / P000878, ["PLETH"])


# Damaged records --------------------------------------------------------------------------------------------------


def test_a_signal_file_shorter_than_its_header_is_named(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01"])
    dat = tmp_path / "rec_01.dat"
    dat.write_bytes(dat.read_bytes()[:-40])
    with pytest.raises(SourceError, match=r"rec_01: cannot read frames 0–300 of \['rec_01\.dat'\].*shorter"):
        read_wfdb_record(tmp_path / "rec_01", ["ECG"])


def test_a_missing_signal_file_is_named(tmp_path: Path) -> None:
    _write_records(tmp_path, ["rec_01"])
    (tmp_path / "rec_01.dat").unlink()
    with pytest.raises(SourceError, match=r"WFDB record .*rec_01: signal file .*rec_01\.dat not found"):
        read_wfdb_record(tmp_path / "rec_01", ["ECG"])


def test_a_missing_segment_signal_file_names_record_and_segment(tmp_path: Path) -> None:
    _variable_record(tmp_path)
    (tmp_path / "stay_2.dat").unlink()
    with pytest.raises(SourceError, match=r"stay, segment 'stay_2': signal file .*stay_2\.dat not found"):
        read_wfdb_record(tmp_path / "stay", ["ECG"])
