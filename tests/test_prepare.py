"""Windows, gaps, quality checks, normalisation and the cached prepare step."""

from __future__ import annotations

import threading
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mimo_lib.config import PROJECT_ROOT, load_params
from mimo_lib.data import prepare as prepare_module
from mimo_lib.data.normalization import Moments, fit_global, normalize
from mimo_lib.data.prepare import drop_report, prepare, prepare_recording
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.storage import exclusive_lock
from mimo_lib.data.types import Recording, WindowSet
from mimo_lib.data.windowing import fill_short_gaps, slice_windows, window_count, window_starts
from mimo_lib.plots.signals import (
    plot_filter_responses,
    plot_filtering,
    plot_raw_signals,
    plot_value_distribution,
    plot_window_counts,
)

RATE = 100.0


def make_params(tmp_path, **extra):
    overrides = {
        "data.modalities": ["ECG", "RESP"], "data.splits": {"train": ["A"]},
        "preprocessing.target_rate": 50, "preprocessing.window_seconds": 4, "preprocessing.stride_seconds": 2,
        "paths.processed": str(tmp_path / "processed"), **extra,
    }
    return load_params(overrides=overrides)


def make_recording(seconds: float = 40, subject: str = "A", seed: int = 0) -> Recording:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    ecg = np.sin(2 * np.pi * 1.2 * t) + 0.3 * rng.normal(size=len(t))
    resp = np.sin(2 * np.pi * 0.25 * t) + 0.05 * rng.normal(size=len(t))
    return Recording(subject, {"ECG": ecg, "RESP": resp}, {"ECG": RATE, "RESP": RATE}, origin=f"{subject}.csv")


def test_window_count_and_starts_are_exact():
    x = np.arange(2 * 103, dtype=float).reshape(2, 103)
    windows = slice_windows(x, 10, 7)
    assert window_count(103, 10, 7) == (103 - 10) // 7 + 1 == 14
    assert windows.shape == (14, 2, 10)
    for i, start in enumerate(window_starts(103, 10, 7)):
        np.testing.assert_array_equal(windows[i], x[:, start : start + 10])
    assert window_count(9, 10, 7) == 0
    assert slice_windows(x[:, :10], 10, 7).shape == (1, 2, 10)


def test_prepared_recording_windows_and_start_times(tmp_path):
    prepared = prepare_recording(make_recording(seconds=41), make_params(tmp_path))
    n = 41 * 50
    assert prepared.windows.shape == ((n - 200) // 100 + 1, 2, 200)
    np.testing.assert_array_equal(prepared.starts, np.arange(len(prepared.windows)) * 2.0)
    assert prepared.dropped == {"gap": 0, "flat": 0, "clipped": 0, "unequal_length": 0}


def test_short_gaps_are_interpolated_long_gaps_marked():
    x = np.arange(20, dtype=float)
    x[3:5] = np.nan
    x[10:16] = np.nan
    filled, mask = fill_short_gaps(x, sampling_rate=10, max_gap_seconds=0.3)
    np.testing.assert_allclose(filled, np.arange(20.0))
    np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(10, 16))


def test_windows_touching_long_gaps_are_dropped_and_counted(tmp_path):
    recording = make_recording()
    recording.signals["ECG"][1000:1020] = np.nan   # 0.2 s: interpolated, kept
    recording.signals["RESP"][2050:2350] = np.nan  # 20.5-23.5 s: windows touching it are dropped
    prepared = prepare_recording(recording, make_params(tmp_path))
    starts = np.arange(19) * 2.0
    touching = (starts < 23.5) & (starts + 4 > 20.5)
    assert prepared.dropped["gap"] == touching.sum() == 3
    np.testing.assert_array_equal(prepared.starts, starts[~touching])
    assert np.isfinite(prepared.windows).all()


def test_all_nan_column_names_file_and_column(tmp_path):
    recording = make_recording()
    recording.signals["RESP"][:] = np.nan
    with pytest.raises(ValueError, match=r"A\.csv: column 'RESP': signal is all NaN"):
        prepare_recording(recording, make_params(tmp_path))


