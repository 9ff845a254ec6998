"""CSV folder source: layout, sampling rate, and clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimo_lib.config import ParamsError, load_params
from mimo_lib.data.sources import SourceError, load_recordings


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def bidmc_like(path: Path, seconds: float = 20, rate: float = 125) -> Path:
    """A file shaped like BIDMC: spaces after commas, time rounded to 5 significant digits."""
    t = np.arange(int(seconds * rate)) / rate
    rows = [f"{float(f'{x:.5g}')},{np.sin(x):.5f},{np.cos(x):.5f}" for x in t]
    return write_csv(path, "Time [s], RESP, PLETH", rows)


def params_for(root: Path, **extra):
    overrides = {
        "data.source": "csv", "data.root": str(root), "data.modalities": ["RESP", "PLETH"],
        "data.time_column": "Time [s]", "data.splits": {"train": ["01"]},
        "data.subject_pattern": r"rec_(?P<subject>\d+)", **extra,
    }
    return load_params(overrides=overrides)


def test_headers_are_stripped_and_rate_comes_from_the_whole_time_span(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv")
    (recording,) = load_recordings(params_for(tmp_path))
    assert recording.subject == "01"
    assert recording.modalities == ["RESP", "PLETH"]
    # single steps read 0.01 s (100 Hz) once rounded; the span gives the true rate
    assert recording.rates["RESP"] == pytest.approx(125.0, rel=1e-6)
    assert len(recording.signals["PLETH"]) == 2500
    assert recording.origin.endswith("rec_01.csv")


def test_params_rate_is_used_and_checked_against_time_column(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv")
    (recording,) = load_recordings(params_for(tmp_path, **{"data.sampling_rate": 125.5}))
    assert recording.rates["RESP"] == 125.5
    with pytest.raises(SourceError, match=r"rec_01\.csv.*100 Hz.*125\.0000 Hz"):
        load_recordings(params_for(tmp_path, **{"data.sampling_rate": 100}))


def test_rate_from_params_without_time_column(tmp_path):
    write_csv(tmp_path / "rec_01.csv", "RESP,PLETH", [f"{i},{-i}" for i in range(50)])
    (recording,) = load_recordings(params_for(tmp_path, **{"data.time_column": None, "data.sampling_rate": 10}))
    assert recording.rates == {"RESP": 10.0, "PLETH": 10.0}
    with pytest.raises(SourceError, match="no sampling rate"):
        load_recordings(params_for(tmp_path, **{"data.time_column": None}))


def test_subject_in_splits_without_file_names_subject_and_folder(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv")
    params = params_for(tmp_path, **{"data.splits": {"train": ["01"], "test": ["02"]}})
    with pytest.raises(SourceError, match=rf"\['02'\].*{tmp_path}"):
        load_recordings(params)


def test_missing_folder(tmp_path):
    with pytest.raises(SourceError, match="data folder not found"):
        load_recordings(params_for(tmp_path / "nowhere"))


def test_missing_column_names_file_and_column(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv")
    with pytest.raises(SourceError, match=r"rec_01\.csv.*\['II'\] not found"):
        load_recordings(params_for(tmp_path, **{"data.modalities": ["RESP", "II"]}))


def test_non_numeric_value_names_file_column_and_row(tmp_path):
    write_csv(tmp_path / "rec_01.csv", "Time [s],RESP,PLETH", ["0,1,2", "0.1,1,2", "0.2,oops,2", "0.3,1,2"])
    with pytest.raises(SourceError, match=r"rec_01\.csv: column 'RESP' has a non-numeric value 'oops' at data row 3"):
        load_recordings(params_for(tmp_path))


def test_empty_cells_are_gaps_not_errors(tmp_path):
    write_csv(tmp_path / "rec_01.csv", "Time [s],RESP,PLETH", ["0,1,2", "0.1,,2", "0.2,1,2"])
    (recording,) = load_recordings(params_for(tmp_path))
    assert np.isnan(recording.signals["RESP"][1])


@pytest.mark.parametrize("rate", [None, 10])
def test_time_running_backwards_names_file_and_first_row(tmp_path, rate):
    rows = ["0,1,2", "0.1,1,2", "0.05,1,2", "0.3,1,2", "0.2,1,2"]
    write_csv(tmp_path / "rec_01.csv", "Time [s],RESP,PLETH", rows)
    message = r"rec_01\.csv: time column 'Time \[s\]' runs backwards: 0\.05 after 0\.1 at data row 3$"
    with pytest.raises(SourceError, match=message):
        load_recordings(params_for(tmp_path, **{"data.sampling_rate": rate}))


@pytest.mark.parametrize("rate", [None, 10])
def test_repeated_time_names_file_and_first_row(tmp_path, rate):
    rows = [f"{t / 10},1,2" for t in range(400)]
    rows.insert(21, rows[20])  # a duplicated row; the span still says 10 Hz within tolerance
    write_csv(tmp_path / "rec_01.csv", "Time [s],RESP,PLETH", rows)
    with pytest.raises(SourceError, match=r"rec_01\.csv: time column 'Time \[s\]' repeats 2\.0 at data row 22"):
        load_recordings(params_for(tmp_path, **{"data.sampling_rate": rate}))


@pytest.mark.parametrize("rate", [None, 125])
def test_stamps_rounded_coarser_than_the_period_may_repeat(tmp_path, rate):
    """Above 100 s, 5 significant digits round 0.008 s steps to 0.00 or 0.01 s (as in BIDMC)."""
    bidmc_like(tmp_path / "rec_01.csv", seconds=104)
    (recording,) = load_recordings(params_for(tmp_path, **{"data.sampling_rate": rate}))
    assert recording.rates["RESP"] == pytest.approx(125.0, rel=1e-4)


def test_empty_file_is_named(tmp_path):
    (tmp_path / "rec_01.csv").write_text("")
    with pytest.raises(SourceError, match=r"rec_01\.csv: the file is empty"):
        load_recordings(params_for(tmp_path))


def test_two_files_for_one_subject(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv", seconds=1)
    bidmc_like(tmp_path / "rec_01_copy.csv", seconds=1)
    with pytest.raises(SourceError, match="matches two files"):
        load_recordings(params_for(tmp_path))


def test_pattern_without_subject_group(tmp_path):
    bidmc_like(tmp_path / "rec_01.csv", seconds=1)
    with pytest.raises(SourceError, match="no group named 'subject'"):
        load_recordings(params_for(tmp_path, **{"data.subject_pattern": r"rec_\d+"}))


def test_subject_in_two_splits_is_refused_by_params():
    with pytest.raises(ParamsError, match="'01' is in two splits"):
        load_params(overrides={"data.splits": {"train": ["01"], "test": ["01"]}})


def test_bands_for_unknown_modality_are_refused_by_params():
    with pytest.raises(ParamsError, match=r"preprocessing.bands names unknown modalities \['EEG'\]"):
        load_params(overrides={"preprocessing.bands": {"EEG": [1, 30]}})


def test_bidmc_recordings_load_at_125_hz(bidmc_dir):
    params = load_params(overrides={
        "data.source": "csv", "data.root": str(bidmc_dir / "bidmc_csv"), "data.file_glob": "bidmc_*_Signals.csv",
        "data.subject_pattern": r"bidmc_(?P<subject>\d+)_Signals", "data.time_column": "Time [s]",
        "data.modalities": ["RESP", "PLETH", "II"], "data.sampling_rate": 125, "data.splits": {"train": ["01"]},
    })
    (recording,) = load_recordings(params)
    assert recording.rates["II"] == 125
    assert len(recording.signals["PLETH"]) == 60001
