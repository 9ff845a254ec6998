"""Physiological fidelity: do the beats, pulses and breaths of a recording survive reconstruction?

The same NeuroKit2 detector runs on the original and on the reconstructed
signal of a modality; events of the reconstruction are then scored against a
reference: the events detected on the original (or, for breaths, manual
annotations when given). Scored per modality kind:

- ``"ecg"``: R-peak sensitivity, PPV and F1 within 50 ms, median absolute
  R-peak timing error (ms), heart-rate MAE over 8 s and 32 s spans (bpm).
- ``"ppg"``: pulse-peak F1 within 100 ms, pulse-rate MAE over 8 s spans (bpm).
- ``"resp"``: breathing-rate MAE over 32 s spans (breaths/min) and breath F1
  within 1 s.
- an ECG and a PPG modality together: pulse arrival time MAE (ms).

Scoring the original against itself gives the detector's floor: 0 and 1 where
the reference is the original's own detections, and the detector's own error
where the reference is an annotation.

Stitched signals have NaN where no window covered them. Detectors run on each
finite stretch separately; events and rate spans count only where the original
and the reconstruction are both finite. What cannot be scored is counted, never
dropped: each row of :func:`score_recording` carries ``n_scored`` and
``n_not_scored`` (reference events, matched events, spans or beats, see
:func:`score_recording`), and its ``value`` is NaN when nothing was scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import signal as sps

from mimo_lib.data.beats import (
    PAT_MAX_DELAY_S,
    PAT_MIN_DELAY_S,
    Detector,
    arrivals,
    check_signal,
    detect_breaths,
    detect_pulse_peaks,
    detect_r_peaks,
    sorted_events,
)

KINDS = ("ecg", "ppg", "resp")
R_PEAK_TOLERANCE_S = 0.05
PULSE_TOLERANCE_S = 0.1
# Breath peaks (end of inspiration) are broad. On BIDMC subjects 36-40 the two annotators
# differ by 0.08-0.12 s (median per subject; up to 0.34 s at the 90th percentile) and
# NeuroKit2's peaks lie 0.09-0.60 s (median; up to 0.85 s at the 90th percentile) from annotator 1's.
# 1 s accepts those offsets and is half the shortest breath interval up to 30 breaths/min,
# so a detection cannot match the neighbouring breath instead (matching is one-to-one).
BREATH_TOLERANCE_S = 1.0
MIN_EVENTS_PER_SPAN = 3
COLUMNS = ("modality", "measure", "reference", "unit", "value", "n_scored", "n_not_scored")


@dataclass(frozen=True)
class EventMatch:
    """One-to-one matching of test events to reference events.

    ``sensitivity`` is NaN without reference events, ``ppv`` NaN without test
    events, ``f1`` NaN without either, ``median_abs_error_ms`` NaN without matches.
    ``pairs`` holds ``(reference index, test index)`` of each match.
    """

    n_reference: int
    n_test: int
    n_matched: int
    sensitivity: float
    ppv: float
    f1: float
    median_abs_error_ms: float
    pairs: np.ndarray


@dataclass(frozen=True)
class ErrorSummary:
    """Mean absolute error over the items scored in both series (NaN when none), and the counts."""

    mae: float
    n_scored: int
    n_not_scored: int


# --- events, rates, delays -------------------------------------------------------


def _candidate_pairs(reference: np.ndarray, test: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """All (reference index, test index) pairs at most ``tolerance`` samples apart."""
    lo = np.searchsorted(test, reference - tolerance, side="left")
    hi = np.searchsorted(test, reference + tolerance, side="right")
    counts = hi - lo
    ref_index = np.repeat(np.arange(len(reference)), counts)
    test_index = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
    return ref_index, test_index


def match_events(reference: np.ndarray, test: np.ndarray, tolerance_s: float, rate: float) -> EventMatch:
    """Match each test event to at most one reference event within ``tolerance_s``, nearest pairs first."""
    if not rate > 0 or not tolerance_s >= 0:
        raise ValueError(f"rate must be positive and tolerance_s non-negative, got {rate} and {tolerance_s}")
    reference, test = sorted_events(reference), sorted_events(test)
    ref_index, test_index = _candidate_pairs(reference, test, tolerance_s * rate)
    distance = np.abs(test[test_index] - reference[ref_index])
    ref_used = np.zeros(len(reference), dtype=bool)
    test_used = np.zeros(len(test), dtype=bool)
    pairs = []
    for k in np.argsort(distance, kind="stable"):
        i, j = ref_index[k], test_index[k]
        if not ref_used[i] and not test_used[j]:
            ref_used[i] = test_used[j] = True
            pairs.append((i, j))
    pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    n_ref, n_test, n_matched = len(reference), len(test), len(pairs)
    errors_ms = np.abs(test[pairs[:, 1]] - reference[pairs[:, 0]]) * 1000.0 / rate
    return EventMatch(
        n_reference=n_ref,
        n_test=n_test,
        n_matched=n_matched,
        sensitivity=n_matched / n_ref if n_ref else np.nan,
        ppv=n_matched / n_test if n_test else np.nan,
        f1=2 * n_matched / (n_ref + n_test) if n_ref + n_test else np.nan,
        median_abs_error_ms=float(np.median(errors_ms)) if n_matched else np.nan,
        pairs=pairs,
    )


def _span_samples(span_s: float, rate: float) -> int:
    """Samples in one rate span; a span shorter than one sample (or a non-positive rate) is an error."""
    span = round(span_s * rate)
    if span < 1 or not rate > 0:
        raise ValueError(f"span_s ({span_s}) at rate {rate} must be at least one sample")
    return span


def span_rates(event_samples: np.ndarray, rate: float, length: int, span_s: float, valid: np.ndarray | None = None) -> np.ndarray:
    """Event rate (events/min) in each whole, non-overlapping span of ``span_s`` over ``length`` samples.

    The rate is 60 / mean interval between the events inside the span. It is NaN
    for a span with fewer than :data:`MIN_EVENTS_PER_SPAN` events, or with any
    sample that is ``False`` in ``valid`` (e.g. ``np.isfinite(signal)``).
    A trailing part span is left out.
    """
    span = _span_samples(span_s, rate)
    n_spans = length // span
    bounds = np.arange(n_spans + 1) * span
    events = sorted_events(event_samples)
    lo = np.searchsorted(events, bounds[:-1], side="left")
    hi = np.searchsorted(events, bounds[1:], side="left")
    enough = hi - lo >= MIN_EVENTS_PER_SPAN
    rates = np.full(n_spans, np.nan)
    first, last = events[lo[enough]], events[hi[enough] - 1]
    rates[enough] = 60.0 * rate * (hi[enough] - lo[enough] - 1) / (last - first)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (length,):
            raise ValueError(f"valid must have shape ({length},), got {valid.shape}")
        rates[~valid[: n_spans * span].reshape(n_spans, span).all(axis=1)] = np.nan
    return rates


def dominant_rates(signal: np.ndarray, rate: float, span_s: float, band_hz: tuple[float, float],
                   segment_s: float = 16.0) -> np.ndarray:
    """Rate (cycles/min) of the strongest frequency in ``band_hz`` in each whole span of ``span_s``.

    Welch's power spectrum of each span (segments of ``segment_s``, 75 % overlap,
    zero-padded to a grid of 0.05 cycles/min or finer). Spans as in
    :func:`span_rates`; NaN for a span with a non-finite sample. Blind to polarity
    and to the waveform's shape: an alternative to counting events.
    """
    span = _span_samples(span_s, rate)
    signal = np.asarray(signal, dtype=np.float64)
    n_spans = len(signal) // span
    segment = min(span, round(segment_s * rate))
    n_fft = max(segment, 2 ** math.ceil(math.log2(60 * rate / 0.05)))
    rates = np.full(n_spans, np.nan)
    for index in range(n_spans):
        piece = signal[index * span:(index + 1) * span]
        if not np.isfinite(piece).all():
            continue
        freqs, power = sps.welch(piece, fs=rate, nperseg=segment, noverlap=3 * segment // 4, nfft=n_fft, detrend="constant")
        inside = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
        rates[index] = 60.0 * freqs[inside][np.argmax(power[inside])]
    return rates


def rate_error(reference_rates: np.ndarray, test_rates: np.ndarray) -> ErrorSummary:
    """MAE of the spans where both rates are finite; the other spans are counted as not scored."""
    reference_rates = np.asarray(reference_rates, dtype=np.float64)
    test_rates = np.asarray(test_rates, dtype=np.float64)
    if reference_rates.shape != test_rates.shape:
        raise ValueError(f"rates must align span by span, got shapes {reference_rates.shape} and {test_rates.shape}")
    both = np.isfinite(reference_rates) & np.isfinite(test_rates)
    mae = float(np.mean(np.abs(reference_rates[both] - test_rates[both]))) if both.any() else np.nan
    return ErrorSummary(mae, int(both.sum()), int(both.size - both.sum()))


def pulse_upstrokes(ppg: np.ndarray, pulse_peaks: np.ndarray, rate: float, reach_s: float = 0.3) -> np.ndarray:
    """Per pulse peak, where the pulse rises fastest on its way up (sub-sample position), the usual PAT end point.

    The steepest rise is the largest first difference within ``reach_s`` before the
    peak, placed between samples by a parabola through it and its neighbours; the
    peak itself is moved by wave reflections, the upstroke much less. Peaks whose
    upstroke touches a NaN sample are left out.
    """
    slope = np.diff(np.asarray(ppg, dtype=np.float64))  # slope[k]: from sample k to k + 1
    reach = max(2, round(reach_s * rate))
    points = []
    for peak in sorted_events(pulse_peaks):
        first = max(1, peak - reach)
        segment = slope[first:peak]
        if len(segment) < 2 or not np.isfinite(slope[first - 1:peak + 1]).all():
            continue
        k = first + int(np.argmax(segment))
        before, at, after = slope[k - 1], slope[k], slope[min(k + 1, len(slope) - 1)]
        curvature = before - 2 * at + after
        offset = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
        points.append(k + 0.5 + float(np.clip(offset, -0.5, 0.5)))
    return np.asarray(points, dtype=np.float64)


def pat_error(
    original_r: np.ndarray,
    original_pulse: np.ndarray,
    test_r: np.ndarray,
    test_pulse: np.ndarray,
    rate: float,
    tolerance_s: float = R_PEAK_TOLERANCE_S,
    pulse_tolerance_s: float = PULSE_TOLERANCE_S,
    min_delay_s: float = PAT_MIN_DELAY_S,
    max_delay_s: float = PAT_MAX_DELAY_S,
) -> ErrorSummary:
    """Pulse arrival time MAE (ms) over the beats found on both sides: the original R-peak matched in the
    test within ``tolerance_s`` and the pulse it arrives at matched to the test's within ``pulse_tolerance_s``.

    A beat whose R-peak or pulse is missed (or replaced by a neighbour's) in the test is not scored
    but counted in ``n_not_scored``: detection is scored by the R-peak and pulse F1, the delay here.
    """
    original_r, test_r = sorted_events(original_r), sorted_events(test_r)
    original_pulse = np.sort(np.asarray(original_pulse, dtype=np.float64))
    test_pulse = np.sort(np.asarray(test_pulse, dtype=np.float64))
    beats = match_events(original_r, test_r, tolerance_s, rate).pairs
    pulses = match_events(np.round(original_pulse), np.round(test_pulse), pulse_tolerance_s, rate).pairs
    partner = np.full(len(original_pulse), -2)  # each original pulse's matched test pulse; -2: none (-1: no arrival)
    partner[pulses[:, 0]] = pulses[:, 1]
    original_pat, original_at = arrivals(original_r, original_pulse, rate, min_delay_s, max_delay_s)
    test_pat, test_at = arrivals(test_r, test_pulse, rate, min_delay_s, max_delay_s)
    original_pat, original_at = original_pat[beats[:, 0]], original_at[beats[:, 0]]
    test_pat, test_at = test_pat[beats[:, 1]], test_at[beats[:, 1]]
    both = original_at >= 0
    both[both] = partner[original_at[both]] == test_at[both]
    mae = float(np.mean(np.abs(original_pat[both] - test_pat[both])) * 1000.0) if both.any() else np.nan
    return ErrorSummary(mae, int(both.sum()), len(original_r) - int(both.sum()))


# --- one recording ----------------------------------------------------------------

DETECTORS: dict[str, Detector] = {
    "ecg": detect_r_peaks,
    "ppg": detect_pulse_peaks,
    "resp": detect_breaths,
}


@dataclass(frozen=True)
class _Scored:
    """One modality to score: reference and test events, and where both of its signals are finite."""

    name: str
    reference: np.ndarray
    test: np.ndarray
    valid: np.ndarray
    reference_name: str
    rate: float


def _row(modality: str, measure: str, reference: str, unit: str, value: float, n_scored: int, n_not_scored: int) -> dict:
    return dict(zip(COLUMNS, (modality, measure, reference, unit, value, n_scored, n_not_scored), strict=True))


def _event_rows(scored: _Scored, prefix: str, tolerance_s: float) -> dict[str, dict]:
    """``"sensitivity"``, ``"ppv"``, ``"f1"`` and ``"timing"`` rows; events outside ``valid`` are not scored.

    Detection rows count the reference events in and out of ``valid``; the timing
    row counts matched reference events and the rest. Without reference events
    inside ``valid`` every value is NaN.
    """
    reference, test, valid = scored.reference, scored.test, scored.valid
    inside = reference[valid[reference]]
    match = match_events(inside, test[valid[test]], tolerance_s, scored.rate)
    n_in, n_out = len(inside), len(reference) - len(inside)
    tolerance = f"{tolerance_s * 1000:g}ms"

    def row(measure: str, unit: str, value: float, n_scored: int, n_not_scored: int) -> dict:
        value = value if n_in else np.nan
        return _row(scored.name, f"{prefix}_{measure}", scored.reference_name, unit, value, n_scored, n_not_scored)

    return {
        "sensitivity": row(f"sensitivity_{tolerance}", "fraction", match.sensitivity, n_in, n_out),
        "ppv": row(f"ppv_{tolerance}", "fraction", match.ppv, n_in, n_out),
        "f1": row(f"f1_{tolerance}", "fraction", match.f1, n_in, n_out),
        "timing": row(
            "median_abs_timing_error", "ms", match.median_abs_error_ms, match.n_matched, len(reference) - match.n_matched
        ),
    }


def _rate_row(scored: _Scored, measure: str, span_s: float, unit: str) -> dict:
    """Rate MAE over whole ``span_s`` spans that are valid and hold enough events on both sides."""
    length = len(scored.valid)
    reference_rates = span_rates(scored.reference, scored.rate, length, span_s, scored.valid)
    test_rates = span_rates(scored.test, scored.rate, length, span_s, scored.valid)
    error = rate_error(reference_rates, test_rates)
    measure = f"{measure}_mae_{span_s:g}s"
    return _row(scored.name, measure, scored.reference_name, unit, error.mae, error.n_scored, error.n_not_scored)


def _modality_rows(scored: _Scored, kind: str) -> list[dict]:
    if kind == "ecg":
        events = _event_rows(scored, "r_peak", R_PEAK_TOLERANCE_S)
        rates = [_rate_row(scored, "heart_rate", span_s, "bpm") for span_s in (8.0, 32.0)]
        return [events["sensitivity"], events["ppv"], events["f1"], events["timing"], *rates]
    if kind == "ppg":
        return [_event_rows(scored, "pulse_peak", PULSE_TOLERANCE_S)["f1"], _rate_row(scored, "pulse_rate", 8.0, "bpm")]
    return [_rate_row(scored, "breathing_rate", 32.0, "breaths/min"), _event_rows(scored, "breath", BREATH_TOLERANCE_S)["f1"]]


def _check_inputs(
    original: Mapping[str, np.ndarray], reconstructed: Mapping[str, np.ndarray], rate: float, kinds: Mapping[str, str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    unknown = {name: kind for name, kind in kinds.items() if kind not in KINDS}
    if unknown:
        raise ValueError(f"unknown modality kinds {unknown}; each kind must be one of {KINDS}")
    for side, signals in (("original", original), ("reconstructed", reconstructed)):
        missing = [name for name in kinds if name not in signals]
        if missing:
            raise KeyError(f"{side} has no signal for modalities {missing} named in kinds")
    originals = {name: check_signal(original[name], rate, f"original {name!r}") for name in kinds}
    reconstructions = {name: check_signal(reconstructed[name], rate, f"reconstructed {name!r}") for name in kinds}
    lengths = {f"original {name!r}": len(signal) for name, signal in originals.items()}
    lengths |= {f"reconstructed {name!r}": len(signal) for name, signal in reconstructions.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"all signals must have the same number of samples, got {lengths}")
    return originals, reconstructions


def _detect_both(
    detector: Detector, original: np.ndarray, reconstructed: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Events of both signals; detected once when the two are identical."""
    reference = detector(original, rate)
    if reconstructed is original or np.array_equal(original, reconstructed, equal_nan=True):
        return reference, reference.copy()
    return reference, detector(reconstructed, rate)


def _annotation_samples(events: np.ndarray, length: int) -> np.ndarray:
    events = sorted_events(events)
    if len(events) and (events[0] < 0 or events[-1] >= length):
        raise ValueError(f"annotations must be sample indices in [0, {length}), got {events[0]}..{events[-1]}")
    return events


def _pat_rows(scored: Mapping[str, _Scored], kinds: Mapping[str, str], rate: float,
              originals: Mapping[str, np.ndarray], reconstructions: Mapping[str, np.ndarray]) -> list[dict]:
    """PAT MAE for every ECG and PPG pair, over R-peaks where both modalities are finite on both sides:
    to the pulse peak (``pat_mae``) and to the pulse's steepest upstroke (``pat_upstroke_mae``)."""
    rows = []
    for ecg in (scored[name] for name, kind in kinds.items() if kind == "ecg"):
        for ppg in (scored[name] for name, kind in kinds.items() if kind == "ppg"):
            both = ecg.valid & ppg.valid
            inside = ecg.reference[both[ecg.reference]]
            n_outside = len(ecg.reference) - len(inside)
            ends = {"pat_mae": (ppg.reference, ppg.test),
                    "pat_upstroke_mae": (pulse_upstrokes(originals[ppg.name], ppg.reference, rate),
                                         pulse_upstrokes(reconstructions[ppg.name], ppg.test, rate))}
            for measure, (reference, test) in ends.items():
                error = pat_error(inside, reference, ecg.test[both[ecg.test]], test, rate)
                rows.append(_row(f"{ecg.name}->{ppg.name}", measure, "original", "ms", error.mae, error.n_scored,
                                 error.n_not_scored + n_outside))
    return rows


def score_recording(
    original: Mapping[str, np.ndarray],
    reconstructed: Mapping[str, np.ndarray],
    rate: float,
    kinds: Mapping[str, str],
    breaths: np.ndarray | None = None,
    beats: np.ndarray | None = None,
) -> pd.DataFrame:
    """Fidelity of the ``reconstructed`` modalities named in ``kinds`` (name -> ``"ecg"``, ``"ppg"`` or ``"resp"``).

    All signals are 1-D at ``rate`` Hz with the same length. ``breaths``, when
    given, are annotated breath sample indices at ``rate`` (ends of inspiration)
    and become the reference for every ``"resp"`` modality; otherwise the breaths
    detected on the original are. Other references are the original's detections;
    ``beats`` (annotated beat sample indices at ``rate``) add R-peak rows of every
    ``"ecg"`` modality scored against them (reference ``"annotations"``).

    Returns one row per measure with columns :data:`COLUMNS`. Counts: reference
    events (detection rows: inside / outside the samples where both signals are
    finite; timing rows: matched / not matched), whole spans (rate rows: both
    rates defined / not) or original R-peaks (PAT rows: with a PAT on both sides /
    not). ``value`` is NaN when nothing could be scored.
    """
    originals, reconstructions = _check_inputs(original, reconstructed, rate, kinds)
    scored = {}
    for name, kind in kinds.items():
        reference, test = _detect_both(DETECTORS[kind], originals[name], reconstructions[name], rate)
        valid = np.isfinite(originals[name]) & np.isfinite(reconstructions[name])
        reference_name = "original"
        if kind == "resp" and breaths is not None:
            reference, reference_name = _annotation_samples(breaths, len(valid)), "annotations"
        scored[name] = _Scored(name, reference, test, valid, reference_name, rate)
    rows = [row for name, kind in kinds.items() for row in _modality_rows(scored[name], kind)]
    if beats is not None:
        for name in (name for name, kind in kinds.items() if kind == "ecg"):
            annotated = replace(scored[name], reference=_annotation_samples(beats, len(scored[name].valid)),
                                reference_name="annotations")
            events = _event_rows(annotated, "r_peak", R_PEAK_TOLERANCE_S)
            rows += [events["sensitivity"], events["ppv"], events["f1"], events["timing"]]
    rows += _pat_rows(scored, kinds, rate, originals, reconstructions)
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"value": float, "n_scored": int, "n_not_scored": int})


# --- many recordings --------------------------------------------------------------


def summarize_scores(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Recording id -> :func:`score_recording` table, combined per measure.

    ``mean`` is the mean value over recordings where it is defined,
    ``n_recordings`` / ``n_recordings_not_scored`` count recordings with and
    without a value, and ``n_scored`` / ``n_not_scored`` are totals.
    """
    if not tables:
        raise ValueError("no recordings to summarise")
    combined = pd.concat(tables, names=["recording", None]).reset_index(level=0)
    keys = ["modality", "measure", "reference", "unit"]
    summary = combined.groupby(keys, sort=False).agg(
        mean=("value", "mean"),
        n_recordings=("value", "count"),
        n_recordings_total=("value", "size"),
        n_scored=("n_scored", "sum"),
        n_not_scored=("n_not_scored", "sum"),
    )
    summary["n_recordings_not_scored"] = summary.pop("n_recordings_total") - summary["n_recordings"]
    return summary.reset_index()
