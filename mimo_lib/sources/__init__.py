"""Recording sources: where per-subject signals come from.

:func:`load_recordings` dispatches on ``data.source``:

- ``csv``: a folder of CSV files, one per subject (:mod:`mimo_lib.sources.csv_folder`);
- ``synthetic``: the embedded cohort, written as CSV to ``data.root`` when absent
  or out of date, then read through the same CSV path as a user's files;
- ``wfdb``: PhysioNet WFDB records (:mod:`mimo_lib.sources.wfdb_source`).
"""

from __future__ import annotations

from mimo_lib.config import Params
from mimo_lib.sources.csv_folder import SourceError, load_csv_folder, subject_files
from mimo_lib.sources.synthetic import cohort_is_current, write_synthetic_cohort
from mimo_lib.types import Recording

__all__ = ["SourceError", "available_subjects", "load_recordings"]


def _ensure_synthetic(params: Params) -> None:
    root = params.resolve_path(params.data.root)
    if params.data.source == "synthetic" and not cohort_is_current(params.data.synthetic, root):
        write_synthetic_cohort(params.data.synthetic, root)


def available_subjects(params: Params) -> list[str]:
    """Subject ids that have a recording in ``data.root`` (files or WFDB headers matching the glob and pattern)."""
    _ensure_synthetic(params)
    return list(subject_files(params.data, params.resolve_path(params.data.root)))


def load_recordings(params: Params, subjects: list[str] | None = None) -> list[Recording]:
    """Recordings of ``subjects`` (default: every subject named in ``data.splits``)."""
    data = params.data
    root = params.resolve_path(data.root)
    if data.source in ("synthetic", "csv"):
        _ensure_synthetic(params)
        return load_csv_folder(data, root, subjects)
    if data.source == "wfdb":
        from mimo_lib.sources.wfdb_source import load_wfdb_folder

        return load_wfdb_folder(data, root, subjects)
    raise SourceError(f"unknown data.source {data.source!r}")
