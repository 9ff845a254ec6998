"""WFDB records: named signals at their own rates, physical units, NaN kept; folders of records."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb

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
