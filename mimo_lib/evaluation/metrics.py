"""Per-window reconstruction quality metrics.

All metrics compare a target window ``x`` with its reconstruction ``x̂`` per
window and per modality, on the normalised (z-scored) scale the model works on.
With ``e = x - x̂`` and ``x̄`` the mean of the target window:

- ``mse``  = mean(e²);  ``mae`` = mean(|e|)
- ``pearson`` = Pearson correlation of ``x`` and ``x̂``
- ``snr_db`` = 10 log10(Σ(x - x̄)² / Σe²)
- ``prd``  = 100 sqrt(Σe² / Σ(x - x̄)²): the percent root-mean-square difference with the
  window mean removed, called PRDN in the compression literature (the key stays ``prd``;
  tables and figures say PRDN)
- ``psd_corr`` = Pearson correlation of the Welch power spectral densities of ``x`` and ``x̂``

For z-scored windows ``x̄ = 0``, so the energies are Σx² and a reconstruction of
all zeros scores PRDN 100 % and SNR 0 dB.

Edge cases, handled the same way everywhere:

- A perfect reconstruction (Σe² = 0) has infinite SNR; ``snr_db`` is capped at
  :data:`SNR_CAP_DB` so tables and means stay finite. Its PRDN is 0.
- A constant target window has no signal energy: ``snr_db`` and ``prd`` are NaN.
- Pearson (time or spectrum) is NaN when either side is constant.
Summaries over windows should use NaN-aware means (pandas does by default).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

from mimo_lib.data.coupling import pearson_r

METRICS = ("mse", "mae", "pearson", "snr_db", "prd", "psd_corr")
SNR_CAP_DB = 100.0
# Higher is better for these metrics; lower is better for the rest.
HIGHER_IS_BETTER = {"pearson": True, "snr_db": True, "psd_corr": True, "mse": False, "mae": False, "prd": False}


def reconstruction_metrics(
    target: np.ndarray, reconstruction: np.ndarray, nperseg: int | None = None
) -> dict[str, np.ndarray]:
    """Metrics per window and modality for ``(N, M, T)`` arrays; each value is ``(N, M)``.

    ``nperseg`` is the Welch segment length for ``psd_corr`` (default ``min(T, 256)``).
    """
    target = np.asarray(target, dtype=np.float64)
    reconstruction = np.asarray(reconstruction, dtype=np.float64)
    if target.shape != reconstruction.shape or target.ndim != 3:
        raise ValueError(
            f"target and reconstruction must both be (N, M, T); got {target.shape} and {reconstruction.shape}"
        )
    error = target - reconstruction
    error_energy = (error**2).sum(axis=-1)
    centred = target - target.mean(axis=-1, keepdims=True)
    signal_energy = (centred**2).sum(axis=-1)
    has_signal = signal_energy > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = 10.0 * np.log10(signal_energy / error_energy)
        prd = 100.0 * np.sqrt(error_energy / signal_energy)
    snr = np.where(has_signal, np.minimum(snr, SNR_CAP_DB), np.nan)
    prd = np.where(has_signal, prd, np.nan)
    length = target.shape[-1]
    _, psd_target = welch(target, nperseg=nperseg or min(length, 256), axis=-1)
    _, psd_recon = welch(reconstruction, nperseg=nperseg or min(length, 256), axis=-1)
    return {
        "mse": (error**2).mean(axis=-1),
        "mae": np.abs(error).mean(axis=-1),
        "pearson": pearson_r(target, reconstruction),
        "snr_db": snr,
        "prd": prd,
        "psd_corr": pearson_r(psd_target, psd_recon),
    }
