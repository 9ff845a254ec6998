"""The calibration stretch: the start of a recording during which the sensors to impute later were still worn.

:func:`calibration_stretch` cuts it from a recording and refuses one that
cannot calibrate anything, naming the subject and what it found: a stretch
shorter than one window or longer than the recording, a sensor to calibrate
that the recording lacks, or one that is all NaN or flat there.
:func:`target_sample_kinds` marks, at the run's rate, the samples of a sensor
to calibrate that a calibration may learn from: a respiration belt at the rails
of its amplifier, flat or off for a while still has usable stretches between;
:func:`check_target_kinds` refuses a target with no recorded value left and
counts the rest in a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from scipy.ndimage import binary_dilation

from mimo_lib.data.types import Recording
from mimo_lib.data.windowing import AT_MAX, AT_MIN, EXACT, UNUSABLE, censored_samples, fill_short_gaps, flat_samples


def _where(recording: Recording) -> str:
    return f"subject {recording.subject}" + (f" ({recording.origin})" if recording.origin else "")


def calibration_stretch(
    recording: Recording, seconds: float, targets: list[str], window_seconds: float, flat_std: float
) -> Recording:
    """The first ``seconds`` of every signal of ``recording``; the ``targets`` must be recorded there.

    Raises a ValueError naming the subject when the stretch is shorter than one
    window of ``window_seconds`` or longer than the recording, or when a target
    is absent, all NaN or flat (standard deviation at most ``flat_std``) in it.
    """
    where = _where(recording)
    if not seconds >= window_seconds:
        raise ValueError(f"{where}: a calibration stretch of {seconds:g} s is shorter than one "
                         f"{window_seconds:g} s window")
    duration = min(recording.duration(name) for name in recording.modalities)
    if seconds > duration:
        raise ValueError(f"{where}: a calibration stretch of {seconds:g} s is longer than the recording "
                         f"({duration:.1f} s)")
    absent = [name for name in targets if name not in recording.signals]
    if absent:
        raise ValueError(f"{where}: no {', '.join(absent)} signal to calibrate on; the recording has "
                         f"{recording.modalities}")
    cut = {name: np.asarray(signal[: round(seconds * recording.rates[name])], dtype=np.float64)
           for name, signal in recording.signals.items()}
    for name in targets:
        finite = cut[name][np.isfinite(cut[name])]
        if not len(finite):
            raise ValueError(f"{where}: {name} is missing (all NaN) in the calibration stretch [0, {seconds:g}) s")
        if np.std(finite) <= flat_std:
            raise ValueError(f"{where}: {name} is flat (standard deviation {np.std(finite):.3g}) in the "
                             f"calibration stretch [0, {seconds:g}) s")
    return Recording(recording.subject, cut, dict(recording.rates), recording.origin, dict(recording.units))


def target_sample_kinds(stretch: Recording, targets: list[str], rate: float, n_samples: int, max_gap_seconds: float,
                        flat_std: float, flat_seconds: float, margin_seconds: float) -> np.ndarray:
    """``(len(targets), n_samples)`` int8 at ``rate`` Hz: how a calibration may learn from each target sample.

    :data:`~mimo_lib.data.windowing.EXACT` a recorded value; ``AT_MAX`` / ``AT_MIN`` the
    target at its highest / lowest value, clipped: the true value lies beyond
    (:func:`~mimo_lib.data.windowing.censored_samples`); ``UNUSABLE`` a long
    gap or a flat stretch off the rails, widened by ``margin_seconds`` either
    side, where filtering spreads it.
    """
    rows = []
    for name in targets:
        native_rate = stretch.rates[name]
        filled, gaps = fill_short_gaps(stretch.signals[name], native_rate, max_gap_seconds)
        kinds = censored_samples(filled)
        unusable = gaps | (flat_samples(filled, native_rate, flat_std, flat_seconds) & (kinds == EXACT))
        margin = round(margin_seconds * native_rate)
        if margin and unusable.any():
            unusable = binary_dilation(unusable, structure=np.ones(2 * margin + 1, dtype=bool))
        kinds[unusable] = UNUSABLE
        at_rate = np.minimum(np.rint(np.arange(n_samples) * native_rate / rate).astype(int), len(kinds) - 1)
        rows.append(kinds[at_rate])
    return np.array(rows, dtype=np.int8).reshape(len(targets), n_samples)


def check_target_kinds(kinds: Mapping[str, np.ndarray], recording: Recording, seconds: float) -> None:
    """Refuse a target of ``kinds`` (name -> :func:`target_sample_kinds` over the calibration windows) without an
    :data:`~mimo_lib.data.windowing.EXACT` sample, naming the subject; warn with the shares clipped and unusable."""
    where = _where(recording)
    for name, row in kinds.items():
        if not (row == EXACT).any():
            raise ValueError(f"{where}: {name} is clipped, flat or absent throughout the kept windows of the "
                             f"calibration stretch [0, {seconds:g}) s: nothing to calibrate on")
        clipped, unusable = np.isin(row, (AT_MAX, AT_MIN)).mean(), (row == UNUSABLE).mean()
        if clipped or unusable:
            warnings.warn(f"{where}: {name} is clipped in {clipped:.0%} and flat or absent in {unusable:.0%} of the "
                          f"samples of the calibration stretch's kept windows [0, {seconds:g}) s; the calibration "
                          f"takes a clipped sample for a bound and leaves out the rest", stacklevel=3)
