"""Linear maps at one lag, fitted by least squares: ``target(t) ≈ b + Σ_k a_k · source_k(t - lag)``.

Two uses: the calibration-stretch-only baseline (the present signals mapped
to the missing one), and the per-subject correction of an uncalibrated
imputation (its sign, gain, offset and delay). The lag with the highest
correlation of fit wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LagMap:
    """``target(t) ≈ intercept + coefficients · sources(t - lag)``; ``lag`` in samples, ``r`` of the fit."""

    lag: int
    coefficients: np.ndarray
    intercept: float
    r: float

    def apply(self, sources: np.ndarray) -> np.ndarray:
        """The mapped signal for ``(K, n)`` sources; the ``|lag|`` samples with no source sample are NaN."""
        sources = _as_rows(sources)
        if len(sources) != len(self.coefficients):
            raise ValueError(f"the map was fitted on {len(self.coefficients)} sources, got {len(sources)}")
        mapped = self.intercept + self.coefficients @ sources
        return _shift(mapped, self.lag)


def _as_rows(sources: np.ndarray) -> np.ndarray:
    sources = np.asarray(sources, dtype=np.float64)
    return sources[None] if sources.ndim == 1 else sources


def _shift(signal: np.ndarray, lag: int) -> np.ndarray:
    """``signal`` delayed by ``lag`` samples (advanced when negative), NaN where nothing moved in."""
    shifted = np.full_like(signal, np.nan)
    if lag >= 0:
        shifted[lag:] = signal[: len(signal) - lag]
    else:
        shifted[:lag] = signal[-lag:]
    return shifted


def fit_lag_map(sources: np.ndarray, target: np.ndarray, max_lag: int, min_samples: int = 10) -> LagMap:
    """The least-squares map of ``(K, n)`` (or ``(n,)``) ``sources`` onto ``target`` at the best lag in ±``max_lag``.

    Samples where the target or a shifted source is not finite are left out of
    each fit; a lag with fewer than ``min_samples`` usable samples is skipped.
    """
    sources, target = _as_rows(sources), np.asarray(target, dtype=np.float64)
    if sources.shape[1] != len(target):
        raise ValueError(f"sources have {sources.shape[1]} samples, the target {len(target)}")
    if not 0 <= max_lag < len(target):
        raise ValueError(f"max_lag must lie in [0, {len(target)}), got {max_lag}")
    best = None
    for lag in range(-max_lag, max_lag + 1):
        shifted = np.stack([_shift(row, lag) for row in sources])
        usable = np.isfinite(target) & np.isfinite(shifted).all(axis=0)
        if usable.sum() < max(min_samples, len(sources) + 2):
            continue
        design = np.column_stack([shifted[:, usable].T, np.ones(usable.sum())])
        solution, *_ = np.linalg.lstsq(design, target[usable], rcond=None)
        fitted = design @ solution
        spread = np.std(fitted) * np.std(target[usable])
        r = float(np.corrcoef(fitted, target[usable])[0, 1]) if spread > 0 else 0.0
        if best is None or r > best.r:
            best = LagMap(lag, solution[:-1], float(solution[-1]), r)
    if best is None:
        raise ValueError(f"no lag in ±{max_lag} leaves {min_samples} samples where target and sources are finite")
    return best
