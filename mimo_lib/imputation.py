"""Scoring imputed sensors on whole recordings, beside what else could stand in for them.

An imputed recording (:meth:`mimo_lib.run.TrainedRun.reconstruct` with
``missing``) has no original for its missing rows; :func:`with_originals`
puts the recorded signals back beside it, so that
:func:`mimo_lib.physiology.score_reconstructions` scores it like any
reconstruction (breathing rate against annotated breaths, heart rate and
R-peaks against the real ECG). What stands beside a model's imputation:

- :func:`derived_respiration`: respiration derived from the PPG by NeuroKit2;
- :func:`constant_rate_errors`: one breathing rate for everybody;
- :func:`pulse_rate_errors`: the pulse rate of the PPG for the heart rate;
- :func:`lag_mapped`: the calibration stretch alone, the present signals mapped
  to the missing one by a linear map at one lag (:mod:`mimo_lib.calibration.maps`);
- :func:`lag_corrected`: an uncalibrated imputation with its sign, gain, offset
  and delay fitted to the calibration stretch.

:func:`after` blanks a calibration stretch so it is never scored,
:func:`where_ppg_good` blanks what was recorded while the PPG was disturbed
(its quality index below a threshold; :func:`ppg_good_samples` finds those samples once
for several reconstructions of the same recordings, :func:`blanked_outside` blanks them), and :func:`window_correlations` scores
waveforms per window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from mimo_lib.calibration.maps import fit_lag_map
from mimo_lib.data.coupling import pearson_r
from mimo_lib.data.signals import bandpass
from mimo_lib.evaluation.derived_respiration import ppg_respiration
from mimo_lib.evaluation.fidelity import DETECTORS, dominant_rates, rate_error, span_rates
from mimo_lib.evaluation.signal_quality import good_ppg
from mimo_lib.physiology import RATE_SPANS, reference_breaths
from mimo_lib.reconstruction import RecordingReconstruction

Reconstructions = Sequence[RecordingReconstruction]
SCORE_COLUMNS = ["subject", "value", "n_scored", "n_not_scored"]


def _score_row(recording: RecordingReconstruction, value: float, n_scored: int, n_not_scored: int) -> dict:
    return dict(zip(SCORE_COLUMNS, (recording.subject, value, n_scored, n_not_scored), strict=True))


def _pairs(first: Reconstructions, second: Reconstructions) -> list[tuple[RecordingReconstruction, RecordingReconstruction]]:
    pairs = list(zip(first, second, strict=True))
    for a, b in pairs:
        if a.subject != b.subject or a.modalities != b.modalities:
            raise ValueError(f"reconstructions do not match: subject {a.subject} {a.modalities} beside "
                             f"subject {b.subject} {b.modalities}")
    return pairs


def _row(recording: RecordingReconstruction, modality: str) -> int:
    if modality not in recording.modalities:
        raise ValueError(f"subject {recording.subject}: no modality {modality!r} among {recording.modalities}")
    return recording.modalities.index(modality)


def with_originals(imputed: Reconstructions, full: Reconstructions) -> list[RecordingReconstruction]:
    """``imputed`` recordings with the originals of ``full`` (the same recordings prepared with every sensor).

    Both are cut to the shorter length (preparing without a sensor may keep a sample more).
    """
    result = []
    for imputation, complete in _pairs(imputed, full):
        length = min(imputation.length, complete.length)
        result.append(replace(imputation, original=complete.original[:, :length].copy(),
                              reconstruction=imputation.reconstruction[:, :length].copy()))
    return result


def after(reconstructions: Reconstructions, seconds: float, modalities: Sequence[str]) -> list[RecordingReconstruction]:
    """Copies whose ``modalities`` rows, original and reconstruction, are NaN before ``seconds``.

    A calibration stretch so blanked takes no part in scoring, not even in the
    detection of reference events on the original (detectors run on each finite
    stretch apart, and NeuroKit2's thresholds depend on the whole signal they see).
    """
    result = []
    for recording in reconstructions:
        original, reconstruction = recording.original.copy(), recording.reconstruction.copy()
        rows = [_row(recording, name) for name in modalities]
        stretch = min(recording.length, round(seconds * recording.rate))
        original[rows, :stretch] = reconstruction[rows, :stretch] = np.nan
        result.append(replace(recording, original=original, reconstruction=reconstruction))
    return result


def ppg_good_samples(recordings: Reconstructions, ppg: str, threshold: float) -> dict[str, np.ndarray]:
    """Per subject, the samples where the original ``ppg``'s quality reaches ``threshold``
    (:func:`~mimo_lib.evaluation.signal_quality.good_ppg`)."""
    return {recording.subject: good_ppg(recording.original[_row(recording, ppg)], recording.rate, threshold)
            for recording in recordings}


def blanked_outside(reconstructions: Reconstructions, keep: dict[str, np.ndarray]) -> list[RecordingReconstruction]:
    """Copies whose every row, original and reconstruction, is NaN where the subject's ``keep`` mask is false (a
    mask may be longer than a recording cut shorter); spans there are counted as not scored."""
    result = []
    for recording in reconstructions:
        drop = ~keep[recording.subject][: recording.length]
        original, reconstruction = recording.original.copy(), recording.reconstruction.copy()
        original[:, drop] = reconstruction[:, drop] = np.nan
        result.append(replace(recording, original=original, reconstruction=reconstruction))
    return result


def where_ppg_good(reconstructions: Reconstructions, ppg: str, threshold: float) -> list[RecordingReconstruction]:
    """:func:`blanked_outside` the samples where the original ``ppg``'s quality reaches ``threshold``."""
    return blanked_outside(reconstructions, ppg_good_samples(reconstructions, ppg, threshold))


