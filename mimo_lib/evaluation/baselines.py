"""PCA baseline: linear compression of whole multimodal windows to ``k`` numbers.

Each window ``(M, T)`` is flattened to one vector of ``M*T`` values; the
principal axes are fitted on training windows only (scikit-learn style: ``fit``
on train, ``encode``/``reconstruct`` anywhere). An autoencoder with latent size
``k`` should beat this baseline at ``n_components = k``.
"""

from __future__ import annotations

import numpy as np


class PCABaseline:
    """Principal component analysis of flattened windows via a thin SVD."""

    def __init__(self, n_components: int) -> None:
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components = n_components
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.explained_variance_ratio_: np.ndarray | None = None
        self.shape_: tuple[int, int] | None = None

    def fit(self, windows: np.ndarray) -> PCABaseline:
        """Fit the mean and the first ``n_components`` principal axes of ``(N, M, T)`` windows."""
        windows = np.asarray(windows)
        if windows.ndim != 3:
            raise ValueError(f"windows must be (N, M, T), got shape {windows.shape}")
        n, m, t = windows.shape
        if self.n_components > min(n, m * t):
            raise ValueError(
                f"n_components={self.n_components} exceeds min(n_windows, M*T) = min({n}, {m * t}); "
                "use fewer components or more training windows"
            )
        flat = windows.reshape(n, m * t).astype(np.float64)
        self.mean_ = flat.mean(axis=0)
        _, singular, vt = np.linalg.svd(flat - self.mean_, full_matrices=False)
        variance = singular**2
        total = variance.sum()
        self.components_ = vt[: self.n_components]
        self.explained_variance_ratio_ = variance[: self.n_components] / total if total > 0 else variance[:0]
        self.shape_ = (m, t)
        return self

    def _check(self, windows: np.ndarray) -> np.ndarray:
        if self.components_ is None or self.shape_ is None or self.mean_ is None:
            raise RuntimeError("PCABaseline is not fitted; call fit(train_windows) first")
        windows = np.asarray(windows)
        if windows.ndim != 3 or windows.shape[1:] != self.shape_:
            raise ValueError(f"windows must be (N, {self.shape_[0]}, {self.shape_[1]}), got shape {windows.shape}")
        return windows.reshape(len(windows), -1).astype(np.float64) - self.mean_

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """Coordinates ``(N, n_components)`` of windows on the principal axes."""
        return self._check(windows) @ self.components_.T

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Windows ``(N, M, T)`` (float32) from principal coordinates."""
        if self.components_ is None or self.shape_ is None:
            raise RuntimeError("PCABaseline is not fitted; call fit(train_windows) first")
        flat = np.asarray(codes, dtype=np.float64) @ self.components_ + self.mean_
        return flat.reshape(len(flat), *self.shape_).astype(np.float32)

    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        """Project windows on the principal subspace and back."""
        return self.decode(self.encode(windows))
