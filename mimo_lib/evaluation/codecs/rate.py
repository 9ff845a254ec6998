"""A code's size against the recording's own: compression ratio, bit rate, quality score, beside PRDN and SNR.

- original bits: every sample of the coded windows at the recording's resolution
  (``sample_bits`` per modality, e.g. a WFDB header's ADC resolution);
- compression ratio CR = original bits / code bits, with the code's exact size;
  per modality (``cr``) for codes that code each modality on its own, and in
  total (``cr_total`` on every row; ``cr`` of the ``mean`` row);
- bits per second = code bits / seconds of signal coded (windows × window duration);
- PRDN (metric key ``prd``), SNR and Pearson r per window in recording units
  (:func:`mimo_lib.evaluation.metrics.reconstruction_metrics`: the window's mean
  removed), averaged over windows;
- quality score QS = CR / PRDN; the ``mean`` row divides the total CR by the
  mean PRDN over modalities.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from mimo_lib.evaluation.metrics import reconstruction_metrics

SCORED = ("prd", "snr_db", "pearson")


def original_bits(windows: np.ndarray, sample_bits: Sequence[int]) -> np.ndarray:
    """Bits per modality of ``(N, M, T)`` windows stored at ``sample_bits`` per sample."""
    n, m, t = windows.shape
    if len(sample_bits) != m:
        raise ValueError(f"{len(sample_bits)} sample resolutions for {m} modalities")
    return n * t * np.asarray(sample_bits, dtype=np.float64)


def score_code(
    original: np.ndarray, reconstruction: np.ndarray, code_bits: float, sample_bits: Sequence[int], rate: float,
    modalities: Sequence[str], modality_bits: Sequence[float] | None = None, **labels: object,
) -> list[dict[str, object]]:
    """One row per modality and a ``mean`` row: bits per window and second, CR, QS, PRDN, SNR and r.

    ``original`` and ``reconstruction`` are ``(N, M, T)`` windows at ``rate`` Hz in
    recording units. ``code_bits`` is the whole code's size; ``modality_bits`` its
    share per modality when each modality has its own code (else per-modality CR is NaN).
    """
    n, m, t = original.shape
    metrics = reconstruction_metrics(original, reconstruction)
    with warnings.catch_warnings():  # a codec that keeps nothing of a modality leaves every window's r undefined
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = {key: np.nanmean(metrics[key], axis=0) for key in SCORED}
    raw = original_bits(original, sample_bits)
    per_modality = np.asarray(modality_bits, np.float64) if modality_bits is not None else np.full(m, np.nan)
    seconds = n * t / rate
    total = raw.sum() / code_bits
    rows = []
    for i in range(m):
        cr = raw[i] / per_modality[i]
        rows.append({**labels, "modality": modalities[i], "bits_per_window": per_modality[i] / n,
                     "bits_per_second": per_modality[i] / seconds, "cr": cr, "cr_total": total,
                     "qs": cr / scores["prd"][i], **{key: float(scores[key][i]) for key in SCORED}})
    mean = {key: float(np.mean(scores[key])) for key in SCORED}
    rows.append({**labels, "modality": "mean", "bits_per_window": code_bits / n, "bits_per_second": code_bits / seconds,
                 "cr": total, "cr_total": total, "qs": total / mean["prd"], **mean})
    return rows
