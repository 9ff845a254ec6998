"""Signal steps on 1-D arrays: modality kinds, filter bands, band-pass and resampling.

Every function takes the signal first and its ``sampling_rate`` in Hz, as in
NeuroKit. Filters are zero-phase Butterworth in second-order sections
(:func:`scipy.signal.sosfiltfilt`); resampling is polyphase
(:func:`scipy.signal.resample_poly`) with the exact rational ratio of the rates.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from mimo_lib.config import Band, Params

# Pass bands (Hz) by modality kind. A low edge of 0 means low-pass only. PPG and
# ABP keep frequencies down to 0.1 Hz so respiratory baseline modulation survives.
DEFAULT_BANDS: dict[str, Band] = {
    "ecg": (0.5, 40.0),
    "ppg": (0.1, 8.0),
    "resp": (0.05, 1.0),
    "abp": (0.1, 15.0),
    "eda": (0.0, 1.0),
    "other": (0.0, math.inf),
}

# Highest band edge allowed, as a fraction of the target Nyquist frequency.
NYQUIST_MARGIN = 0.9

# Largest denominator accepted when turning a rate ratio into up/down factors:
# 10 000 represents every ratio of rates given to 0.01 Hz exactly (62.47 / 50 = 6247 / 5000).
MAX_DENOMINATOR = 10_000

_KIND_PATTERNS = (
    ("ecg", re.compile(r"^(ECG|EKG).*|^(I{1,3}|AV[RLF]|V[1-6]?|MCL[1-6]?|MLI{1,3})$")),
    ("ppg", re.compile(r"^(PPG|PLETH|BVP).*")),
    ("resp", re.compile(r"^(RESP|RSP|RESPIRATION|BREATH).*")),
    ("abp", re.compile(r"^(ABP|ART|BP|IBP|SBP|AOBP|PAP|CVP).*")),
    ("eda", re.compile(r"^(EDA|GSR|SCR|SCL).*")),
)


def guess_kind(name: str) -> str:
    """The modality kind suggested by a column name (``"II"`` -> ``"ecg"``, ``"PLETH"`` -> ``"ppg"``)."""
    token = re.sub(r"[^A-Z0-9]", "", name.upper())
    for kind, pattern in _KIND_PATTERNS:
        if pattern.match(token):
            return kind
    return "other"


def default_band(kind: str, target_rate: float) -> Band:
    """The default pass band of a modality kind, its high edge capped below the target Nyquist."""
    if kind not in DEFAULT_BANDS:
        raise ValueError(f"unknown modality kind {kind!r}; expected one of {list(DEFAULT_BANDS)}")
    low, high = DEFAULT_BANDS[kind]
    return cap_band((low, high), target_rate)


def cap_band(band: Band, target_rate: float) -> Band:
    """``band`` with its high edge lowered to ``NYQUIST_MARGIN`` times the Nyquist of ``target_rate``."""
    low, high = band
    high = min(high, NYQUIST_MARGIN * target_rate / 2)
    if not 0 <= low < high:
        raise ValueError(
            f"band ({band[0]}, {band[1]}) Hz leaves nothing below the Nyquist frequency of "
            f"{target_rate} Hz (high edge capped at {high:.3g} Hz)"
        )
    return (float(low), float(high))


def modality_kinds(params: Params) -> dict[str, str]:
    """Kind of each modality: ``data.kinds`` where given, else guessed from the name."""
    return {m: params.data.kinds.get(m) or guess_kind(m) for m in params.data.modalities}


def modality_bands(params: Params) -> dict[str, Band]:
    """Pass band of each modality: ``preprocessing.bands`` where given, else the kind's default (both capped)."""
    rate = params.preprocessing.target_rate
    bands = {}
    for modality, kind in modality_kinds(params).items():
        given = params.preprocessing.bands.get(modality)
        try:
            bands[modality] = cap_band(given, rate) if given else default_band(kind, rate)
        except ValueError as error:
            raise ValueError(f"preprocessing.bands[{modality!r}]: {error}") from None
    return bands


def butter_sos(sampling_rate: float, band: Band, order: int = 4) -> np.ndarray:
    """Butterworth band-pass (or low-pass when the low edge is 0) as second-order sections."""
    low, high = band
    nyquist = sampling_rate / 2
    if not 0 <= low < high < nyquist:
        raise ValueError(f"band ({low}, {high}) Hz must satisfy 0 <= low < high < Nyquist ({nyquist} Hz)")
    if low == 0:
        return sps.butter(order, high, btype="lowpass", fs=sampling_rate, output="sos")
    return sps.butter(order, (low, high), btype="bandpass", fs=sampling_rate, output="sos")


def bandpass(signal: np.ndarray, sampling_rate: float, band: Band, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass of ``signal`` (last axis)."""
    sos = butter_sos(sampling_rate, band, order)
    return sps.sosfiltfilt(sos, np.asarray(signal, dtype=np.float64), axis=-1)


def rate_ratio(sampling_rate: float, target_rate: float) -> Fraction:
    """``target_rate / sampling_rate`` as an exact up/down fraction."""
    if sampling_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sampling rates must be positive, got {sampling_rate} and {target_rate}")
    return Fraction(target_rate / sampling_rate).limit_denominator(MAX_DENOMINATOR)


def resample(signal: np.ndarray, sampling_rate: float, target_rate: float) -> np.ndarray:
    """Polyphase resampling of ``signal`` (last axis) from ``sampling_rate`` to ``target_rate``.

    The output has ``ceil(n * target_rate / sampling_rate)`` samples; sample ``k`` lies
    at ``k / target_rate`` seconds, like sample 0 of the input.
    """
    ratio = rate_ratio(sampling_rate, target_rate)
    signal = np.asarray(signal, dtype=np.float64)
    if ratio == 1:
        return signal.copy()
    return sps.resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1, padtype="line")
