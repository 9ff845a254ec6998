"""From recordings to prepared, normalised windows per split, cached on disk.

Per subject and modality: NaN gaps are interpolated (long ones only
temporarily, and marked), the signal is resampled to ``preprocessing.target_rate``
(polyphase) and band-passed (zero-phase). Modalities are aligned at their common
start and cut to the shortest one. Windows of ``window_seconds`` every
``stride_seconds`` are sliced from the aligned signals; a window is dropped when
any modality touches a long gap, holds a flat line or is clipped (checked on the
raw samples at the native rate). The kept windows are normalised per split
(see :mod:`mimo_lib.data.normalization`) and saved as
``<paths.processed>/<digest of data + preprocessing>/<split>.npz``.

The cache key is the params digest: after editing the recordings themselves,
pass ``force=True``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mimo_lib.config import Params, ParamsError
from mimo_lib.data.normalization import normalize_sets
from mimo_lib.data.signals import bandpass, modality_bands, resample
from mimo_lib.data.sources import available_subjects, load_recordings
from mimo_lib.data.types import Recording, WindowSet
from mimo_lib.data.windowing import DROP_REASONS, fill_short_gaps, first_reason, quality_reasons, slice_windows, window_count

SPLITS = ("train", "val", "test")
TRIM_REASON = "unequal_length"
REASONS = (*DROP_REASONS, TRIM_REASON)


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


def prepare_recording(recording: Recording, params: Params) -> PreparedRecording:
    """Filter, resample, align, window and quality-check one recording."""
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
        for filled, gaps, fs in native
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
    """Prepared windows per split (``train``/``val``/``test`` that have subjects), cached by params digest."""
    splits = split_subjects(params)
    digest = params.digest("data", "preprocessing")
    folder = params.resolve_path(params.paths.processed) / digest
    paths = {split: folder / f"{split}.npz" for split in splits}
    if not force and all(path.is_file() for path in paths.values()):
        return {split: WindowSet.load(path) for split, path in paths.items()}

    window, _ = window_samples(params)
    modalities = list(params.data.modalities)
    raw: dict[str, np.ndarray] = {}
    subjects: dict[str, np.ndarray] = {}
    starts: dict[str, np.ndarray] = {}
    dropped: dict[str, dict[str, dict[str, int]]] = {}
    todo = [(split, subject) for split, names in splits.items() for subject in names]
    prepared: dict[str, list[PreparedRecording]] = {split: [] for split in splits}
    for split, subject in tqdm(todo, desc="preparing subjects", disable=not progress):
        (recording,) = load_recordings(params, [subject])
        prepared[split].append(prepare_recording(recording, params))
    for split, items in prepared.items():
        raw[split] = np.concatenate([p.windows for p in items]) if items else np.empty((0, len(modalities), window))
        subjects[split] = np.concatenate([np.full(len(p.windows), p.subject) for p in items]).astype(str)
        starts[split] = np.concatenate([p.starts for p in items])
        dropped[split] = {p.subject: p.dropped for p in items}

    sets = {}
    for split, (windows, normalization) in normalize_sets(raw, subjects, params.preprocessing.normalization).items():
        sets[split] = WindowSet(
            windows, subjects[split], starts[split], modalities, float(params.preprocessing.target_rate),
            normalization, provenance=digest, dropped=dropped[split],
        )
        sets[split].save(paths[split])
    return sets


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
