"""Recording sources: where per-subject signals come from.

Each source registers itself under the ``data.source`` name it answers to
(:data:`mimo_lib.registry.SOURCES`):

- ``csv``: a folder of CSV files, one per subject (:mod:`~mimo_lib.data.sources.csv_folder`);
- ``synthetic``: the embedded cohort, written as CSV to ``data.root`` when absent
  or out of date, then read as a user's CSV files (:mod:`~mimo_lib.data.sources.synthetic`);
- ``wfdb``: PhysioNet WFDB records (:mod:`~mimo_lib.data.sources.wfdb_source`).
"""

from __future__ import annotations

from mimo_lib.config import Params
from mimo_lib.data.sources import csv_folder, synthetic, wfdb_source  # noqa: F401  (registers the sources)
from mimo_lib.data.sources.base import MissingSignalError, Source, SourceError
from mimo_lib.data.types import Recording
from mimo_lib.registry import SOURCES

__all__ = ["MissingSignalError", "Source", "SourceError", "available_subjects", "load_recordings", "sample_bits"]


def available_subjects(params: Params) -> list[str]:
    """Subject ids that have a recording in ``data.root`` (files or WFDB headers matching the glob and pattern)."""
    return SOURCES.lookup(params.data.source)().subjects(params)


def load_recordings(params: Params, subjects: list[str] | None = None) -> list[Recording]:
    """Recordings of ``subjects`` (default: every subject named in ``data.splits``)."""
    return SOURCES.lookup(params.data.source)().load(params, subjects)


def sample_bits(params: Params) -> dict[str, int]:
    """Bits per recorded sample of each modality (the resolution compression ratios count against)."""
    return SOURCES.lookup(params.data.source)().sample_bits(params)
