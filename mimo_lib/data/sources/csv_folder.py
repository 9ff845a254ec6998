"""A folder of CSV files, one per subject, columns named by the user as modalities.

Header names are stripped of surrounding whitespace (BIDMC writes
``Time [s], RESP, PLETH``). The sampling rate comes from ``data.sampling_rate``
or from the time column over its whole span, ``(n - 1) / (t_last - t_first)``,
which stays exact when the time stamps are rounded (BIDMC keeps 5 significant
digits, so single steps of a 125 Hz recording read as 0.01 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.config import DataConfig, Params
from mimo_lib.data.sources.base import MissingSignalError, Source, SourceError, select_files
from mimo_lib.data.types import Recording
from mimo_lib.registry import SOURCES

RATE_TOLERANCE = 0.01
# Stamps rounded to more than this many sampling periods may repeat by rounding.
ROUNDING_MARGIN = 1.1


def _numeric(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = np.flatnonzero(values.isna() & frame[column].notna())
            row = int(bad[0])
            raise SourceError(
                f"{path}: column {column!r} has a non-numeric value {frame[column].iloc[row]!r} "
                f"at data row {row + 1}"
            )
    return frame


def _coarse_stamps(steps: np.ndarray, period: float) -> np.ndarray:
    """Per step: whether the nearest positive steps on both sides exceed ``period`` by ``ROUNDING_MARGIN``.

    Where they do, the stamps are rounded more coarsely than the samples come,
    so two rows may carry the same stamp without either being a duplicate.
    """
    positive = pd.Series(np.where(steps > 0, steps, np.nan))
    resolution = np.fmin(positive.ffill().to_numpy(), positive.bfill().to_numpy())
    return resolution > ROUNDING_MARGIN * period


def rate_from_time(time: np.ndarray, path: Path, column: str, rate: float | None = None) -> float:
    """Sampling rate from time stamps over the whole span; time must increase from row to row.

    A stamp equal to the one before it is accepted only where the stamps are
    rounded more coarsely than the sampling period (``rate`` when given, else
    the measured one), as BIDMC's 5 significant digits are above 100 s.
    """
    if np.isnan(time).any():
        row = int(np.flatnonzero(np.isnan(time))[0])
        raise SourceError(f"{path}: time column {column!r} is empty at data row {row + 1}")
    steps = np.diff(time)
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0]) + 1
        raise SourceError(f"{path}: time column {column!r} runs backwards: {time[row]} after {time[row - 1]} at data row {row + 1}")
    if len(time) < 2 or time[-1] <= time[0]:
        raise SourceError(f"{path}: time column {column!r} spans no time; cannot estimate the sampling rate")
    measured = (len(time) - 1) / (time[-1] - time[0])
    repeats = np.flatnonzero((steps == 0) & ~_coarse_stamps(steps, 1 / (rate or measured)))
    if len(repeats):
        row = int(repeats[0]) + 1
        raise SourceError(f"{path}: time column {column!r} repeats {time[row]} at data row {row + 1} (a duplicated row?)")
    return measured


def read_csv_recording(data: DataConfig, subject: str, path: Path) -> Recording:
    """Read the modality (and time) columns of one subject's CSV file."""
    if not path.is_file():
        raise SourceError(f"recording file not found: {path}")
    try:
        header = pd.read_csv(path, nrows=0).columns
    except pd.errors.EmptyDataError as error:
        raise SourceError(f"{path}: the file is empty (no header row, no data)") from error
    by_name = {str(raw).strip(): raw for raw in header}
    wanted = list(data.modalities) + ([data.time_column] if data.time_column else [])
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise MissingSignalError(f"{path}: column(s) {missing} not found; the file has columns {list(by_name)}",
                                 missing, list(by_name))
    frame = pd.read_csv(path, usecols=[by_name[name] for name in wanted])
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _numeric(frame, path)
    if len(frame) < 2:
        raise SourceError(f"{path}: holds {len(frame)} data row(s); a recording needs more")

    rate = data.sampling_rate
    if data.time_column:
        measured = rate_from_time(frame[data.time_column].to_numpy(np.float64), path, data.time_column, rate)
        if rate is not None and abs(measured - rate) > RATE_TOLERANCE * rate:
            raise SourceError(
                f"{path}: data.sampling_rate is {rate:g} Hz but time column {data.time_column!r} says "
                f"{measured:.4f} Hz (more than {RATE_TOLERANCE:.0%} apart)"
            )
        rate = rate if rate is not None else measured
    if rate is None:
        raise SourceError(f"{path}: no sampling rate; set data.sampling_rate or data.time_column")
    signals = {m: frame[m].to_numpy(np.float64) for m in data.modalities}
    for modality, values in signals.items():
        if np.isnan(values).all():
            raise SourceError(f"{path}: column {modality!r} holds no values")
    return Recording(subject, signals, {m: float(rate) for m in signals}, origin=str(path))


def load_csv_folder(data: DataConfig, root: Path, subjects: list[str] | None = None) -> list[Recording]:
    """One :class:`Recording` per subject from a folder of CSV files."""
    return [read_csv_recording(data, subject, path) for subject, path in select_files(data, root, subjects).items()]


@SOURCES.register("csv")
class CsvFolderSource(Source):
    """``data.source: csv``: a folder of per-subject CSV files."""

    def load(self, params: Params, subjects: list[str] | None) -> list[Recording]:
        return load_csv_folder(params.data, params.resolve_path(params.data.root), subjects)
