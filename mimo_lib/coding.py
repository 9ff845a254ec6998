"""Code files: a trained run's windows as latent vectors on a fixed number of bits, and back.

:func:`compress` codes the windows of a source (:meth:`mimo_lib.run.TrainedRun.encode`)
as a :class:`~mimo_lib.evaluation.codecs.latent.LatentCode`: every latent number
on ``bits`` bits (a uniform quantiser whose range per dimension is the coded
latents' own minimum and maximum, stored once in the file; or float16/float32)
plus each window's mean and standard deviation per modality as float16. With
``per_dimension``, ``bits`` is a mean: each latent number gets its own depth
(2 … 12 bits, stored in the file) where the run's decoder is most sensitive
(:func:`~mimo_lib.evaluation.rate_distortion.latent_weights`).
:func:`decompress` and :func:`reconstruct_code` decode it with the run's decoder.

A code file (``.npz``, :class:`CodeFile`) holds the code, whose size is exact
(:attr:`~mimo_lib.evaluation.codecs.latent.LatentCode.n_bits`: the records' bytes
and the quantiser's ranges), and beside it what is not counted: the window index
(subject, start in seconds; a stream of consecutive windows implies it) and what
the decoder checks the run against (modalities, latent size, window length, rate).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.data.stitching import stitch, window_starts_to_samples
from mimo_lib.evaluation.codecs.latent import LatentCode, encode_latent
from mimo_lib.evaluation.codecs.quantize import FLOAT_BITS, UNIFORM_BITS, UniformQuantizer, allocate_depths
from mimo_lib.evaluation.rate_distortion import depth_budget, latent_weights, ratio_depths
from mimo_lib.reconstruction import RecordingReconstruction
from mimo_lib.run import Source, TrainedRun


@dataclass(frozen=True)
class CodeFile:
    """A :class:`LatentCode` with its window index and the shape of what it codes."""

    code: LatentCode
    subjects: np.ndarray
    starts: np.ndarray
    modalities: list[str]
    window_length: int
    rate: float

    def __post_init__(self) -> None:
        if not len(self.subjects) == len(self.starts) == len(self.code):
            raise ValueError(f"{len(self.code)} coded windows but {len(self.subjects)} subjects and "
                             f"{len(self.starts)} start times")

    @property
    def bits_per_second(self) -> float:
        """Code bits per second of coded signal (windows × window duration)."""
        return self.code.n_bits / (len(self.code) * self.window_length / self.rate)

    def save(self, path: str | Path) -> Path:
        """Write the code file (``.npz``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"bits": self.code.bits, "latent_dim": self.code.latent_dim, "modalities": self.modalities,
                "window_length": self.window_length, "rate": self.rate}
        quantizer = self.code.quantizer
        ranges = (quantizer.low, quantizer.high) if quantizer else (np.empty(0, np.float32),) * 2
        depths = quantizer.depths.astype(np.uint8) if self.code.bits is None else np.empty(0, np.uint8)
        np.savez(path, records=self.code.records, low=ranges[0], high=ranges[1], depths=depths,
                 subjects=self.subjects.astype(str), starts=self.starts.astype(np.float64),
                 meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> CodeFile:
        """Read a code file written by :meth:`save` (``mimo encode --bits``)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                bits = None if meta["bits"] is None else int(meta["bits"])
                depths = data["depths"].astype(np.int64) if bits is None else bits
                quantizer = None if bits in FLOAT_BITS else UniformQuantizer(data["low"], data["high"], depths)
                code = LatentCode(data["records"], bits, int(meta["latent_dim"]), len(meta["modalities"]), quantizer)
                return cls(code, data["subjects"], data["starts"], list(meta["modalities"]),
                           int(meta["window_length"]), float(meta["rate"]))
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"{path} is not a code file written by `mimo encode --bits`: {error}") from error


def is_code_file(path: str | Path) -> bool:
    """Whether ``path`` is a file ending in ``.npz`` (a code file; recordings are CSV or WFDB)."""
    path = Path(path)
    return path.is_file() and path.suffix == ".npz"


def _coded_frame(run: TrainedRun, source: Source, batch_size: int) -> pd.DataFrame:
    """:meth:`~mimo_lib.run.TrainedRun.encode` of ``source``, which must carry each window's scale."""
    frame = run.encode(source, batch_size=batch_size)
    if not {f"mean_{m}" for m in run.modalities} <= set(frame.columns):
        raise ValueError("bare arrays carry no normalisation statistics; code recordings, a split or a WindowSet")
    return frame


def _code_file(run: TrainedRun, frame: pd.DataFrame, bits: int | np.ndarray) -> CodeFile:
    """The latents and scale of an :meth:`~mimo_lib.run.TrainedRun.encode` frame coded on ``bits``."""
    scale = [frame[[f"{key}_{m}" for m in run.modalities]].to_numpy() for key in ("mean", "std")]
    code = encode_latent(frame[run.latent_columns].to_numpy(np.float32), *scale, bits)
    return CodeFile(code, frame["subject"].to_numpy(str), frame["start"].to_numpy(float), run.modalities,
                    run.model.window_length, float(run.params.preprocessing.target_rate))


def compress(run: TrainedRun, source: Source, bits: float, per_dimension: bool = False,
             batch_size: int = 256) -> CodeFile:
    """The windows of ``source`` coded on ``bits`` bits per latent number (2 … 12, 16 or 32), or with
    ``per_dimension`` on ``bits`` × latent size bits per window spread over the numbers (2 … 12 each)."""
    frame = _coded_frame(run, source, batch_size)
    if per_dimension:
        lowest, highest = UNIFORM_BITS.start, UNIFORM_BITS.stop - 1
        if not lowest <= bits <= highest:
            raise ValueError(f"a depth per dimension takes a mean of {lowest}-{highest} bits, got {bits:g}")
        latent = frame[run.latent_columns].to_numpy(np.float32)
        bits = allocate_depths(latent_weights(run.model, latent), round(bits * run.model.latent_dim))
    return _code_file(run, frame, bits)


def compress_to_ratio(run: TrainedRun, source: Source, ratio: float, sample_bits: Sequence[int],
                      batch_size: int = 256) -> CodeFile:
    """The windows of ``source`` coded with a depth per latent number, as many bits as keep the code within
    ``ratio`` against ``sample_bits`` per recorded sample of each modality (the scale, the quantiser's table
    and the padding to whole bytes counted)."""
    frame = _coded_frame(run, source, batch_size)
    dim, modalities = run.model.latent_dim, len(run.modalities)
    if len(sample_bits) != modalities:
        raise ValueError(f"{len(sample_bits)} sample resolutions for the run's modalities {run.modalities}")
    window_bits = run.model.window_length * sum(sample_bits) / ratio
    weights = latent_weights(run.model, frame[run.latent_columns].to_numpy(np.float32))
    depths = ratio_depths(weights, window_bits, len(frame), modalities)
    if depths is None:
        total, lowest = depth_budget(window_bits, len(frame), dim, modalities), UNIFORM_BITS.start * dim
        most = run.model.window_length * sum(sample_bits) / (window_bits - total + lowest)
        raise ValueError(f"at {ratio:g}× a window's {window_bits:.0f} bits leave {total} for {dim} latent numbers; "
                         f"{UNIFORM_BITS.start} bits each need {lowest}: this run codes at most about {most:.1f}×")
    return _code_file(run, frame, depths)


def code_frame(run: TrainedRun, code: CodeFile) -> pd.DataFrame:
    """The decoded code as an :meth:`~mimo_lib.run.TrainedRun.encode` frame (latents, float16 scale), for :meth:`~mimo_lib.run.TrainedRun.decode`."""
    expected = (run.modalities, run.model.latent_dim, run.model.window_length)
    if (code.modalities, code.code.latent_dim, code.window_length) != expected:
        raise ValueError(f"the code holds {code.code.latent_dim} latent numbers for modalities {code.modalities} and "
                         f"windows of {code.window_length} samples; the run has {expected[1]}, {expected[0]} and "
                         f"{expected[2]}")
    latent, mean, std = code.code.decode()
    columns = {"subject": code.subjects, "start": code.starts,
               **dict(zip(run.latent_columns, latent.astype(np.float64).T))}
    for key, values in (("mean", mean), ("std", std)):
        columns.update({f"{key}_{m}": values[:, i] for i, m in enumerate(run.modalities)})
    return pd.DataFrame(columns)


def decompress(run: TrainedRun, code: CodeFile, physical: bool = True) -> np.ndarray:
    """Windows ``(N, M, T)`` decoded from ``code``: recording units, or the model's scale without ``physical``."""
    return run.decode(code_frame(run, code), physical=physical)


def reconstruct_code(run: TrainedRun, code: CodeFile, origin: str = "") -> list[RecordingReconstruction]:
    """Each subject's recording stitched from its decoded windows (tapered overlap-add), from its first
    sample to the end of its last window; the originals are not in a code (NaN)."""
    windows = decompress(run, code)
    reconstructions = []
    for subject in pd.unique(code.subjects):
        index = np.flatnonzero(code.subjects == subject)
        starts = window_starts_to_samples(code.starts[index], code.rate)
        length = int(starts.max()) + code.window_length
        stitched = stitch(windows[index], starts, length)
        reconstructions.append(RecordingReconstruction(str(subject), origin, run.modalities, code.rate,
                                                       np.full_like(stitched, np.nan), stitched, len(index)))
    return reconstructions
