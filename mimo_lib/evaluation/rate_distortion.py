"""Rate–distortion of MiMo-AE's coded latent beside PCA, wavelet and DCT codecs, all on the same windows.

Every codec codes the windows of a :class:`Target` and is scored in recording
units (:func:`mimo_lib.evaluation.codecs.rate.score_code`: CR in bits against
the recording's resolution, bits per second, QS, PRDN, SNR, r):

- ``mimo-ae``: the model's latent on ``bits`` bits per number plus each
  window's mean and standard deviation per modality as float16
  (:func:`~mimo_lib.evaluation.codecs.latent.encode_latent`), decoded by the model;
- ``mimo-ae-depths``: the same latent with a depth per dimension
  (:func:`ratio_depths`) filling the bits of a compression ratio;
- ``pca``: as many principal coordinates (:class:`~mimo_lib.evaluation.baselines.PCABaseline`
  fitted on the training windows), coded the same way;
- ``wavelet`` and ``dct``: each modality on its own
  (:class:`~mimo_lib.evaluation.codecs.transform.TransformCodec`) within a budget of
  bits per window split evenly over the modalities. A budget is tried at every
  coefficient depth in ``coefficient_bits`` and the depth with the lowest mean
  PRDN is kept; it is chosen on the scored windows, which favours these baselines.

Uniform latent quantisers are calibrated (``calibration``) on the coded latents
themselves (``"file"``: their range goes into the code, as ``mimo encode --bits``
does) or on the training windows' latents (``"train"``: values outside are clipped).

The coders (:func:`latent_coder`, :func:`pca_coder`, :func:`transform_coder`) put
normalised windows through a code and back, for reconstructing whole recordings
as a codec would deliver them (:meth:`mimo_lib.run.TrainedRun.reconstruct_each`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.baselines import PCABaseline
from mimo_lib.evaluation.codecs.latent import SIDE_BITS, LatentCode, encode_latent
from mimo_lib.evaluation.codecs.quantize import DEPTH_BITS, FLOAT_BITS, UNIFORM_BITS, UniformQuantizer, allocate_depths
from mimo_lib.evaluation.codecs.rate import score_code
from mimo_lib.evaluation.codecs.transform import TransformCodec, decode_modalities, encode_modalities
from mimo_lib.model.inference import as_windowset, decode_latent, decoder_sensitivity, latents, predict
from mimo_lib.model.mimo_ae import MiMoAE

Calibration = Literal["file", "train"]
Coder = Callable[[np.ndarray], np.ndarray]
CALIBRATIONS = ("file", "train")
COEFFICIENT_BITS = tuple(range(4, 11))
TRANSFORMS = ("wavelet", "dct")


@dataclass(frozen=True)
class Target:
    """The windows every codec codes (normalised, as the models take them) and their recordings' resolution."""

    windows: WindowSet
    sample_bits: Sequence[int]

    def __post_init__(self) -> None:
        if len(self.sample_bits) != len(self.windows.modalities):
            raise ValueError(f"{len(self.sample_bits)} sample resolutions for modalities {self.windows.modalities}")
        if self.windows.normalization["method"] == "none":
            raise ValueError("the windows carry no normalisation statistics, so their recording units are unknown")

    @cached_property
    def original(self) -> np.ndarray:
        """``(N, M, T)`` windows in recording units (float64)."""
        return self.windows.denormalize(self.windows.windows.astype(np.float64))

    @cached_property
    def scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Each window's normalisation mean and standard deviation, ``(N, M)`` each."""
        shape = (len(self.windows), len(self.windows.modalities))
        return tuple(np.broadcast_to(np.asarray(self.windows.normalization[key])[..., 0], shape)
                     for key in ("mean", "std"))

    @property
    def original_bits_per_window(self) -> int:
        return self.windows.window_length * int(sum(self.sample_bits))

    def score(self, reconstruction: np.ndarray, code_bits: float, modality_bits: Sequence[float] | None = None,
              **labels: object) -> list[dict[str, object]]:
        """Rows of :func:`~mimo_lib.evaluation.codecs.rate.score_code` for a reconstruction in recording units."""
        return score_code(self.original, reconstruction, code_bits, self.sample_bits, self.windows.rate,
                          self.windows.modalities, modality_bits, **labels)


def _quantizer(calibration: np.ndarray | None, bits: int) -> UniformQuantizer | None:
    return None if calibration is None or bits in FLOAT_BITS else UniformQuantizer.fit(calibration, bits)


