"""Whole recordings back from reconstructed windows, and writing them as CSV or WFDB files.

A :class:`RecordingReconstruction` holds one recording's prepared signals (the
filtered, resampled originals a model was given) beside their reconstruction,
both ``(M, n)`` at the run's target rate in recording units, NaN where no kept
window covered a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from mimo_lib.data.prepare import PreparedRecording
from mimo_lib.data.stitching import count_uncovered, stitch, window_starts_to_samples

FORMATS = ("csv", "wfdb")


@dataclass
class RecordingReconstruction:
    """One recording's prepared signals and their reconstruction at ``rate`` Hz."""

    subject: str
    origin: str
    modalities: list[str]
    rate: float
    original: np.ndarray
    reconstruction: np.ndarray
    windows: int
    native_rates: dict[str, float] = field(default_factory=dict)

    @property
    def uncovered(self) -> dict[str, int]:
        """Samples per modality that no kept window covered (NaN in :attr:`reconstruction`)."""
        return dict(zip(self.modalities, count_uncovered(self.reconstruction).tolist()))

    @property
    def length(self) -> int:
        return self.reconstruction.shape[1]

    def with_names(self, names: list[str]) -> RecordingReconstruction:
        """The same reconstruction with its modalities called ``names`` (in order), e.g. the recording's own."""
        return replace(self, modalities=list(names))

    def frame(self, time_column: str = "time", which: str = "reconstruction") -> pd.DataFrame:
        """``time`` (seconds) plus one column per modality, of the reconstruction or the ``original``."""
        values = {"reconstruction": self.reconstruction, "original": self.original}[which]
        columns = {time_column: np.arange(self.length) / self.rate}
        columns.update(zip(self.modalities, values))
        return pd.DataFrame(columns)


def stitch_prepared(
    prepared: PreparedRecording, windows: np.ndarray, modalities: list[str], present: np.ndarray, rate: float,
    native_rates: dict[str, float] | None = None,
) -> RecordingReconstruction:
    """Stitch ``windows`` (``(N, M, T)``, one per kept window of ``prepared``) back into its recording.

    ``present`` marks the modalities ``prepared`` holds (in order); the others have no original (NaN rows).
    ``native_rates`` are the recording's own rates, kept for annotations made at them.
    """
    if prepared.signals is None:
        raise ValueError(f"{prepared.origin or prepared.subject}: prepared without its continuous signals")
    length = prepared.signals.shape[1]
    original = np.full((len(modalities), length), np.nan)
    original[present] = prepared.signals
    if len(windows) != len(prepared.windows):
        raise ValueError(f"{len(windows)} reconstructed windows for the {len(prepared.windows)} kept windows "
                         f"of {prepared.origin or prepared.subject}")
    if len(windows):
        reconstruction = stitch(windows, window_starts_to_samples(prepared.starts, rate), length)
    else:
        reconstruction = np.full_like(original, np.nan)
    return RecordingReconstruction(prepared.subject, prepared.origin, list(modalities), rate, original,
                                   reconstruction, len(windows), dict(native_rates or {}))


def output_format(out: Path, fmt: str | None) -> str:
    """``fmt`` when given, else from the suffix of ``out`` (``.csv`` -> csv, ``.hea`` -> wfdb); folders need ``fmt``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; choose one of {FORMATS}")
        return fmt
    by_suffix = {".csv": "csv", ".hea": "wfdb"}
    if out.suffix in by_suffix:
        return by_suffix[out.suffix]
    raise ValueError(f"cannot tell the output format of {out}: end it in .csv or .hea, or give the format "
                     f"({' or '.join(FORMATS)}) to write one file per recording into that folder")


def _targets(reconstructions: list[RecordingReconstruction], out: Path, fmt: str) -> list[Path]:
    """One output path per recording: ``out`` itself for a single recording named by file, else ``out/<subject>``."""
    if out.suffix in (".csv", ".hea"):
        if len(reconstructions) != 1:
            raise ValueError(f"{len(reconstructions)} recordings cannot all go to the file {out}; "
                             "give a folder to write one file per recording")
        return [out]
    suffix = ".csv" if fmt == "csv" else ".hea"
    return [out / f"{r.subject}{suffix}" for r in reconstructions]


def write_reconstructions(
    reconstructions: list[RecordingReconstruction], out: str | Path, fmt: str | None = None,
    time_column: str = "time", units: dict[str, str] | None = None,
) -> list[Path]:
    """Write each reconstruction as CSV (``time_column`` plus the modality columns) or a WFDB record.

    WFDB records hold 16-bit samples whose gain covers each signal's range; NaN samples are
    written as WFDB's invalid value and read back as NaN.
    """
    out = Path(out)
    fmt = output_format(out, fmt)
    paths = _targets(reconstructions, out, fmt)
    for reconstruction, path in zip(reconstructions, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            reconstruction.frame(time_column).to_csv(path, index=False)
            continue
        signal = reconstruction.reconstruction.T
        wfdb.wrsamp(path.stem, fs=reconstruction.rate, units=[(units or {}).get(m, "NU") for m in reconstruction.modalities],
                    sig_name=list(reconstruction.modalities), p_signal=signal, fmt=["16"] * signal.shape[1],
                    write_dir=str(path.parent))
    return paths
