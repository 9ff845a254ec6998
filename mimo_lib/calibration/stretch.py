"""The calibration stretch: the start of a recording during which the sensors to impute later were still worn.

:func:`calibration_stretch` cuts it from a recording and refuses one that
cannot calibrate anything, naming the subject and what it found: a stretch
shorter than one window or longer than the recording, a sensor to calibrate
that the recording lacks, or one that is all NaN or flat there.
"""

from __future__ import annotations

import numpy as np

from mimo_lib.data.types import Recording


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
