"""Reference annotations: BIDMC manual breaths and WFDB beat annotations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from wfdb.io.annotation import ann_label_table, is_qrs

# Symbols WFDB counts as beats (its ``isqrs`` table: N, L, R, V, A, ...), not rhythm or noise marks.
BEAT_SYMBOLS = frozenset(ann_label_table.loc[[is_qrs[code] for code in ann_label_table.label_store], "symbol"])

_BIDMC_BREATH_COLUMN = re.compile(r"^breaths\s+(\S+)")


def _annotator(column: str, path: Path) -> str:
    match = _BIDMC_BREATH_COLUMN.match(column.strip())
    if match is None:
        raise ValueError(f"{path}: column {column!r} is not a BIDMC breath column ('breaths <annotator> [...]')")
    return match.group(1)


def _sample_indices(values: pd.Series, path: Path) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise ValueError(f"{path}: column {values.name!r} has a non-numeric entry {values[bad].iloc[0]!r}")
    samples = numbers.dropna().to_numpy()
    if np.any(samples != np.round(samples)) or np.any(samples < 0):
        raise ValueError(f"{path}: column {values.name!r} has entries that are not sample indices (non-negative integers)")
    return np.sort(samples.astype(np.int64))


def read_bidmc_breaths(path: str | Path) -> dict[str, np.ndarray]:
    """Annotator name (``"ann1"``, ``"ann2"``) -> sorted breath sample indices at 125 Hz.

    The file has one column per annotator, headed ``breaths ann1 [signal sample no]``.
    Annotators marked different numbers of breaths, so the shorter column is padded
    with NaN; those cells are dropped (the count dropped for an annotator is the
    row count minus the length of its array). Indices are kept as written.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BIDMC breath annotations not found: {path}")
    try:
        table = pd.read_csv(path, skipinitialspace=True, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise ValueError(f"{path}: not a readable CSV of breath annotations ({err})") from err
    if table.shape[1] == 0:
        raise ValueError(f"{path}: no annotator columns")
    return {_annotator(column, path): _sample_indices(table[column], path) for column in table.columns}


def read_wfdb_beats(record_path: str | Path, extension: str = "atr") -> np.ndarray:
    """Sorted sample indices of the beat annotations (:data:`BEAT_SYMBOLS`) of a WFDB record.

    ``record_path`` is the record without extension; the file read is
    ``<record_path>.<extension>``. Rhythm, noise and comment annotations are left out.
    """
    file = Path(f"{record_path}.{extension}")
    if not file.is_file():
        raise FileNotFoundError(f"WFDB annotation file not found: {file}")
    try:
        annotation = wfdb.rdann(str(record_path), extension)
    except (ValueError, IndexError, KeyError, OSError) as err:  # what wfdb raises on corrupt or truncated files
        raise ValueError(f"{file}: not a readable WFDB annotation file ({type(err).__name__}: {err})") from err
    symbols = np.asarray(annotation.symbol, dtype=object)
    is_beat = np.array([symbol in BEAT_SYMBOLS for symbol in symbols], dtype=bool)
    return np.sort(np.asarray(annotation.sample, dtype=np.int64)[is_beat])
