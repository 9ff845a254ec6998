"""PCA baseline: linear compression of whole multimodal windows to ``k`` numbers.

Each window ``(M, T)`` is flattened to one vector of ``D = M*T`` values; the
principal axes are fitted on training windows only (scikit-learn style: ``fit``
on train, ``encode``/``reconstruct`` anywhere). An autoencoder with latent size
``k`` should beat this baseline at ``n_components = k``.

The fit holds at most about ``D x D`` numbers whatever the number ``N`` of
windows: with ``N <= D`` it takes a thin SVD of the centred windows, with more
windows the eigenvectors of their ``D x D`` scatter matrix, accumulated a chunk of
windows at a time (read with :mod:`mimo_lib.data.rows`, so a memory-mapped
training split is never held whole). Both give the same axes up to rounding.
Encoding and reconstruction also run a chunk at a time.
"""

from __future__ import annotations

import numpy as np

from mimo_lib.data.rows import row_chunks


class PCABaseline:
    """Principal component analysis of flattened windows (thin SVD or scatter matrix, whichever is smaller)."""

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
        if windows.ndim != 3:
            raise ValueError(f"windows must be (N, M, T), got shape {windows.shape}")
        n, m, t = windows.shape
        d = m * t
        if self.n_components > min(n, d):
            raise ValueError(
                f"n_components={self.n_components} exceeds min(n_windows, M*T) = min({n}, {d}); "
                "use fewer components or more training windows"
            )
        mean = np.zeros(d)
        for chunk in row_chunks(windows):
            mean += chunk.reshape(len(chunk), d).sum(axis=0, dtype=np.float64)
        mean /= n
        if n <= d:
            centred = np.concatenate([chunk.reshape(len(chunk), d) - mean for chunk in row_chunks(windows)])
            _, singular, axes = np.linalg.svd(centred, full_matrices=False)
            variance = singular**2
        else:
            scatter = np.zeros((d, d))
            for chunk in row_chunks(windows):
                centred = chunk.reshape(len(chunk), d) - mean
                scatter += centred.T @ centred
            variance, vectors = np.linalg.eigh(scatter)
            variance, axes = variance[::-1], vectors[:, ::-1].T
        total = variance.sum()
        self.mean_ = mean
        self.components_ = axes[: self.n_components]
        self.explained_variance_ratio_ = variance[: self.n_components] / total if total > 0 else variance[:0]
        self.shape_ = (m, t)
        return self

    def _check(self, windows: np.ndarray) -> None:
        if self.components_ is None or self.shape_ is None or self.mean_ is None:
            raise RuntimeError("PCABaseline is not fitted; call fit(train_windows) first")
        if windows.ndim != 3 or windows.shape[1:] != self.shape_:
            raise ValueError(f"windows must be (N, {self.shape_[0]}, {self.shape_[1]}), got shape {windows.shape}")

    def _encode_chunk(self, chunk: np.ndarray) -> np.ndarray:
        return (chunk.reshape(len(chunk), -1).astype(np.float64) - self.mean_) @ self.components_.T

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """Coordinates ``(N, n_components)`` of windows on the principal axes."""
        self._check(windows)
        codes = [self._encode_chunk(chunk) for chunk in row_chunks(windows)]
        return np.concatenate(codes) if codes else np.empty((0, self.n_components))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Windows ``(N, M, T)`` (float32) from principal coordinates."""
        if self.components_ is None or self.shape_ is None:
            raise RuntimeError("PCABaseline is not fitted; call fit(train_windows) first")
        flat = np.asarray(codes, dtype=np.float64) @ self.components_ + self.mean_
        return flat.reshape(len(flat), *self.shape_).astype(np.float32)

    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        """Project windows on the principal subspace and back."""
        self._check(windows)
        parts = [self.decode(self._encode_chunk(chunk)) for chunk in row_chunks(windows)]
        return np.concatenate(parts) if parts else np.empty((0, *self.shape_), dtype=np.float32)


def fit_pca(windows: np.ndarray, n_components: int) -> PCABaseline:
    """PCA with ``n_components``, or as many as ``(N, M, T)`` windows allow (``min(N, M*T)``), fitted on them."""
    n, m, t = windows.shape
    return PCABaseline(min(n_components, n, m * t)).fit(windows)