def _decoded(code: LatentCode, decode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Windows in recording units: the code's latents through ``decode``, scaled back by the code's float16 scale."""
    latent, mean, std = code.decode()
    return decode(latent) * std[..., None] + mean[..., None]


def latent_rows(model: MiMoAE, target: Target, bits: Sequence[int], train: WindowSet | None = None) -> list[dict]:
    """``mimo-ae`` rows: the model's latent coded on each of ``bits``; quantisers fitted on ``train``'s latents when given."""
    latent = predict(model, target.windows)[1]
    calibration = predict(model, train)[1] if train is not None else None
    rows = []
    for depth in bits:
        code = encode_latent(latent, *target.scale, depth, _quantizer(calibration, depth))
        reconstruction = _decoded(code, lambda latent: decode_latent(model, latent))
        rows += target.score(reconstruction, code.n_bits, method="mimo-ae", latent=model.latent_dim, bits=depth,
                             budget=code.n_bits / len(code))
    return rows


def latent_weights(model: MiMoAE, latent: np.ndarray) -> np.ndarray:
    """Each latent dimension's share of the decoded error per quantiser level spacing: its range on ``latent``
    (the coded latents, as the quantiser takes it) squared times the decoder's sensitivity to it
    (:func:`~mimo_lib.model.inference.decoder_sensitivity`); for :func:`~mimo_lib.evaluation.codecs.quantize.allocate_depths`."""
    return np.ptp(np.asarray(latent, np.float64), axis=0) ** 2 * decoder_sensitivity(model, latent)


def depth_budget(window_bits: float, n_windows: int, latent_dim: int, n_modalities: int) -> int:
    """Latent bits per window that keep a code with a depth per dimension within ``window_bits`` per window: what
    is left after the quantiser's table (shared by ``n_windows``), the padding to whole bytes and each window's scale."""
    table = (64 + DEPTH_BITS) * latent_dim / n_windows
    return 8 * int((window_bits - table) // 8) - 2 * n_modalities * SIDE_BITS


def ratio_depths(weights: np.ndarray, window_bits: float, n_windows: int, n_modalities: int) -> np.ndarray | None:
    """A depth per latent dimension (one weight each, :func:`latent_weights`) with as many bits as keep a code of
    ``n_windows`` within ``window_bits`` per window (:func:`depth_budget`), at most 12 each; ``None`` when fewer
    than 2 bits each are left."""
    dim = len(weights)
    total = depth_budget(window_bits, n_windows, dim, n_modalities)
    if total < UNIFORM_BITS.start * dim:
        return None
    return allocate_depths(weights, min(total, (UNIFORM_BITS.stop - 1) * dim))


def depth_rows(model: MiMoAE, target: Target, ratios: Sequence[float]) -> list[dict]:
    """``mimo-ae-depths`` rows: the model's latent with a depth per dimension filling each ratio's bits."""
    latent = predict(model, target.windows)[1]
    weights = latent_weights(model, latent)
    rows = []
    for budget in ratio_budgets(target, ratios):
        depths = ratio_depths(weights, budget, len(latent), len(target.windows.modalities))
        if depths is None:
            continue
        code = encode_latent(latent, *target.scale, depths)
        reconstruction = _decoded(code, lambda latent: decode_latent(model, latent))
        rows += target.score(reconstruction, code.n_bits, method="mimo-ae-depths", latent=model.latent_dim,
                             bits=code.mean_bits, budget=budget)
    return rows


def pca_rows(train: WindowSet, target: Target, components: Sequence[int], bits: Sequence[int],
             calibration: Calibration = "file") -> list[dict]:
    """``pca`` rows: ``k`` principal coordinates of each window (fitted on ``train``) coded on each of ``bits``."""
    rows = []
    for k in components:
        pca = PCABaseline(k).fit(train.windows)
        codes = pca.encode(target.windows.windows)
        reference = pca.encode(train.windows) if calibration == "train" else None
        for depth in bits:
            code = encode_latent(codes, *target.scale, depth, _quantizer(reference, depth))
            reconstruction = _decoded(code, pca.decode)
            rows += target.score(reconstruction, code.n_bits, method="pca", latent=k, bits=depth,
                                 budget=code.n_bits / len(code))
    return rows


def transform_rows(target: Target, budgets: Sequence[float], transforms: Sequence[str] = TRANSFORMS,
                   coefficient_bits: Sequence[int] = COEFFICIENT_BITS, wavelet: str = "bior4.4") -> list[dict]:
    """Rows of each transform codec within each budget (bits per window), at its best coefficient depth."""
    rows = []
    modalities = len(target.windows.modalities)
    for transform in transforms:
        for budget in budgets:
            candidates = []
            for depth in coefficient_bits:
                codec = TransformCodec.within(transform, target.windows.window_length, budget / modalities, depth,
                                              wavelet)
                if codec is None:
                    continue
                records = encode_modalities([codec] * modalities, target.original)
                reconstruction = decode_modalities([codec] * modalities, records)
                sizes = [8 * part.size for part in records]
                candidates.append(target.score(reconstruction, sum(sizes), sizes, method=transform,
                                               bits=depth, keep=codec.keep, budget=budget))
            if candidates:
                rows += min(candidates, key=lambda scored: scored[-1]["prd"])
    return rows


def ratio_budgets(target: Target, ratios: Sequence[float]) -> list[float]:
    """Bits per window at each compression ratio."""
    return [target.original_bits_per_window / ratio for ratio in ratios]


def rate_distortion(
    model: MiMoAE, train: WindowSet, target: Target, bits: Sequence[int] = (4, 6, 8, 16, 32),
    ratios: Sequence[float] = (10, 20, 40), calibration: Calibration = "file",
    coefficient_bits: Sequence[int] = COEFFICIENT_BITS, wavelet: str = "bior4.4",
) -> pd.DataFrame:
    """One model's coded latent (at each of ``bits``, and with a depth per dimension at each of ``ratios``), PCA
    of its latent size at the same depths, and the transform codecs.

    The transform codecs are scored at each of ``ratios`` and at the bits per
    window of every ``mimo-ae`` code (equal bits). One row per codec setting and
    modality plus its ``mean`` row (see :func:`mimo_lib.evaluation.codecs.rate.score_code`).
    """
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {calibration!r}")
    rows = latent_rows(model, target, bits, train if calibration == "train" else None)
    rows += depth_rows(model, target, ratios)
    rows += pca_rows(train, target, [model.latent_dim], bits, calibration)
    budgets = ratio_budgets(target, ratios) + [row["budget"] for row in rows if row["method"] == "mimo-ae"
                                               and row["modality"] == "mean"]
    rows += transform_rows(target, sorted(set(budgets)), coefficient_bits=coefficient_bits, wavelet=wavelet)
    return pd.DataFrame(rows)


def _through_code(values: np.ndarray, bits: int) -> np.ndarray:
    """``(N, D)`` numbers as a latent code on ``bits`` bits gives them back (quantiser from their own range)."""
    unit_scale = np.zeros((len(values), 1)), np.ones((len(values), 1))
    return encode_latent(values, *unit_scale, bits).decode()[0]


def latent_coder(model: MiMoAE, bits: int) -> Coder:
    """Normalised ``(N, M, T)`` windows through the model's latent coded on ``bits`` bits (the quantiser from the
    coded latents' range, as ``mimo encode --bits`` codes a file) and the model's decoder."""
    def code(windows: np.ndarray) -> np.ndarray:
        latent = latents(model, as_windowset(windows, list(model.modalities)))[0]
        return decode_latent(model, _through_code(latent, bits))
    return code


def depth_coder(model: MiMoAE, total_bits: int) -> Coder:
    """Normalised windows through the model's latent with a depth per dimension spending ``total_bits`` per window
    (weights and ranges from the coded windows' own latents, as ``mimo encode --depth-per-dimension`` codes a file)."""
    def code(windows: np.ndarray) -> np.ndarray:
        latent = latents(model, as_windowset(windows, list(model.modalities)))[0]
        depths = allocate_depths(latent_weights(model, latent), total_bits)
        unit_scale = np.zeros((len(latent), 1)), np.ones((len(latent), 1))
        return decode_latent(model, encode_latent(latent, *unit_scale, depths).decode()[0])
    return code


def pca_coder(pca: PCABaseline, bits: int) -> Coder:
    """Normalised windows through ``pca``'s coordinates coded on ``bits`` bits."""
    return lambda windows: pca.decode(_through_code(pca.encode(windows), bits))


def transform_coder(codecs: Sequence[TransformCodec]) -> Coder:
    """Normalised windows through one transform codec per modality (each window's mean and coefficient scale are
    in its record, so coding normalised windows matches coding them in recording units up to float16 rounding)."""
    return lambda windows: decode_modalities(list(codecs), encode_modalities(list(codecs), np.asarray(windows)))
