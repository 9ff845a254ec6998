"""One sign per subject for a signal whose polarity relative to the others differs between subjects.

BIDMC's impedance respiration follows the slow part of the PPG with a positive
correlation in some subjects and a negative one in others. An imputer trained on
such targets cannot know the sign; scoring each window against whichever sign
fits best (``missing_polarity: free``) has a degenerate optimum: one fixed
waveform, the same for every input, matches half of all breaths whatever its
phase, and some seeds settle there. ``missing_polarity: subject`` instead gives
each training and validation subject's signal the sign under which it follows
the slow part of a reference signal (e.g. the PPG, low-passed at the breathing
band's edge) positively, once, before training: the targets then agree between
subjects and the model has something input-dependent to learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimo_lib.data.coupling import slow_coupling
from mimo_lib.data.types import WindowSet


def subject_signs(windows: WindowSet, modalities: Sequence[str], reference: str, cutoff_hz: float) -> np.ndarray:
    """``(N, M, 1)`` float32 of ±1: -1 for each of ``modalities`` in the windows of subjects whose median Pearson r
    with ``reference`` low-passed at ``cutoff_hz`` is negative (:func:`~mimo_lib.data.coupling.slow_coupling`);
    +1 elsewhere, including subjects where r is undefined (constant windows)."""
    if reference not in windows.modalities:
        raise ValueError(f"training.polarity_reference {reference!r} is not among the modalities {windows.modalities}")
    if reference in modalities:
        raise ValueError(f"training.polarity_reference {reference!r} is itself masked; name a modality that stays present")
    signs = np.ones((len(windows), len(windows.modalities), 1), dtype=np.float32)
    subjects = np.asarray(windows.subjects)
    for modality in modalities:
        coupling = slow_coupling(windows, modality, reference, cutoff_hz)
        negative = coupling.loc[coupling["median_r"] < 0, "subject"].to_numpy()
        signs[np.isin(subjects, negative), windows.modalities.index(modality)] = -1.0
    return signs
