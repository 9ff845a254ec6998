"""Does the latent carry the physiology? Linear probes from per-window features to bedside-monitor numerics.

The monitor numerics (BIDMC's ``bidmc_NN_Numerics.csv``: ``HR, PULSE, RESP,
SpO2`` at 1 Hz) are averaged over each window's span
(:func:`~mimo_lib.data.sources.numerics.window_numerics`). A ridge probe
(scikit-learn ``RidgeCV`` on standardised features, its penalty chosen by
cross-validation with folds grouped by subject) is fitted on the training
subjects' windows and scored on the test subjects (MAE in the numeric's units,
Pearson r). Features compared in the same run (:func:`compare_probes`): the
model's latent vectors, PCA codes of the same size fitted on the training
windows, and NeuroKit2 rates detected in each raw window (:func:`window_rates`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from mimo_lib.data.sources.numerics import window_numerics
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.baselines import fit_pca
from mimo_lib.evaluation.fidelity import DETECTORS
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import predict

ALPHAS = np.logspace(-3, 5, 17)
MAX_FOLDS = 5
RATE_FEATURES = {"ecg": "heart_rate", "ppg": "pulse_rate", "resp": "breathing_rate"}


def join_numeric(
    encoded: pd.DataFrame, numerics_frame: pd.DataFrame, window_seconds: float, column: str
) -> pd.DataFrame:
    """An :meth:`mimo_lib.run.TrainedRun.encode` table with ``column`` averaged over each window added."""
    values = window_numerics(numerics_frame, encoded["subject"], encoded["start"], window_seconds, column)
    return encoded.assign(**{column: values})


def fit_probe(features: np.ndarray, target: np.ndarray, groups: np.ndarray) -> Pipeline:
    """Standardise, then ``RidgeCV`` over :data:`ALPHAS` with folds grouped by subject (``groups``).

    NaN features are replaced by the training median first. With a single group
    the penalty is chosen by leave-one-out instead.
    """
    n_groups = len(np.unique(groups))
    folds = list(GroupKFold(min(MAX_FOLDS, n_groups)).split(features, target, groups)) if n_groups > 1 else None
    probe = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                          RidgeCV(alphas=ALPHAS, cv=folds))
    return probe.fit(features, target)


def _rows_with_target(features: np.ndarray, target: np.ndarray, name: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    features, target = np.asarray(features, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(target):
        raise ValueError(f"{name} {part} features must be (N, k) with N = {len(target)} targets; got shape {features.shape}")
    return features, np.isfinite(target)


def compare_features(
    train_features: Mapping[str, np.ndarray],
    train_y: np.ndarray,
    train_groups: np.ndarray,
    test_features: Mapping[str, np.ndarray],
    test_y: np.ndarray,
) -> pd.DataFrame:
    """Fit a probe per feature set on train, score on test: one row per set with MAE, Pearson r and the penalty.

    Windows without a target are left out and counted (``n_dropped``); NaN
    features are counted (``n_imputed``) and replaced by the training median.
    """
    rows = []
    for name, train_x in train_features.items():
        if name not in test_features:
            raise ValueError(f"feature set {name!r} has training but no test features")
        x_fit, fit_rows = _rows_with_target(train_x, train_y, name, "train")
        x_test, test_rows = _rows_with_target(test_features[name], test_y, name, "test")
        if fit_rows.sum() < 2 or test_rows.sum() < 2:
            raise ValueError(f"feature set {name!r}: {fit_rows.sum()} train and {test_rows.sum()} test windows with a "
                             "finite target; need at least 2 of each")
        probe = fit_probe(x_fit[fit_rows], np.asarray(train_y)[fit_rows], np.asarray(train_groups)[fit_rows])
        predicted, truth = probe.predict(x_test[test_rows]), np.asarray(test_y, dtype=float)[test_rows]
        rows.append({
            "features": name, "n_features": x_fit.shape[1], "n_train": int(fit_rows.sum()),
            "n_test": int(test_rows.sum()), "n_dropped": int((~fit_rows).sum() + (~test_rows).sum()),
            "n_imputed": int(np.isnan(x_fit[fit_rows]).any(axis=1).sum() + np.isnan(x_test[test_rows]).any(axis=1).sum()),
            "alpha": float(probe[-1].alpha_), "mae": float(np.abs(predicted - truth).mean()),
            "r": float(np.corrcoef(predicted, truth)[0, 1]) if predicted.std() > 0 else np.nan,
        })
    return pd.DataFrame(rows).set_index("features")


def window_rates(windows: WindowSet, kinds: Mapping[str, str]) -> np.ndarray:
    """``(N, k)`` rates (events/min) detected by NeuroKit2 in each window, one column per ECG, PPG or RESP modality.

    A window with fewer than two events of a kind, or where detection fails, gets NaN
    there (the probes count and impute those; the detectors' warnings are not repeated per window).
    """
    columns = [(index, kinds[name]) for index, name in enumerate(windows.modalities) if kinds.get(name) in DETECTORS]
    if not columns:
        raise ValueError(f"no modality of kind {sorted(DETECTORS)} among {windows.modalities} (kinds {dict(kinds)})")
    seconds = windows.window_length / windows.rate
    rates = np.full((len(windows), len(columns)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for row, window in enumerate(windows.windows):
            for column, (index, kind) in enumerate(columns):
                events = DETECTORS[kind](window[index].astype(np.float64), windows.rate, min_seconds=seconds)
                if len(events) >= 2:
                    rates[row, column] = 60.0 * windows.rate * (len(events) - 1) / (events[-1] - events[0])
    return rates


def compare_probes(
    train_latent: np.ndarray,
    test_latent: np.ndarray,
    train: WindowSet,
    test: WindowSet,
    numerics_frame: pd.DataFrame,
    column: str,
    kinds: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Predict ``column`` from the latent, from PCA codes of the same size (fitted on train) and, with
    ``kinds``, from NeuroKit2 rates of the raw windows."""
    pca = fit_pca(train.windows, train_latent.shape[1])
    window_seconds = train.window_length / train.rate
    train_y = window_numerics(numerics_frame, train.subjects, train.starts, window_seconds, column)
    test_y = window_numerics(numerics_frame, test.subjects, test.starts, window_seconds, column)
    train_features = {"mimo-ae": train_latent, f"pca-{pca.n_components}": pca.encode(train.windows)}
    test_features = {"mimo-ae": test_latent, f"pca-{pca.n_components}": pca.encode(test.windows)}
    if kinds is not None:
        train_features["neurokit2 rates"], test_features["neurokit2 rates"] = (window_rates(ws, kinds) for ws in (train, test))
    return compare_features(train_features, train_y, np.asarray(train.subjects), test_features, test_y)


def evaluate_downstream(
    model: MiMoAE, train: WindowSet, test: WindowSet, numerics_frame: pd.DataFrame, column: str,
    kinds: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """:func:`compare_probes` with the latents of ``model`` on ``train`` and ``test``."""
    latents = [predict(model, windows)[1] for windows in (train, test)]
    return compare_probes(*latents, train, test, numerics_frame, column, kinds)
