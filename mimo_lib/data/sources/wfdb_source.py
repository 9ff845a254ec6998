"""PhysioNet WFDB records as :class:`~mimo_lib.data.types.Recording` objects.

Signals are picked by name, read at their own rates (a multi-rate record keeps
e.g. ECG at 500 Hz beside ABP at 125 Hz), in physical units, with invalid
samples left as NaN for the pipeline's gap rules.

Multi-segment records (MIMIC-style ICU stays) are read segment by segment and
joined: a master header lists the segments in order, ``~`` marks a stretch
with no data, and a variable-layout record starts with a layout segment
(``*_layout``, no samples) naming every signal. A signal absent from a segment,
and every signal during a ``~`` stretch, is NaN there, so the pipeline's gap
rules and drop counts apply to it as to any other missing sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from mimo_lib.config import DataConfig, Params
from mimo_lib.data.sources.base import MissingSignalError, Source, SourceError, choose_subjects, subject_files
from mimo_lib.data.types import Recording
from mimo_lib.registry import SOURCES

GAP = "~"


@dataclass(frozen=True)
class _Piece:
    """Frames ``[first, last)`` of one segment (``header`` None for a ``~`` gap) as read from ``path``."""

    path: Path
    header: wfdb.Record | None
    first: int
    last: int | None


@dataclass(frozen=True)
class _Signal:
    """What a signal is across the segments that hold it: samples per frame and unit."""

    per_frame: int
    unit: str


def _read_header(path: Path, record: Path, what: str = "header") -> wfdb.Record | wfdb.MultiRecord:
    """The header ``path.hea``; ``record`` and ``what`` name it in the error when it is missing."""
    try:
        return wfdb.rdheader(str(path))
    except FileNotFoundError as error:
        raise SourceError(f"WFDB record {record}: {what} {path}.hea not found") from error


def _span(start: float, stop: float | None) -> str:
    return f"{start:g}–{'end' if stop is None else f'{stop:g}'} s"


def _frame_range(record: Path, fs: float, total: int | None, start: float, stop: float | None) -> tuple[int, int | None]:
    """Frames ``[first, last)`` covering ``start``–``stop`` seconds; ``last`` None reads to the end."""
    first = round(start * fs)
    last = total if stop is None else round(stop * fs)
    outside = first < 0 or (last is not None and (last <= first or (total is not None and last > total)))
    if outside:
        length = "unknown length" if total is None else f"{total / fs:g} s"
        raise SourceError(f"WFDB record {record}: time range {_span(start, stop)} is outside the record ({length})")
    return first, last


def _segment_pieces(record: Path, header: wfdb.MultiRecord, first: int, last: int) -> tuple[list[_Piece], list[wfdb.Record]]:
    """The segments overlapping frames ``[first, last)`` and the headers that name signals (layout first)."""
    folder = record.parent
    named: list[wfdb.Record] = []
    names, lengths = list(header.seg_name), list(header.seg_len)
    if header.layout == "variable":
        named.append(_read_header(folder / names[0], record, f"layout segment {names[0]!r}"))
        names, lengths = names[1:], lengths[1:]
    pieces: list[_Piece] = []
    offset = 0
    for name, length in zip(names, lengths, strict=True):
        begin, end = max(first, offset), min(last, offset + length)
        if begin < end and name == GAP:
            pieces.append(_Piece(folder / name, None, begin - offset, end - offset))
        elif begin < end:
            segment = _segment_header(record, header, folder / name, length)
            pieces.append(_Piece(folder / name, segment, begin - offset, end - offset))
            named.append(segment)
        offset += length
    return pieces, named


def _segment_header(record: Path, master: wfdb.MultiRecord, path: Path, length: int) -> wfdb.Record:
    """The header of segment ``path``, checked against what the master header says of it."""
    segment = _read_header(path, record, f"segment {path.name!r}: file")
    if segment.fs != master.fs or (segment.sig_len is not None and segment.sig_len != length):
        raise SourceError(
            f"WFDB record {record}: segment {path.name!r} has {segment.sig_len} frames at {segment.fs:g} Hz; "
            f"the master header says {length} frames at {master.fs:g} Hz"
        )
    return segment


def _signals(record: Path, headers: list[wfdb.Record]) -> dict[str, _Signal]:
    """Every signal named in ``headers``, in order of first appearance; its rate and unit must agree across them."""
    signals: dict[str, _Signal] = {}
    for header in headers:
        for name, per_frame, unit in zip(header.sig_name, header.samps_per_frame, header.units, strict=True):
            signal = _Signal(int(per_frame), unit)
            if signals.setdefault(name, signal) != signal:
                raise SourceError(
                    f"WFDB record {record}: signal {name!r} is {per_frame} sample(s) per frame in {unit!r} in "
                    f"{header.record_name!r}, but {signals[name].per_frame} in {signals[name].unit!r} before it"
                )
    return signals


def _read_samples(record: Path, piece: _Piece, names: list[str]) -> dict[str, np.ndarray]:
    """The physical samples of ``names`` (all in ``piece.header``) over the piece's frames."""
    header = piece.header
    channels = [header.sig_name.index(name) for name in names]
    where = f"WFDB record {record}" + ("" if piece.path == record else f", segment {piece.path.name!r}")
    try:
        read = wfdb.rdrecord(str(piece.path), sampfrom=piece.first, sampto=piece.last, channels=channels, smooth_frames=False)
    except FileNotFoundError as error:
        raise SourceError(f"{where}: signal file {error.filename} not found") from error
    except ValueError as error:
        files = sorted({header.file_name[c] for c in channels})
        raise SourceError(
            f"{where}: cannot read frames {piece.first}–{piece.last if piece.last is not None else header.sig_len} "
            f"of {files} ({error}); is the signal file shorter than the header says?"
        ) from error
    return {name: np.asarray(values, dtype=np.float64) for name, values in zip(read.sig_name, read.e_p_signal, strict=True)}


