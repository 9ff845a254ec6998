"""Reference annotations: BIDMC breath files and WFDB beat annotations."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from mimo_lib.data.annotations import BEAT_SYMBOLS, read_bidmc_breaths, read_wfdb_beats


def test_bidmc_breaths_per_annotator_with_padding_dropped(tmp_path):
    path = tmp_path / "bidmc_99_Breaths.csv"
    path.write_text("breaths ann1 [signal sample no], breaths ann2 [signal sample no]\n454,478\n867,894\n1200,NaN\n1600,\n")
    breaths = read_bidmc_breaths(path)
    assert list(breaths) == ["ann1", "ann2"]
    np.testing.assert_array_equal(breaths["ann1"], [454, 867, 1200, 1600])
    np.testing.assert_array_equal(breaths["ann2"], [478, 894])
    assert breaths["ann1"].dtype == np.int64


@pytest.mark.parametrize(("name", "content", "error", "message"), [
    ("absent.csv", None, FileNotFoundError, r"absent\.csv"),
    ("wrong.csv", "Time [s], RESP\n0,1\n", ValueError, r"wrong\.csv: column 'Time \[s\]' is not a BIDMC breath column"),
    ("text.csv", "breaths ann1 [signal sample no]\n10\nabc\n", ValueError, r"text\.csv: .*non-numeric entry 'abc'"),
    ("fraction.csv", "breaths ann1 [signal sample no]\n10.5\n", ValueError, r"fraction\.csv: .*not sample indices"),
    ("empty.csv", "", ValueError, r"empty\.csv"),
])
def test_bidmc_breaths_errors_name_the_file(tmp_path, name, content, error, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=message):
        read_bidmc_breaths(path)


def test_real_bidmc_breaths(bidmc_dir):
    breaths = read_bidmc_breaths(bidmc_dir / "bidmc_csv" / "bidmc_10_Breaths.csv")  # ann1 padded with 6 NaN rows
    assert set(breaths) == {"ann1", "ann2"}
    assert (len(breaths["ann1"]), len(breaths["ann2"])) == (146, 152)
    assert np.all(np.diff(breaths["ann1"]) > 0) and breaths["ann2"][-1] < 8 * 60 * 125


def test_wfdb_beats_keep_beat_symbols_only(tmp_path):
    samples = np.array([10, 50, 90, 130, 170, 210])
    symbols = ["N", "+", "V", "~", "N", '"']
    wfdb.wrann("rec", "atr", samples, symbol=symbols, aux_note=["", "(N", "", "", "", "note"], fs=125, write_dir=str(tmp_path))
    np.testing.assert_array_equal(read_wfdb_beats(tmp_path / "rec"), [10, 90, 170])
    assert {"N", "V", "L", "R", "A"} <= BEAT_SYMBOLS and not {"+", "~", '"'} & BEAT_SYMBOLS


def test_wfdb_beats_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"rec\.qrs"):
        read_wfdb_beats(tmp_path / "rec", extension="qrs")
    (tmp_path / "bad.atr").write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match=r"bad\.atr: not a readable WFDB annotation file"):
        read_wfdb_beats(tmp_path / "bad")
