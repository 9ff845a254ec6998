"""From recordings to prepared, normalised windows per split, cached on disk.

Per subject and modality: NaN gaps are interpolated (long ones only
temporarily, and marked), the signal is resampled to ``preprocessing.target_rate``
(polyphase) and band-passed (zero-phase). Modalities are aligned at their common
start and cut to the shortest one. Windows of ``window_seconds`` every
``stride_seconds`` are sliced from the aligned signals; a window is dropped when
any modality touches a long gap, holds a flat line or is clipped (checked on the
raw samples at the native rate). The kept windows are normalised (see
:mod:`mimo_lib.data.normalization`) and saved per split under
``<paths.processed>/<digest of data + preprocessing>/``: ``<split>.windows.npy``
(float32 ``(N, M, T)``, opened memory-mapped) and ``<split>.npz`` (subjects,
start times, normalisation, drops; written last, it marks the split complete).

Subjects are prepared one at a time, each written to its own shard
(:mod:`mimo_lib.data.shards`) as soon as it is done, so memory holds one
recording's windows, never the cohort's. The shards are then streamed into the
split files (applying ``global`` statistics merged from the training shards) and
deleted. An interrupted prepare resumes from the shards already written. A lock
file lets one process at a time prepare a given cache folder.

The cache key is the params digest: after editing the recordings themselves,
pass ``force=True``.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mimo_lib.config import Params, ParamsError
from mimo_lib.data.normalization import Moments, apply_stats, normalize
from mimo_lib.data.shards import Shard, read_shard, read_summary, shard_path, write_shard
from mimo_lib.data.signals import bandpass, modality_bands, resample
from mimo_lib.data.sources import available_subjects, load_recordings
from mimo_lib.data.storage import exclusive_lock, open_npy, remove_temporary_files, write_npy
from mimo_lib.data.types import Recording, WindowSet, windows_path
from mimo_lib.data.windowing import DROP_REASONS, fill_short_gaps, first_reason, quality_reasons, slice_windows, window_count

SPLITS = ("train", "val", "test")
TRIM_REASON = "unequal_length"
REASONS = (*DROP_REASONS, TRIM_REASON)
SHARDS = "shards"
LOCK = ".prepare.lock"


@dataclass
class PreparedRecording:
    """Kept (not yet normalised) windows of one recording, the windows dropped per reason, and the
    continuous signals they were cut from (``(M, n)`` at the target rate, filtered, in recording units)."""

    subject: str
    windows: np.ndarray
    starts: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)
    signals: np.ndarray | None = None
    origin: str = ""


def window_samples(params: Params) -> tuple[int, int]:
    """Window and stride lengths in samples at the target rate (both must be whole numbers of samples)."""
    pre = params.preprocessing
    lengths = []
    for key in ("window_seconds", "stride_seconds"):
        samples = getattr(pre, key) * pre.target_rate
        if abs(samples - round(samples)) > 1e-6 or round(samples) < 1:
            raise ParamsError(
                f"preprocessing.{key}={getattr(pre, key)} is {samples:g} samples at target_rate={pre.target_rate} Hz; "
                "it must be a whole number of samples (at least one)"
            )
        lengths.append(int(round(samples)))
    return lengths[0], lengths[1]


def prepare_recording(recording: Recording, params: Params, unchecked: Collection[str] = ()) -> PreparedRecording:
    """Filter, resample, align, window and quality-check one recording.

    Windows are not dropped for the ``unchecked`` modalities' gaps, flat lines or
    clipping (a caller masking those samples itself, e.g. a calibration target).
    """
    pre = params.preprocessing
    rate = pre.target_rate
    window, stride = window_samples(params)
    bands = modality_bands(params)
    where = recording.origin or f"subject {recording.subject}"

    filtered, native = [], []
    for modality in params.data.modalities:
        if modality not in recording.signals:
            raise ValueError(f"{where}: modality {modality!r} missing; it has {recording.modalities}")
        fs = recording.rates[modality]
        if recording.duration(modality) < pre.window_seconds:
            raise ValueError(
                f"{where}: column {modality!r} lasts {recording.duration(modality):.3g} s, "
                f"shorter than one window of {pre.window_seconds} s"
            )
        try:
            filled, gaps = fill_short_gaps(recording.signals[modality], fs, pre.max_gap_seconds)
        except ValueError as error:
            raise ValueError(f"{where}: column {modality!r}: {error}") from None
        filtered.append(bandpass(resample(filled, fs, rate), rate, bands[modality], pre.filter_order))
        native.append((filled, gaps, fs))

    lengths = [len(x) for x in filtered]
    n = min(lengths)
    if max(lengths) - n > 1:
        warnings.warn(
            f"{where}: modalities have {dict(zip(params.data.modalities, lengths))} samples at {rate} Hz; "
            f"the common length {n} drops {max(lengths) - n} samples at the end of the longer ones",
            stacklevel=2,
        )
    signals = np.stack([x[:n] for x in filtered])
    count = window_count(n, window, stride)
    starts = np.arange(count) * stride / rate

    failures = [
        quality_reasons(filled, gaps, starts, pre.window_seconds, fs, pre.flat_std, pre.flat_seconds, pre.clip_fraction)
        for modality, (filled, gaps, fs) in zip(params.data.modalities, native) if modality not in unchecked
    ]
    reason = first_reason(failures, count)
    keep = reason == ""
    dropped = {name: int((reason == name).sum()) for name in DROP_REASONS}
    dropped[TRIM_REASON] = window_count(max(lengths), window, stride) - count
    return PreparedRecording(recording.subject, slice_windows(signals, window, stride)[keep], starts[keep], dropped,
                             signals, recording.origin)


def split_subjects(params: Params) -> dict[str, list[str]]:
    """Subjects per split: ``data.splits`` plus those ``data.optional_test_subjects`` that have a recording."""
    splits = {split: list(params.data.splits.get(split, [])) for split in SPLITS}
    if params.data.optional_test_subjects:
        present = set(available_subjects(params))
        splits["test"] += [s for s in params.data.optional_test_subjects if s in present]
    splits = {split: subjects for split, subjects in splits.items() if subjects}
    if not splits:
        raise ParamsError("data.splits names no subjects; list subject ids under train (and val, test)")
    return splits


def prepare(params: Params, force: bool = False, progress: bool = True) -> dict[str, WindowSet]:
    """Prepared windows per split (``train``/``val``/``test`` that have subjects), cached by params digest.

    The windows of the returned sets are memory-mapped from the cache (see :meth:`WindowSet.load`).
    """
    splits = split_subjects(params)
    window, _ = window_samples(params)
    method = params.preprocessing.normalization
    if method == "global" and "train" not in splits:
        raise ParamsError("preprocessing.normalization=global needs a train split to fit its statistics on")
    digest = params.digest("data", "preprocessing")
    folder = params.resolve_path(params.paths.processed) / digest
    paths = {split: folder / f"{split}.npz" for split in splits}
    if not force and (cached := _load_cached(paths)) is not None:
        return cached
    with exclusive_lock(folder / LOCK):
        if force:
            shutil.rmtree(folder / SHARDS, ignore_errors=True)
            for path in paths.values():
                path.unlink(missing_ok=True)
        elif (cached := _load_cached(paths)) is not None:  # another process finished while this one waited
            return cached
        remove_temporary_files(folder)
        _write_shards(params, splits, folder / SHARDS, progress)
        stats = _global_stats(splits["train"], folder / SHARDS) if method == "global" else None
        shape = (len(params.data.modalities), window)
        sets = {split: _write_split(params, paths[split], [shard_path(folder / SHARDS, split, s) for s in subjects],
                                    shape, stats, digest)
                for split, subjects in splits.items()}
        shutil.rmtree(folder / SHARDS)
    return sets


def _load_cached(paths: dict[str, Path]) -> dict[str, WindowSet] | None:
    """Every split from the cache when all their index files are there (each is written last for its split)."""
    if not all(path.is_file() for path in paths.values()):
        return None
    return {split: WindowSet.load(path) for split, path in paths.items()}


def _subject_shard(prepared: PreparedRecording, method: str) -> Shard:
    """A subject's windows normalised on their own (``window``, ``subject``), or raw with their moments (``global``)."""
    if method == "global":
        return Shard(prepared.subject, prepared.windows, prepared.starts, prepared.dropped,
                     moments=Moments.of(prepared.windows))
    subjects = np.full(len(prepared.windows), prepared.subject)
    windows, normalization = normalize(prepared.windows, subjects, method)
    return Shard(prepared.subject, windows, prepared.starts, prepared.dropped, normalization)


