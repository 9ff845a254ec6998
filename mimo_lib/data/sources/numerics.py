"""Bedside-monitor numerics that come with recordings (HR, PULSE, RESP, SpO2 … at 1 Hz), per subject.

BIDMC ships them as ``bidmc_NN_Numerics.csv`` (``Time [s], HR, PULSE, RESP, SpO2``);
the synthetic cohort writes ``<data.root>/numerics/<subject>.csv``.
:func:`window_numerics` averages one numeric over each window's time span.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.config import Params

TIME_COLUMN = "Time [s]"
NUMERICS_PATTERN = re.compile(r"bidmc_(?P<subject>\d+)_Numerics")


def read_numerics(path: str | Path, subject: str, time_column: str = TIME_COLUMN) -> pd.DataFrame:
    """One monitor-numerics CSV as ``subject, time, <numeric columns>`` (header spaces stripped)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"numerics file not found: {path}")
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    if time_column not in frame.columns:
        raise ValueError(f"{path}: no time column {time_column!r}; the file has columns {list(frame.columns)}")
    frame = frame.rename(columns={time_column: "time"}).apply(pd.to_numeric, errors="coerce")
    frame.insert(0, "subject", subject)
    return frame


def read_numerics_folder(
    folder: str | Path,
    subjects: list[str] | None = None,
    file_glob: str = "*.csv",
    subject_pattern: str = r"(?P<subject>.+)",
    time_column: str = "time",
) -> pd.DataFrame:
    """Per-subject numerics files of ``folder`` (all, or these subject ids) in one frame.

    The subject id is the regex group ``subject`` of ``subject_pattern`` on each file stem.
    """
    folder = Path(folder)
    pattern = re.compile(subject_pattern)
    files = {m.group("subject"): p for p in sorted(folder.glob(file_glob)) if (m := pattern.fullmatch(p.stem))}
    wanted = list(files) if subjects is None else list(subjects)
    absent = [s for s in wanted if s not in files]
    if absent or not wanted:
        raise FileNotFoundError(f"no numerics file matching {file_glob} in {folder} for subject(s) {absent or wanted}")
    return pd.concat([read_numerics(files[s], s, time_column) for s in wanted], ignore_index=True)


def read_bidmc_numerics(folder: str | Path, subjects: list[str] | None = None) -> pd.DataFrame:
    """The ``bidmc_NN_Numerics.csv`` files of ``folder`` (all, or these subject ids) in one frame."""
    return read_numerics_folder(folder, subjects, "bidmc_*_Numerics.csv", NUMERICS_PATTERN.pattern, TIME_COLUMN)


def cohort_numerics(params: Params) -> pd.DataFrame | None:
    """The monitor numerics that come with the params' recordings, or None when there are none.

    The synthetic cohort writes them to ``<data.root>/numerics/``; a CSV folder in the
    PhysioNet convention (``*_Signals.csv`` files, as BIDMC) has them in the
    matching ``*_Numerics.csv`` files, on the same time column.
    """
    data = params.data
    root = params.resolve_path(data.root)
    subjects = [s for names in data.splits.values() for s in names]
    if data.source == "synthetic":
        return read_numerics_folder(root / "numerics", subjects)
    if data.source == "csv" and "Signals" in data.file_glob:
        glob = data.file_glob.replace("Signals", "Numerics")
        if any(root.glob(glob)):
            return read_numerics_folder(root, subjects, glob, data.subject_pattern.replace("Signals", "Numerics"),
                                        data.time_column or TIME_COLUMN)
    return None


def window_numerics(
    numerics_frame: pd.DataFrame, subjects: np.ndarray, starts: np.ndarray, window_seconds: float, column: str
) -> np.ndarray:
    """Mean of ``column`` over ``[start, start + window_seconds)`` of each window's subject; NaN where none.

    ``numerics_frame`` has ``subject``, ``time`` (seconds) and ``column``; missing
    values in ``column`` are skipped.
    """
    for name in ("subject", "time", column):
        if name not in numerics_frame.columns:
            raise ValueError(f"numerics frame has no column {name!r}; it has {list(numerics_frame.columns)}")
    subjects = np.asarray(subjects).astype(str)
    starts = np.asarray(starts, dtype=float)
    result = np.full(len(starts), np.nan)
    groups = {str(s): g.sort_values("time") for s, g in numerics_frame.groupby("subject")}
    for subject in np.unique(subjects):
        rows = np.flatnonzero(subjects == subject)
        if subject not in groups:
            continue
        time = groups[subject]["time"].to_numpy(float)
        values = groups[subject][column].to_numpy(float)
        finite = np.isfinite(values)
        sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
        counts = np.concatenate([[0], np.cumsum(finite)])
        low = np.searchsorted(time, starts[rows], side="left")
        high = np.searchsorted(time, starts[rows] + window_seconds, side="left")
        n = counts[high] - counts[low]
        with np.errstate(invalid="ignore", divide="ignore"):
            result[rows] = np.where(n > 0, (sums[high] - sums[low]) / n, np.nan)
    return result