def _absent(piece: _Piece, signal: _Signal) -> np.ndarray:
    """NaN for ``signal`` over the frames of a piece that does not hold it."""
    return np.full((piece.last - piece.first) * signal.per_frame, np.nan)


def _join(record: Path, pieces: list[_Piece], signals: dict[str, _Signal], modalities: list[str]) -> dict[str, np.ndarray]:
    """Each of ``modalities`` over all pieces, NaN where a piece is a gap or lacks the signal."""
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in modalities}
    for piece in pieces:
        present = [name for name in modalities if piece.header is not None and name in piece.header.sig_name]
        read = _read_samples(record, piece, present) if present else {}
        for name in modalities:
            chunks[name].append(read[name] if name in read else _absent(piece, signals[name]))
    return {name: np.concatenate(parts) for name, parts in chunks.items()}


def read_wfdb_record(
    path: Path, modalities: list[str], subject: str | None = None, start: float = 0.0, stop: float | None = None
) -> Recording:
    """Read the signals named ``modalities`` from the record at ``path`` (no extension).

    Each signal comes at its own rate, ``fs * samps_per_frame``. ``start`` and
    ``stop`` (seconds from the record's start; default the whole record) read
    a time range; a multi-segment record then reads only the segments it
    overlaps. ``subject`` defaults to the record name.
    """
    path = Path(path)
    header = _read_header(path, path)
    if isinstance(header, wfdb.MultiRecord):
        total = header.sig_len if header.sig_len is not None else sum(header.seg_len)
        first, last = _frame_range(path, header.fs, total, start, stop)
        pieces, named = _segment_pieces(path, header, first, last)
    else:
        first, last = _frame_range(path, header.fs, header.sig_len, start, stop)
        pieces, named = [_Piece(path, header, first, last)], [header]
    signals = _signals(path, named)
    missing = [name for name in modalities if name not in signals]
    if missing:
        raise MissingSignalError(f"WFDB record {path} has no signal named {missing}; available signals: {list(signals)}",
                                 missing, list(signals))

    whole = start == 0 and stop is None
    return Recording(
        subject=subject if subject is not None else path.name,
        signals=_join(path, pieces, signals, modalities),
        rates={name: float(header.fs) * signals[name].per_frame for name in modalities},
        origin=str(path) if whole else f"{path} ({_span(start, stop)})",
        units={name: signals[name].unit for name in modalities},
    )


def _segment_headers(root: Path, glob: str) -> set[Path]:
    """Headers under ``root`` matching ``glob`` that are segments (or layouts) of a multi-segment record there."""
    segments: set[Path] = set()
    for path in root.glob(glob):
        header = wfdb.rdheader(str(path.with_suffix(""))) if path.suffix == ".hea" else None
        if isinstance(header, wfdb.MultiRecord):
            segments.update(path.parent / f"{name}.hea" for name in header.seg_name if name != GAP)
    return segments


def record_headers(data: DataConfig, root: Path) -> dict[str, Path]:
    """Subject id -> header of each whole record in ``root`` that ``data.file_glob`` and ``data.subject_pattern`` select.

    The headers of a multi-segment record's segments are parts of that record,
    not records of their own, and are left out.
    """
    root = Path(root)
    matched = subject_files(data, root, skip=_segment_headers(root, data.file_glob))
    for header in matched.values():
        if header.suffix != ".hea":
            raise SourceError(
                f"data.file_glob {data.file_glob!r} matched {header}, which is not a WFDB header (.hea); "
                "for data.source wfdb the glob selects header files, e.g. '*.hea'"
            )
    return matched


def load_wfdb_folder(data: DataConfig, root: Path, subjects: list[str] | None) -> list[Recording]:
    """Every record in ``root`` whose header file matches ``data.file_glob``.

    The subject id is group ``subject`` of ``data.subject_pattern`` searched in the
    record name; records whose name does not match are not recordings of this
    dataset and are skipped. Reads ``subjects`` (default: every subject in
    ``data.splits``, else every record); each one must be present.
    """
    root = Path(root)
    headers = choose_subjects(record_headers(data, root), data, root, subjects)
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
    """``data.source: wfdb``: PhysioNet WFDB records, one per subject (a multi-segment record is one)."""

    def subjects(self, params: Params) -> list[str]:
        return list(record_headers(params.data, params.resolve_path(params.data.root)))

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