def _write_shards(params: Params, splits: dict[str, list[str]], folder: Path, progress: bool) -> None:
    """A shard for every subject that has none yet, one subject in memory at a time."""
    total = sum(len(subjects) for subjects in splits.values())
    todo = [(split, subject) for split, subjects in splits.items() for subject in subjects
            if not shard_path(folder, split, subject).is_file()]
    for split, subject in tqdm(todo, desc="preparing subjects", initial=total - len(todo), total=total,
                               disable=not progress):
        (recording,) = load_recordings(params, [subject])
        prepared = prepare_recording(recording, params)
        write_shard(shard_path(folder, split, subject), _subject_shard(prepared, params.preprocessing.normalization))


def _global_stats(subjects: list[str], folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per modality over the training subjects' raw windows, merged from their shards."""
    moments = [read_summary(shard_path(folder, "train", subject)).moments for subject in subjects]
    return reduce(Moments.merge, moments).stats()


def _write_split(params: Params, path: Path, shards: list[Path], row_shape: tuple[int, int],
                 stats: tuple[np.ndarray, np.ndarray] | None, digest: str) -> WindowSet:
    """Stream the shards of one split into its windows file, then write its index; the set, memory-mapped."""
    summaries = [read_summary(shard) for shard in shards]
    shape = (sum(s.count for s in summaries), *row_shape)
    starts: list[np.ndarray] = []
    means: list[np.ndarray] = []
    stds: list[np.ndarray] = []

    def chunks() -> Iterator[np.ndarray]:  # one subject's windows at a time; its starts and statistics are kept on the way
        for shard_file in shards:
            shard = read_shard(shard_file)
            windows, normalization = (apply_stats(shard.windows, *stats, "global") if stats is not None
                                      else (shard.windows, shard.normalization))
            starts.append(shard.starts)
            means.append(normalization["mean"])
            stds.append(normalization["std"])
            yield windows

    write_npy(windows_path(path), shape, chunks())
    method = params.preprocessing.normalization
    mean, std = stats if stats is not None else (np.concatenate(means), np.concatenate(stds))
    windowset = WindowSet(
        open_npy(windows_path(path)),
        np.concatenate([np.full(s.count, s.subject) for s in summaries]).astype(str),
        np.concatenate(starts), list(params.data.modalities), float(params.preprocessing.target_rate),
        {"method": method, "mean": mean, "std": std}, provenance=digest,
        dropped={s.subject: s.dropped for s in summaries},
    )
    windowset.save_index(path)
    return windowset


def drop_report(sets: dict[str, WindowSet]) -> pd.DataFrame:
    """One row per split and subject: windows kept and dropped per reason."""
    rows = []
    for split, windows in sets.items():
        kept = pd.Series(windows.subjects).value_counts()
        names = list(windows.dropped) or list(pd.unique(windows.subjects))
        for subject in names:
            counts = windows.dropped.get(subject, {})
            rows.append({"split": split, "subject": subject, "kept": int(kept.get(subject, 0)),
                         **{reason: int(counts.get(reason, 0)) for reason in REASONS}})
    report = pd.DataFrame(rows, columns=["split", "subject", "kept", *REASONS])
    report["dropped"] = report[list(REASONS)].sum(axis=1)
    return report
