"""Whole recordings back from a run: stitched, in recording units, NaN (and counted) where no window covered."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import wfdb
from helpers import smoke_run

from mimo_lib.cli import main
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.stitching import stitch
from mimo_lib.run import load_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return load_run(smoke_run(tmp_path_factory.mktemp("reconstruct")))


@pytest.fixture(scope="module")
def recordings(run):
    return load_recordings(run.params, ["S01", "S02"])


def with_gap_and_tail(recording, gap_s=(10.0, 16.0), tail_s=1.4):
    """A copy with every modality NaN over ``gap_s`` (longer than the gap rules interpolate) and ``tail_s`` more seconds."""
    signals = {}
    for name, values in recording.signals.items():
        rate = recording.rates[name]
        extended = np.concatenate([values, values[: int(tail_s * rate)]])
        extended[int(gap_s[0] * rate):int(gap_s[1] * rate)] = np.nan
        signals[name] = extended
    return replace(recording, signals=signals)


def test_stitching_the_prepared_windows_returns_the_prepared_recording(run, recordings):
    (result,) = run.reconstruct(recordings[0], reconstructor=lambda windows: windows)
    assert result.original.shape == (4, 48 * 25) and result.uncovered == dict.fromkeys(run.modalities, 0)
    np.testing.assert_allclose(result.reconstruction, result.original, atol=1e-4 * np.abs(result.original).max())


def test_uncovered_samples_are_nan_and_counted(run, recordings):
    damaged = with_gap_and_tail(recordings[0])
    (result,) = run.reconstruct(damaged, reconstructor=lambda windows: windows)
    covered = np.isfinite(result.reconstruction[0])
    rate = 25
    assert not covered[int(10.5 * rate):int(15.5 * rate)].any(), "no window may cover the long gap"
    assert not covered[-int(1.4 * rate):].any(), "the tail shorter than a stride is not covered"
    assert result.uncovered["ECG"] == int((~covered).sum()) > 6 * rate
    np.testing.assert_allclose(result.reconstruction[:, covered], result.original[:, covered],
                               atol=1e-4 * np.nanmax(np.abs(result.original)))


def test_each_window_gets_its_own_scale_back(run, recordings):
    """Halving every normalised window leaves half the signal plus half of each window's own mean, stitched."""
    (result,) = run.reconstruct(recordings[0], reconstructor=lambda windows: 0.5 * windows)
    windows = run.windows(recordings[0])
    means = np.broadcast_to(windows.normalization["mean"], windows.windows.shape)
    expected = 0.5 * result.original + 0.5 * stitch(means, np.rint(windows.starts * windows.rate).astype(int),
                                                     result.length)
    np.testing.assert_allclose(result.reconstruction, expected, atol=1e-4 * np.abs(result.original).max())


def test_the_model_reconstructs_every_covered_sample(run, recordings):
    (result,) = run.reconstruct(recordings[0])
    assert np.isfinite(result.reconstruction).all()
    assert result.windows == len(run.windows(recordings[0]))


def test_a_path_and_recordings_give_the_same_reconstruction(run, recordings):
    folder = run.params.resolve_path(run.params.data.root)
    from_path = {r.subject: r for r in run.reconstruct(folder)}
    from_objects = {r.subject: r for r in run.reconstruct(recordings)}
    np.testing.assert_array_equal(from_path["S02"].reconstruction, from_objects["S02"].reconstruction)


def test_recordings_methods_take_a_path_or_say_what_they_accept(run, recordings):
    folder = run.params.resolve_path(run.params.data.root)
    file = folder / "S03.csv"
    pd.testing.assert_frame_equal(run.encode(str(file)), run.encode(load_recordings(run.params, ["S03"])))
    assert len(run.windows(folder)) == len(run.windows(load_recordings(run.params, ["S01", "S02", "S03", "S04"])))
    np.testing.assert_allclose(run.impute(file, ["RESP"]), run.impute(load_recordings(run.params, ["S03"]), ["RESP"]))
    with pytest.raises(TypeError, match="a path .* a Recording, a list of Recordings"):
        run.encode(42)
    with pytest.raises(TypeError, match="got list"):
        run.encode([file, file])


def test_cli_writes_csv_with_the_input_columns_and_wfdb_that_reads_back(run, tmp_path, capsys):
    folder = run.params.resolve_path(run.params.data.root)
    damaged = with_gap_and_tail(load_recordings(run.params, ["S01"])[0])
    frame = pd.read_csv(folder / "S01.csv")
    rate = damaged.rates["ECG"]
    pd.DataFrame({"time": np.arange(len(damaged.signals["ECG"])) / rate, **damaged.signals}).to_csv(
        tmp_path / "S01.csv", index=False)
    main(["reconstruct", "--run", str(run.run_dir), "--input", str(tmp_path / "S01.csv"), "--out", str(tmp_path / "r.csv")])
    printed = capsys.readouterr().out
    written = pd.read_csv(tmp_path / "r.csv")
    assert list(written.columns) == list(frame.columns)
    uncovered = int(written["ECG"].isna().sum())
    assert uncovered > 0 and "uncovered ECG" in printed and str(uncovered) in printed

    main(["reconstruct", "--run", str(run.run_dir), "--input", str(tmp_path / "S01.csv"), "--out", str(tmp_path / "w"),
          "--format", "wfdb"])
    record = wfdb.rdrecord(str(tmp_path / "w" / "S01"))
    assert record.sig_name == run.modalities and record.fs == 25
    np.testing.assert_array_equal(np.isnan(record.p_signal[:, 0]), written["ECG"].isna().to_numpy())
    np.testing.assert_allclose(record.p_signal, written[run.modalities].to_numpy(), equal_nan=True,
                               atol=1e-3 * np.nanmax(np.abs(written[run.modalities].to_numpy())))


def test_cli_names_a_column_the_input_lacks(run, tmp_path, capsys):
    folder = run.params.resolve_path(run.params.data.root)
    pd.read_csv(folder / "S01.csv").drop(columns=["PPG"]).to_csv(tmp_path / "S01.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["reconstruct", "--run", str(run.run_dir), "--input", str(tmp_path / "S01.csv"), "--out", str(tmp_path / "r.csv")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "'PPG'" in error and "S01.csv" in error and "ECG" in error