def test_flat_and_clipped_windows_are_dropped_and_counted(tmp_path):
    recording = make_recording()
    recording.signals["ECG"][1000:1300] = 0.5                               # 10-13 s flat
    resp = recording.signals["RESP"]
    resp[3000:3400] = np.clip(resp[3000:3400], -0.3, 0.3)                  # 30-34 s clipped
    prepared = prepare_recording(recording, make_params(tmp_path, **{"preprocessing.flat_seconds": 2.0}))
    starts = np.arange(19) * 2.0
    flat = (starts <= 11) & (starts + 4 >= 12)          # windows holding >= 2 s of the flat line
    clipped = (starts + 4 > 30) & (starts < 34)
    assert prepared.dropped["flat"] == flat.sum() == 2
    assert prepared.dropped["clipped"] == clipped.sum() == 3
    np.testing.assert_array_equal(prepared.starts, starts[~flat & ~clipped])
    assert len(prepared.starts) + sum(prepared.dropped.values()) == 19


def test_recording_shorter_than_one_window_names_file(tmp_path):
    with pytest.raises(ValueError, match=r"A\.csv: column 'ECG' lasts 3 s, shorter than one window of 4"):
        prepare_recording(make_recording(seconds=3), make_params(tmp_path))


def test_window_that_is_not_whole_samples_is_refused(tmp_path):
    with pytest.raises(ValueError, match="window_seconds=4.01"):
        prepare_recording(make_recording(), make_params(tmp_path, **{"preprocessing.window_seconds": 4.01}))


def test_multirate_modalities_are_aligned_and_trimmed_tail_counted(tmp_path):
    recording = make_recording(seconds=40)
    t = np.arange(int(30 * 62.47)) / 62.47
    recording.signals["RESP"], recording.rates["RESP"] = np.sin(2 * np.pi * 0.3 * t), 62.47
    with pytest.warns(UserWarning, match="common length 1500"):
        prepared = prepare_recording(recording, make_params(tmp_path))
    assert prepared.windows.shape[0] == (1500 - 200) // 100 + 1
    assert prepared.dropped["unequal_length"] == 19 - 14
    # RESP at 0.3 Hz keeps its phase after resampling from a non-integer rate
    first = prepared.windows[0, 1]
    expected = np.sin(2 * np.pi * 0.3 * np.arange(200) / 50)
    assert np.corrcoef(first[50:150], expected[50:150])[0, 1] > 0.99


