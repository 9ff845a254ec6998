"""PhysioNet WFDB records as :class:`~mimo_lib.data.types.Recording` objects.

Signals are picked by name, read at their own rates (a multi-rate record keeps
e.g. ECG at 500 Hz beside ABP at 125 Hz), in physical units, with invalid
samples left as NaN for the pipeline's gap rules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from mimo_lib.config import DataConfig, Params
from mimo_lib.data.sources.base import Source, SourceError, choose_subjects, subject_files
from mimo_lib.data.types import Recording
from mimo_lib.registry import SOURCES


def read_wfdb_record(path: Path, modalities: list[str], subject: str | None = None) -> Recording:
    """Read the signals named ``modalities`` from the record at ``path`` (no extension).

    Each signal comes at its own rate, ``fs * samps_per_frame``. ``subject``
    defaults to the record name.
    """
    path = Path(path)
    try:
        header = wfdb.rdheader(str(path))
    except FileNotFoundError as error:
        raise SourceError(f"WFDB record {path}: header {path}.hea not found") from error
    available = list(header.sig_name or [])
    missing = [name for name in modalities if name not in available]
    if missing:
        raise SourceError(f"WFDB record {path} has no signal named {missing}; available signals: {available}")

    channels = [available.index(name) for name in modalities]
    record = wfdb.rdrecord(str(path), channels=channels, smooth_frames=False)
    signals: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    units: dict[str, str] = {}
    for name, values, per_frame, unit in zip(
        record.sig_name, record.e_p_signal, record.samps_per_frame, record.units, strict=True
    ):
        signals[name] = np.asarray(values, dtype=np.float64)
        rates[name] = float(record.fs) * int(per_frame)
        units[name] = unit
    return Recording(
        subject=subject if subject is not None else path.name,
        signals={name: signals[name] for name in modalities},
        rates={name: rates[name] for name in modalities},
        origin=str(path),
        units={name: units[name] for name in modalities},
    )


def load_wfdb_folder(data: DataConfig, root: Path, subjects: list[str] | None) -> list[Recording]:
    """Every record in ``root`` whose header file matches ``data.file_glob``.

    The subject id is group ``subject`` of ``data.subject_pattern`` searched in the
    record name; records whose name does not match are not recordings of this
    dataset and are skipped. Reads ``subjects`` (default: every subject in
    ``data.splits``, else every record); each one must be present.
    """
    root = Path(root)
    matched = subject_files(data, root)
    for header in matched.values():
        if header.suffix != ".hea":
            raise SourceError(
                f"data.file_glob {data.file_glob!r} matched {header}, which is not a WFDB header (.hea); "
                "for data.source wfdb the glob selects header files, e.g. '*.hea'"
            )
    headers = choose_subjects(matched, data, root, subjects)
    if not headers:
        raise SourceError(
            f"no WFDB record in {root} matches data.file_glob {data.file_glob!r} "
            f"and data.subject_pattern {data.subject_pattern!r}"
        )
    return [read_wfdb_record(header.with_suffix(""), data.modalities, subject) for subject, header in headers.items()]


# Bits per sample of WFDB storage formats (used when a header gives no ADC resolution).
FORMAT_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10,
               "508": 8, "516": 16, "524": 24}


def header_bits(path: Path, modalities: list[str]) -> dict[str, int]:
    """Bits per sample of the signals ``modalities`` of the record at ``path``: ADC resolution, else storage format.

    A multi-segment record's signals are described by its first segment (the layout, when variable).
    """
    header = wfdb.rdheader(str(path))
    if getattr(header, "seg_name", None):
        header = wfdb.rdheader(str(path.parent / next(name for name in header.seg_name if name != "~")))
    names = list(header.sig_name or [])
    missing = [name for name in modalities if name not in names]
    if missing:
        raise SourceError(f"WFDB record {path} has no signal named {missing}; available signals: {names}")
    bits = {}
    for name in modalities:
        index = names.index(name)
        resolution = int((header.adc_res or [0] * len(names))[index] or 0)
        fmt = str(header.fmt[index])
        if not resolution and fmt not in FORMAT_BITS:
            raise SourceError(f"WFDB record {path}: signal {name!r} has no ADC resolution and an unknown format {fmt!r}")
        bits[name] = resolution or FORMAT_BITS[fmt]
    return bits


@SOURCES.register("wfdb")
class WfdbSource(Source):
    """``data.source: wfdb``: PhysioNet WFDB records, one per subject."""

    def load(self, params: Params, subjects: list[str] | None) -> list[Recording]:
        return load_wfdb_folder(params.data, params.resolve_path(params.data.root), subjects)

    def sample_bits(self, params: Params) -> dict[str, int]:
        """The headers' resolution per modality, the largest over the selected records (not ``data.bits_per_sample``)."""
        root = params.resolve_path(params.data.root)
        headers = choose_subjects(subject_files(params.data, root), params.data, root, None)
        per_record = [header_bits(header.with_suffix(""), params.data.modalities) for header in headers.values()]
        if not per_record:
            raise SourceError(f"no WFDB record in {root} to read the sample resolution from")
        return {name: max(bits[name] for bits in per_record) for name in params.data.modalities}
