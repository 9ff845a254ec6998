"""What every recording source shares: files per subject found by glob and pattern, and the Source interface.

A source is a :class:`Source` subclass registered under the name ``data.source``
takes (:data:`mimo_lib.registry.SOURCES`)::

    @SOURCES.register("mine")
    class MySource(Source):
        def load(self, params, subjects):
            ...

Adding a source is one module defining it plus its import in :mod:`mimo_lib.data.sources`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from mimo_lib.config import DataConfig, Params
from mimo_lib.data.types import Recording


class SourceError(ValueError):
    """A recording that cannot be read as configured (names the file and column)."""


class MissingSignalError(SourceError):
    """A recording lacks signals (columns, WFDB signals) it was asked for; ``available`` lists those it has."""

    def __init__(self, message: str, missing: list[str], available: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
        self.available = available


def subject_files(data: DataConfig, root: Path, skip: Collection[Path] = ()) -> dict[str, Path]:
    """Map subject id -> file for the files ``root / data.file_glob`` whose stem matches ``data.subject_pattern``.

    Files in ``skip`` are parts of another recording (e.g. segments of a
    multi-segment WFDB record) and are left out.
    """
    if not root.is_dir():
        raise SourceError(f"data folder not found: {root} (data.root)")
    pattern = re.compile(data.subject_pattern)
    if "subject" not in pattern.groupindex:
        raise SourceError(f"data.subject_pattern {data.subject_pattern!r} has no group named 'subject'")
    files: dict[str, Path] = {}
    for path in sorted(root.glob(data.file_glob)):
        match = pattern.search(path.stem)
        if not match or not path.is_file() or path in skip:
            continue
        subject = match.group("subject")
        if subject in files:
            raise SourceError(f"subject {subject!r} matches two files: {files[subject]} and {path}")
        files[subject] = path
    return files


def select_files(data: DataConfig, root: Path, subjects: list[str] | None) -> dict[str, Path]:
    """The files of ``subjects`` (default: every subject in ``data.splits``, else every file)."""
    return choose_subjects(subject_files(data, root), data, root, subjects)


def choose_subjects(
    files: dict[str, Path], data: DataConfig, root: Path, subjects: list[str] | None
) -> dict[str, Path]:
    """The entries of ``files`` (from :func:`subject_files`) for ``subjects``; an absent subject is an error."""
    if subjects is None:
        subjects = [s for split in data.splits.values() for s in split] or list(files)
    missing = [s for s in subjects if s not in files]
    if missing:
        raise SourceError(
            f"no recording for subject(s) {missing} in {root} (files {data.file_glob!r}, "
            f"subject pattern {data.subject_pattern!r}); found subjects {sorted(files)}"
        )
    return {s: files[s] for s in subjects}


class Source:
    """Where recordings come from; subjects are the files under ``data.root`` that glob and pattern select."""

    def subjects(self, params: Params) -> list[str]:
        """Subject ids that have a recording in ``data.root``."""
        return list(subject_files(params.data, params.resolve_path(params.data.root)))

    def load(self, params: Params, subjects: list[str] | None) -> list[Recording]:
        """Recordings of ``subjects`` (default: every subject in ``data.splits``, else every one found)."""
        raise NotImplementedError

    def sample_bits(self, params: Params) -> dict[str, int]:
        """Bits per recorded sample of each modality: ``data.bits_per_sample`` unless the files say otherwise."""
        return {modality: params.data.bits_per_sample for modality in params.data.modalities}