def derived_respiration(full: Reconstructions, ppg: str, resp: str, method: str) -> list[RecordingReconstruction]:
    """Copies whose ``resp`` row is respiration derived from the original ``ppg`` (:func:`ppg_respiration`)."""
    result = []
    for recording in full:
        reconstruction = np.full_like(recording.reconstruction, np.nan)
        source = recording.original[_row(recording, ppg)]
        finite = np.isfinite(source)
        derived = np.full(recording.length, np.nan)
        derived[finite] = ppg_respiration(source[finite], recording.rate, method)
        reconstruction[_row(recording, resp)] = derived
        result.append(replace(recording, reconstruction=reconstruction))
    return result


def annotated_rates(recording: RecordingReconstruction, modality: str, valid: np.ndarray | None = None) -> np.ndarray:
    """Breathing rate per 32 s span from the recording's annotated breaths (NaN where too few, or where ``valid``
    is ``False`` anywhere in the span)."""
    breaths = reference_breaths(recording, modality)
    if breaths is None:
        raise ValueError(f"subject {recording.subject}: no breath annotations beside {recording.origin}")
    return span_rates(breaths, recording.rate, recording.length, RATE_SPANS["resp"][2], valid)


def median_rate(recordings: Reconstructions, modality: str) -> float:
    """The median annotated breathing rate over every 32 s span of ``recordings`` (e.g. the training subjects)."""
    rates = np.concatenate([annotated_rates(recording, modality) for recording in recordings])
    if not np.isfinite(rates).any():
        raise ValueError("no span of the recordings has enough annotated breaths for a rate")
    return float(np.nanmedian(rates))


def constant_rate_errors(recordings: Reconstructions, modality: str, value: float,
                         from_seconds: float = 0.0) -> pd.DataFrame:
    """Per recording: MAE of the constant breathing rate ``value`` over the annotated spans after ``from_seconds``
    where the recording's ``modality`` was recorded (its original finite throughout the span).

    Columns ``subject``, ``value`` (the MAE), ``n_scored`` and ``n_not_scored`` (spans).
    """
    rows = []
    for recording in recordings:
        reference = annotated_rates(recording, modality, np.isfinite(recording.original[_row(recording, modality)]))
        span = round(RATE_SPANS["resp"][2] * recording.rate)
        reference[np.arange(len(reference)) * span < from_seconds * recording.rate] = np.nan
        error = rate_error(reference, np.full(len(reference), value))
        rows.append(_score_row(recording, error.mae, error.n_scored, error.n_not_scored))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def dominant_rate_errors(recordings: Reconstructions, modality: str, band_hz: tuple[float, float]) -> pd.DataFrame:
    """Per recording: MAE against the annotated breathing rate of the reconstruction's dominant frequency in ``band_hz``.

    The rate of each 32 s span is its strongest frequency (:func:`~mimo_lib.evaluation.fidelity.dominant_rates`)
    instead of its counted breaths. Columns as :func:`constant_rate_errors`.
    """
    rows = []
    for recording in recordings:
        rates = dominant_rates(recording.reconstruction[_row(recording, modality)], recording.rate,
                               RATE_SPANS["resp"][2], band_hz)
        reference = annotated_rates(recording, modality)
        error = rate_error(reference, rates)
        rows.append(_score_row(recording, error.mae, error.n_scored, error.n_not_scored))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def pulse_rate_errors(recordings: Reconstructions, ppg: str, ecg: str) -> pd.DataFrame:
    """Per recording: MAE of the original ``ppg``'s pulse rate against the original ``ecg``'s heart rate (8 s spans).

    Columns as :func:`constant_rate_errors`.
    """
    rows = []
    for recording in recordings:
        span_s = RATE_SPANS["ecg"][2]
        rates = [span_rates(DETECTORS[kind](recording.original[_row(recording, name)], recording.rate), recording.rate,
                            recording.length, span_s, np.isfinite(recording.original[_row(recording, name)]))
                 for name, kind in ((ecg, "ecg"), (ppg, "ppg"))]
        error = rate_error(*rates)
        rows.append(_score_row(recording, error.mae, error.n_scored, error.n_not_scored))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _fit_on_stretch(sources: np.ndarray, target: np.ndarray, stretch: int, max_lag: int) -> np.ndarray:
    """Sources mapped onto the target by a lag map fitted on the first ``stretch`` samples, for the whole recording."""
    fitted = fit_lag_map(sources[:, :stretch], target[:stretch], max_lag)
    return fitted.apply(sources)


