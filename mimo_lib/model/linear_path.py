"""A linear encoder/decoder pair beside the networks, started at PCA of the training windows.

With ``model.linear_path: true`` the latent is ``P x + f(x)`` and the reconstruction
``P^T z + mean + g(z)``: ``P`` holds the first ``latent_dim`` principal axes of the
flattened training windows and the networks ``f`` and ``g`` start silent, so training
starts from the PCA baseline of the same size and learns what PCA misses.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mimo_lib.baseline import PCABaseline


class LinearPath(nn.Module):
    """Linear maps ``[B, M, T] -> [B, k]`` and ``[B, k] -> [B, M, T]``."""

    def __init__(self, n_modalities: int, window_length: int, latent_dim: int) -> None:
        super().__init__()
        self.shape = (n_modalities, window_length)
        self.encoder = nn.Linear(n_modalities * window_length, latent_dim)
        self.decoder = nn.Linear(latent_dim, n_modalities * window_length)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.flatten(1))

    def decode(self, latent: Tensor) -> Tensor:
        return self.decoder(latent).view(latent.shape[0], *self.shape)

    @torch.no_grad()
    def fit_pca(self, windows: np.ndarray) -> None:
        """Set both maps to PCA with ``latent_dim`` components fitted on ``windows`` ``(N, M, T)``."""
        if tuple(windows.shape[1:]) != self.shape:
            raise ValueError(f"windows must be (N, {self.shape[0]}, {self.shape[1]}), got {tuple(windows.shape)}")
        pca = PCABaseline(self.encoder.out_features).fit(windows)
        components = torch.as_tensor(pca.components_, dtype=self.encoder.weight.dtype)
        mean = torch.as_tensor(pca.mean_, dtype=self.encoder.weight.dtype)
        device = self.encoder.weight.device
        self.encoder.weight.copy_(components.to(device))
        self.encoder.bias.copy_((-components @ mean).to(device))
        self.decoder.weight.copy_(components.T.to(device))
        self.decoder.bias.copy_(mean.to(device))
