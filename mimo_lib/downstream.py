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

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mimo_lib.baseline import PCABaseline
from mimo_lib.config import Params
from mimo_lib.evaluate import predict
from mimo_lib.types import WindowSet

if TYPE_CHECKING:
    from mimo_lib.run import TrainedRun

TIME_COLUMN = "Time [s]"
NUMERICS_PATTERN = re.compile(r"bidmc_(?P<subject>\d+)_Numerics")


def read_numerics(path: str | Path, subject: str, time_column: str = TIME_COLUMN) -> pd.DataFrame:
    """One monitor-numerics CSV as ``subject, time, <numeric columns>`` (header spaces stripped)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"numerics file not found: {path}")
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    if time_column not in frame.columns:
        raise ValueError(f"{path}: no time column {time_column!r}; the file has columns {list(frame.columns)}")
    frame = frame.rename(columns={time_column: "time"}).apply(pd.to_numeric, errors="coerce")
    frame.insert(0, "subject", subject)
    return frame


def read_numerics_folder(
    folder: str | Path,
    subjects: list[str] | None = None,
    file_glob: str = "*.csv",
    subject_pattern: str = r"(?P<subject>.+)",
    time_column: str = "time",
) -> pd.DataFrame:
    """Per-subject numerics files of ``folder`` (all, or these subject ids) in one frame.

    The subject id is the regex group ``subject`` of ``subject_pattern`` on each file stem.
    """
    folder = Path(folder)
    pattern = re.compile(subject_pattern)
    files = {m.group("subject"): p for p in sorted(folder.glob(file_glob)) if (m := pattern.fullmatch(p.stem))}
    wanted = list(files) if subjects is None else list(subjects)
    absent = [s for s in wanted if s not in files]
    if absent or not wanted:
        raise FileNotFoundError(f"no numerics file matching {file_glob} in {folder} for subject(s) {absent or wanted}")
    return pd.concat([read_numerics(files[s], s, time_column) for s in wanted], ignore_index=True)


def read_bidmc_numerics(folder: str | Path, subjects: list[str] | None = None) -> pd.DataFrame:
    """The ``bidmc_NN_Numerics.csv`` files of ``folder`` (all, or these subject ids) in one frame."""
    return read_numerics_folder(folder, subjects, "bidmc_*_Numerics.csv", NUMERICS_PATTERN.pattern, TIME_COLUMN)


def cohort_numerics(params: Params) -> pd.DataFrame | None:
    """The monitor numerics that come with the params' recordings, or None when there are none.

    The synthetic cohort writes them to ``<data.root>/numerics/``; a CSV folder in the
    PhysioNet convention (``*_Signals.csv`` files, as BIDMC) has them in the
    matching ``*_Numerics.csv`` files, on the same time column.
    """
    data = params.data
    root = params.resolve_path(data.root)
    subjects = [s for names in data.splits.values() for s in names]
    if data.source == "synthetic":
        return read_numerics_folder(root / "numerics", subjects)
    if data.source == "csv" and "Signals" in data.file_glob:
        glob = data.file_glob.replace("Signals", "Numerics")
        if any(root.glob(glob)):
            return read_numerics_folder(root, subjects, glob, data.subject_pattern.replace("Signals", "Numerics"),
                                        data.time_column or TIME_COLUMN)
    return None


def window_numerics(
    numerics_frame: pd.DataFrame, subjects: np.ndarray, starts: np.ndarray, window_seconds: float, column: str
) -> np.ndarray:
    """Mean of ``column`` over ``[start, start + window_seconds)`` of each window's subject; NaN where none.

    ``numerics_frame`` has ``subject``, ``time`` (seconds) and ``column``; missing
    values in ``column`` are skipped.
    """
    for name in ("subject", "time", column):
        if name not in numerics_frame.columns:
            raise ValueError(f"numerics frame has no column {name!r}; it has {list(numerics_frame.columns)}")
    subjects = np.asarray(subjects).astype(str)
    starts = np.asarray(starts, dtype=float)
    result = np.full(len(starts), np.nan)
    groups = {str(s): g.sort_values("time") for s, g in numerics_frame.groupby("subject")}
    for subject in np.unique(subjects):
        rows = np.flatnonzero(subjects == subject)
        if subject not in groups:
            continue
        time = groups[subject]["time"].to_numpy(float)
        values = groups[subject][column].to_numpy(float)
        finite = np.isfinite(values)
        sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
        counts = np.concatenate([[0], np.cumsum(finite)])
        low = np.searchsorted(time, starts[rows], side="left")
        high = np.searchsorted(time, starts[rows] + window_seconds, side="left")
        n = counts[high] - counts[low]
        with np.errstate(invalid="ignore", divide="ignore"):
            result[rows] = np.where(n > 0, (sums[high] - sums[low]) / n, np.nan)
    return result


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
    run: TrainedRun, numerics_frame: pd.DataFrame, column: str, test_split: str = "test", alpha: float = 1.0
) -> pd.DataFrame:
    """:func:`compare_latent_to_pca` on a run's own train split and ``test_split``."""
    train, test = run.split("train"), run.split(test_split)
    latents = [predict(run.model, windows)[1] for windows in (train, test)]
    return compare_latent_to_pca(*latents, train, test, numerics_frame, column, alpha)