def lag_mapped(full: Reconstructions, target: str, seconds: float, band: tuple[float, float],
               max_lag_s: float = 2.0) -> list[RecordingReconstruction]:
    """Copies whose ``target`` row comes from the other originals by a lag map fitted on the first ``seconds``.

    The other signals are band-passed to ``band`` (the target's band) first; the
    map is the least-squares one at the best lag within ±``max_lag_s``.
    """
    result = []
    for recording in full:
        index = _row(recording, target)
        others = [i for i in range(len(recording.modalities)) if i != index]
        sources = np.stack([bandpass(np.nan_to_num(recording.original[i]), recording.rate, band) for i in others])
        reconstruction = np.full_like(recording.reconstruction, np.nan)
        reconstruction[index] = _fit_on_stretch(sources, recording.original[index],
                                                round(seconds * recording.rate), round(max_lag_s * recording.rate))
        result.append(replace(recording, reconstruction=reconstruction))
    return result


def lag_corrected(imputed: Reconstructions, target: str, seconds: float,
                  max_lag_s: float = 2.0) -> list[RecordingReconstruction]:
    """Copies whose ``target`` row, an imputation, gets the sign, gain, offset and delay that fit the first ``seconds``.

    ``imputed`` needs its originals (:func:`with_originals`); samples with no
    imputation (NaN) take no part in the fit and stay NaN.
    """
    result = []
    for recording in imputed:
        index = _row(recording, target)
        reconstruction = recording.reconstruction.copy()
        reconstruction[index] = _fit_on_stretch(recording.reconstruction[index][None], recording.original[index],
                                                round(seconds * recording.rate), round(max_lag_s * recording.rate))
        result.append(replace(recording, reconstruction=reconstruction))
    return result


def window_correlations(recordings: Reconstructions, modality: str, starts: dict[str, np.ndarray],
                        window_s: float, from_seconds: float = 0.0) -> pd.DataFrame:
    """Per recording: mean Pearson r of ``modality`` between original and reconstruction over windows.

    ``starts`` maps each subject to its window starts in seconds (e.g. the windows
    that passed quality control); windows starting before ``from_seconds`` or
    holding a NaN are left out. Columns ``subject``, ``value`` (mean r),
    ``n_scored`` and ``n_not_scored`` (windows).
    """
    rows = []
    for recording in recordings:
        index, length = _row(recording, modality), round(window_s * recording.rate)
        offsets = np.rint(np.asarray(starts.get(recording.subject, []), dtype=float) * recording.rate).astype(int)
        offsets = offsets[(offsets >= from_seconds * recording.rate) & (offsets + length <= recording.length)]
        span = offsets[:, None] + np.arange(length)
        original, reconstruction = recording.original[index][span], recording.reconstruction[index][span]
        finite = np.isfinite(original).all(axis=1) & np.isfinite(reconstruction).all(axis=1)
        r = pearson_r(original[finite], reconstruction[finite])
        rows.append(_score_row(recording, float(np.nanmean(r)) if len(r) else np.nan, int(finite.sum()),
                               int((~finite).sum())))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)