@pytest.mark.parametrize("method", ["window", "global", "subject"])
def test_normalisation_round_trips(method):
    rng = np.random.default_rng(1)
    raw = {split: rng.normal(5, 3, size=(n, 2, 50)) * [[1], [10]] for split, n in (("train", 12), ("test", 6))}
    subjects = {"train": np.repeat(["a", "b"], 6), "test": np.repeat(["c"], 6)}
    stats = fit_global(raw["train"]) if method == "global" else None
    for split, values in raw.items():
        windows, norm = normalize(values, subjects[split], method, stats)
        ws = WindowSet(windows, subjects[split], np.arange(len(windows), dtype=float), ["x", "y"], 50.0, norm)
        np.testing.assert_allclose(ws.denormalize(ws.windows), values, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(ws.denormalize(ws.windows[2:4], slice(2, 4)), values[2:4], rtol=1e-5, atol=1e-4)
        assert np.broadcast_shapes(np.shape(norm["mean"]), windows.shape) == windows.shape


def test_global_statistics_come_from_train_only():
    rng = np.random.default_rng(2)
    train = rng.normal(0, 1, size=(10, 1, 40))
    stats = fit_global(train)
    test, norm = normalize(train + 100, np.zeros(10), "global", stats)
    assert norm["mean"].item() == pytest.approx(train.mean())
    assert test.mean() == pytest.approx(100 / train.std(), rel=1e-4)


def test_moments_merged_per_subject_equal_those_of_all_windows():
    rng = np.random.default_rng(4)
    parts = [rng.normal(mean, scale, size=(n, 3, 20)) for mean, scale, n in ((0, 1, 7), (1e4, 50, 5), (-3, 0.1, 1))]
    merged = Moments.of(parts[0]).merge(Moments.of(parts[1])).merge(Moments.of(np.empty((0, 3, 20)))).merge(
        Moments.of(parts[2]))
    whole = np.concatenate(parts)
    mean, std = merged.stats()
    np.testing.assert_allclose(mean[0, :, 0], whole.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(std[0, :, 0], whole.std(axis=(0, 2)), rtol=1e-12)
    with pytest.raises(ValueError, match="zero training windows"):
        Moments.of(np.empty((0, 3, 20))).stats()


def test_subject_statistics_standardise_each_subject():
    rng = np.random.default_rng(3)
    raw = np.concatenate([rng.normal(0, 1, (5, 1, 30)), rng.normal(50, 7, (5, 1, 30))])
    subjects = np.repeat(["a", "b"], 5)
    normalised, _ = normalize(raw, subjects, "subject")
    for subject in ("a", "b"):
        rows = normalised[subjects == subject]
        assert rows.mean() == pytest.approx(0, abs=1e-5) and rows.std() == pytest.approx(1, abs=1e-4)


@pytest.fixture
def smoke_params(tmp_path):
    return load_params(PROJECT_ROOT / "params" / "smoke.yaml", overrides={
        "data.root": str(tmp_path / "raw"), "paths.processed": str(tmp_path / "processed"),
    })


def test_prepare_smoke_cohort_saves_and_reuses_windows(smoke_params):
    sets = prepare(smoke_params, progress=False)
    assert set(sets) == {"train", "val", "test"}
    assert sets["train"].windows.shape == (2 * 23, 4, 100)
    assert sets["train"].windows.dtype == np.float32
    assert list(np.unique(sets["train"].subjects)) == ["S01", "S02"]
    folder = smoke_params.resolve_path(smoke_params.paths.processed) / smoke_params.digest("data", "preprocessing")
    path = folder / "train.npz"
    assert path.is_file() and sets["train"].provenance == folder.name
    stamp = path.stat().st_mtime_ns
    again = prepare(smoke_params, progress=False)
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again["val"].windows, sets["val"].windows)
    prepare(smoke_params, force=True, progress=False)
    assert path.stat().st_mtime_ns != stamp


def test_prepare_global_normalisation_survives_save_and_load(smoke_params):
    params = smoke_params.model_copy(deep=True)
    params.preprocessing.normalization = "global"
    prepare(params, progress=False)
    sets = prepare(params, progress=False)  # read back from disk
    assert np.shape(sets["test"].normalization["mean"]) == (1, 4, 1)
    train = sets["train"].windows
    assert abs(float(train.mean(axis=(0, 2)).max())) < 1e-4


def test_drop_report_has_one_row_per_split_and_subject(smoke_params):
    report = drop_report(prepare(smoke_params, progress=False))
    assert list(report[["split", "subject"]].itertuples(index=False, name=None)) == [
        ("train", "S01"), ("train", "S02"), ("val", "S03"), ("test", "S04")]
    assert set(report.columns) >= {"kept", "gap", "flat", "clipped", "unequal_length", "dropped"}
    assert (report["kept"] + report["dropped"] == 23).all()


def test_prepare_needs_splits(smoke_params):
    params = smoke_params.model_copy(deep=True)
    params.data.splits = {}
    with pytest.raises(ValueError, match="data.splits names no subjects"):
        prepare(params, progress=False)


def test_prepare_bidmc_subjects(bidmc_dir, tmp_path):
    params = load_params(overrides={
        "data.source": "csv", "data.root": str(bidmc_dir / "bidmc_csv"), "data.file_glob": "bidmc_*_Signals.csv",
        "data.subject_pattern": r"bidmc_(?P<subject>\d+)_Signals", "data.time_column": "Time [s]",
        "data.modalities": ["RESP", "PLETH", "II"], "data.sampling_rate": 125,
        "data.splits": {"train": ["01", "02"], "test": ["03"]}, "paths.processed": str(tmp_path),
    })
    sets = prepare(params, progress=False)
    assert set(sets) == {"train", "test"}
    assert sets["train"].windows.shape[1:] == (3, 400)
    assert sets["train"].modalities == ["RESP", "PLETH", "II"]
    report = drop_report(sets)
    per_subject = (60001 * 50 // 125 + 1 - 400) // 200 + 1
    assert (report["kept"] + report["dropped"] == per_subject).all()
    assert report["kept"].sum() == len(sets["train"]) + len(sets["test"]) > 0.5 * 3 * per_subject
    assert np.isfinite(sets["train"].windows).all()


def test_preprocessing_figures(smoke_params):
    sets = prepare(smoke_params, progress=False)
    recordings = load_recordings(smoke_params, ["S01", "S02"])
    figures = {
        "raw": plot_raw_signals(recordings, seconds=5),
        "filters": plot_filter_responses(smoke_params),
        "filtering": plot_filtering(recordings[0], smoke_params, start=4.0),
        "values": plot_value_distribution(sets),
        "counts": plot_window_counts(drop_report(sets)),
    }
    assert figures["raw"].axes[0].get_title() == "subject S01" and len(figures["raw"].axes) == 4 * 2
    assert len(figures["filters"].axes[0].lines) == 4 + 1
    assert len(figures["filtering"].axes) == 4
    assert [ax.get_title() for ax in figures["values"].axes] == ["ECG", "PPG", "RESP", "ABP"]
    assert len(figures["counts"].axes[0].patches) == 4
    for figure in figures.values():
        plt.close(figure)


def test_optional_test_subjects_join_test_when_present(tmp_path):
    params = load_params(PROJECT_ROOT / "params" / "smoke.yaml", overrides={
        "data.root": str(tmp_path / "raw"), "paths.processed": str(tmp_path / "processed"),
        "data.splits": {"train": ["S01"], "val": ["S02"]}, "data.optional_test_subjects": ["S04", "S09"],
    })
    sets = prepare(params, progress=False)
    assert list(np.unique(sets["test"].subjects)) == ["S04"]


def _cohort_params(tmp_path, n_subjects: int, **extra):
    ids = [f"S{i + 1:02d}" for i in range(n_subjects)]
    return load_params(PROJECT_ROOT / "params" / "smoke.yaml", overrides={
        "data.root": str(tmp_path / "raw"), "paths.processed": str(tmp_path / "processed"),
        "data.synthetic.n_subjects": n_subjects,
        "data.splits": {"train": ids[:-2], "val": [ids[-2]], "test": [ids[-1]]}, **extra,
    })


def _assert_same_sets(first, second):
    assert list(first) == list(second)
    for split in first:
        np.testing.assert_array_equal(first[split].windows, second[split].windows)
        np.testing.assert_array_equal(first[split].subjects, second[split].subjects)
        np.testing.assert_array_equal(first[split].starts, second[split].starts)
        for key in ("mean", "std"):
            np.testing.assert_array_equal(first[split].normalization[key], second[split].normalization[key])
        assert first[split].dropped == second[split].dropped


def test_prepare_memory_stays_far_below_the_cohort(tmp_path, monkeypatch):
    subjects = [f"P{i:02d}" for i in range(40)]
    params = make_params(tmp_path, **{"data.splits": {"train": subjects[:36], "val": subjects[36:38],
                                                      "test": subjects[38:]},
                                      "preprocessing.stride_seconds": 0.2})
    monkeypatch.setattr(prepare_module, "load_recordings",
                        lambda p, names: [make_recording(seconds=60, subject=names[0], seed=int(names[0][1:]))])
    tracemalloc.start()
    try:
        sets = prepare(params, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cohort = sum(ws.windows.nbytes for ws in sets.values())
    assert all(isinstance(ws.windows, np.memmap) for ws in sets.values())
    assert peak < cohort / 4, f"prepare peaked at {peak / 2**20:.1f} MiB for {cohort / 2**20:.1f} MiB of windows"


@pytest.mark.parametrize("method", ["window", "global"])
def test_interrupted_prepare_resumes_from_the_subjects_written(tmp_path, monkeypatch, method):
    params = _cohort_params(tmp_path, 5, **{"preprocessing.normalization": method})
    reference = prepare(_cohort_params(tmp_path / "reference", 5, **{"preprocessing.normalization": method}),
                        progress=False)
    folder = params.resolve_path(params.paths.processed) / params.digest("data", "preprocessing")
    original = prepare_module.prepare_recording
    seen: list[str] = []

    def killed_at_the_fourth(recording, p):
        seen.append(recording.subject)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return original(recording, p)

    monkeypatch.setattr(prepare_module, "prepare_recording", killed_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        prepare(params, progress=False)
    shards = sorted(p.name for p in (folder / "shards").rglob("*") if p.is_file())
    assert shards == ["S01.npz", "S02.npz", "S03.npz"]
    assert not list(folder.glob("*.npz")) and not list(folder.glob("*.npy"))

    (folder / "shards" / "val").mkdir()
    (folder / "shards" / "val" / ".S04.npz.half.tmp").write_bytes(b"a shard cut short by a kill")
    seen.clear()
    sets = prepare(params, progress=False)
    assert seen == ["S04", "S05"]
    assert not (folder / "shards").exists()
    _assert_same_sets(sets, reference)


def test_prepare_waits_for_the_lock_of_another_preparer(smoke_params):
    folder = smoke_params.resolve_path(smoke_params.paths.processed) / smoke_params.digest("data", "preprocessing")
    done = threading.Event()
    with exclusive_lock(folder / ".prepare.lock"):
        worker = threading.Thread(target=lambda: (prepare(smoke_params, progress=False), done.set()))
        worker.start()
        assert not done.wait(1.0)
    worker.join(60)
    assert done.is_set()
