"""Downstream use of the latent: predict a bedside-monitor numeric (HR, RESP, SpO2 …) per window.

The monitor numerics of BIDMC (``bidmc_NN_Numerics.csv``: ``Time [s], HR, PULSE,
RESP, SpO2`` at 1 Hz) are averaged over each window's time span
(:func:`window_numerics`). A ridge regression is fitted on training-subject
windows and scored on test subjects (:func:`compare_features`), once on the
model's latent vectors and once on PCA codes of the same size
(:func:`compare_latent_to_pca`; :func:`evaluate_downstream` on a run's own
splits): the latent is worth reusing when it predicts at least as well as PCA at
equal compression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mimo_lib.data.sources.numerics import window_numerics
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.baselines import PCABaseline
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import predict


def join_numeric(
    encoded: pd.DataFrame, numerics_frame: pd.DataFrame, window_seconds: float, column: str
) -> pd.DataFrame:
    """An :meth:`mimo_lib.run.TrainedRun.encode` table with ``column`` averaged over each window added."""
    values = window_numerics(numerics_frame, encoded["subject"], encoded["start"], window_seconds, column)
    return encoded.assign(**{column: values})


class Ridge:
    """Ridge regression on standardised features (statistics from the training data)."""

    def __init__(self, alpha: float = 1.0) -> None:
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha

    def fit(self, features: np.ndarray, target: np.ndarray) -> Ridge:
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(target, dtype=np.float64)
        self.mean_, std = x.mean(axis=0), x.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.intercept_ = y.mean()
        z = (x - self.mean_) / self.scale_
        gram = z.T @ z + self.alpha * np.eye(z.shape[1])
        self.coef_ = np.linalg.solve(gram, z.T @ (y - self.intercept_))
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=np.float64) - self.mean_) / self.scale_
        return z @ self.coef_ + self.intercept_


def _finite_rows(features: np.ndarray, target: np.ndarray, name: str, part: str) -> tuple[np.ndarray, np.ndarray, int]:
    features, target = np.asarray(features, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(target):
        raise ValueError(f"{name} {part} features must be (N, k) with N = {len(target)} targets; "
                         f"got shape {features.shape}")
    keep = np.isfinite(target) & np.isfinite(features).all(axis=1)
    return features[keep], target[keep], int((~keep).sum())


def compare_features(
    train_features: dict[str, np.ndarray],
    train_y: np.ndarray,
    test_features: dict[str, np.ndarray],
    test_y: np.ndarray,
    alpha: float = 1.0,
) -> pd.DataFrame:
    """Fit a ridge per feature set on train, score on test: one row per set with MAE and Pearson r.

    Windows with a missing target or feature are left out and counted (``n_dropped``).
    """
    rows = []
    for name, train_x in train_features.items():
        if name not in test_features:
            raise ValueError(f"feature set {name!r} has training but no test features")
        x_fit, y_fit, dropped_fit = _finite_rows(train_x, train_y, name, "train")
        x_test, y_test, dropped_test = _finite_rows(test_features[name], test_y, name, "test")
        if len(y_fit) < 2 or len(y_test) < 2:
            raise ValueError(f"feature set {name!r}: {len(y_fit)} train and {len(y_test)} test windows with a "
                             "finite target; need at least 2 of each")
        predicted = Ridge(alpha).fit(x_fit, y_fit).predict(x_test)
        rows.append({
            "features": name, "n_features": x_fit.shape[1], "n_train": len(y_fit), "n_test": len(y_test),
            "n_dropped": dropped_fit + dropped_test, "mae": float(np.abs(predicted - y_test).mean()),
            "r": float(np.corrcoef(predicted, y_test)[0, 1]) if predicted.std() > 0 else np.nan,
        })
    return pd.DataFrame(rows).set_index("features")


def compare_latent_to_pca(
    train_latent: np.ndarray,
    test_latent: np.ndarray,
    train: WindowSet,
    test: WindowSet,
    numerics_frame: pd.DataFrame,
    column: str,
    alpha: float = 1.0,
) -> pd.DataFrame:
    """Predict ``column`` from the latent of each window vs from PCA codes of the same size (fitted on train)."""
    k = train_latent.shape[1]
    pca = PCABaseline(min(k, len(train), train.windows[0].size)).fit(train.windows)
    window_seconds = train.window_length / train.rate
    train_y = window_numerics(numerics_frame, train.subjects, train.starts, window_seconds, column)
    test_y = window_numerics(numerics_frame, test.subjects, test.starts, window_seconds, column)
    return compare_features(
        {"mimo-ae": train_latent, f"pca-{pca.n_components}": pca.encode(train.windows)}, train_y,
        {"mimo-ae": test_latent, f"pca-{pca.n_components}": pca.encode(test.windows)}, test_y, alpha,
    )


def evaluate_downstream(
    model: MiMoAE, train: WindowSet, test: WindowSet, numerics_frame: pd.DataFrame, column: str, alpha: float = 1.0
) -> pd.DataFrame:
    """:func:`compare_latent_to_pca` with the latents of ``model`` on ``train`` and ``test``."""
    latents = [predict(model, windows)[1] for windows in (train, test)]
    return compare_latent_to_pca(*latents, train, test, numerics_frame, column, alpha)
