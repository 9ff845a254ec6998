"""Physiological fidelity of whole reconstructed recordings, beside the original signal and a baseline.

Every measure of :mod:`mimo_lib.evaluation.fidelity` is computed three ways on
the same recordings: on the original (``method="original"``: the reference
annotations' or the detector's own floor), on each method's reconstruction
(MiMo-AE, a PCA baseline, ...). Reference annotations are found beside the
recordings: BIDMC's ``*_Breaths.csv`` (annotator 1) for respiration, a WFDB
record's ``.atr`` beats for ECG; without them the original's detections are
the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.data.annotations import read_bidmc_breaths, read_wfdb_beats
from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.types import Recording
from mimo_lib.evaluation.baselines import PCABaseline, fit_pca
from mimo_lib.evaluation.evaluate import MODEL_METHOD, ORIGINAL_METHOD
from mimo_lib.evaluation.fidelity import DETECTORS, KINDS, score_recording, span_rates, summarize_scores
from mimo_lib.reconstruction import RecordingReconstruction
from mimo_lib.run import TrainedRun

BREATH_ANNOTATOR = "ann1"


def _record_base(origin: str) -> Path:
    """The file or WFDB record an origin names (a time range after it, if any, left out)."""
    return Path(origin.split(" (")[0])


def _at_rate(samples: np.ndarray, native_rate: float, rate: float, length: int) -> np.ndarray:
    """Annotation samples at ``native_rate`` as samples at ``rate``, those past ``length`` left out."""
    converted = np.rint(np.asarray(samples, dtype=float) * rate / native_rate).astype(np.int64)
    return converted[(converted >= 0) & (converted < length)]


def reference_breaths(reconstruction: RecordingReconstruction, modality: str) -> np.ndarray | None:
    """BIDMC manual breaths (annotator 1) of a ``*_Signals.csv`` recording at the reconstruction's rate, or None."""
    base = _record_base(reconstruction.origin)
    if not base.name.endswith("_Signals.csv"):
        return None
    path = base.with_name(base.name.replace("_Signals.csv", "_Breaths.csv"))
    if not path.is_file():
        return None
    breaths = read_bidmc_breaths(path).get(BREATH_ANNOTATOR)
    native = reconstruction.native_rates.get(modality)
    if breaths is None or native is None:
        return None
    return _at_rate(breaths, native, reconstruction.rate, reconstruction.length)


def reference_beats(reconstruction: RecordingReconstruction, modality: str) -> np.ndarray | None:
    """Beat annotations of a WFDB record (``<record>.atr``) at the reconstruction's rate, or None."""
    base = _record_base(reconstruction.origin)
    record = base.with_suffix("") if base.suffix == ".hea" else base
    native = reconstruction.native_rates.get(modality)
    if not Path(f"{record}.atr").is_file() or native is None:
        return None
    return _at_rate(read_wfdb_beats(record), native, reconstruction.rate, reconstruction.length)


def _first_of_kind(kinds: Mapping[str, str], kind: str) -> str | None:
    return next((name for name, k in kinds.items() if k == kind), None)


def score_reconstructions(
    methods: Mapping[str, list[RecordingReconstruction]], kinds: Mapping[str, str]
) -> pd.DataFrame:
    """Fidelity per recording and method, the original's own floor included (``method="original"``).

    ``methods`` maps a method name to its reconstructions of the same recordings,
    in the same order; ``kinds`` names each modality's kind (only ECG, PPG and
    respiration are scored). The floor is scored on the samples every method
    reconstructed (windows dropped by quality control leave NaN), so it is paired
    with the methods' rows: the same spans, beats and breaths. Columns:
    ``subject``, ``method`` and those of :func:`mimo_lib.evaluation.fidelity.score_recording`.
    """
    scored = {name: kind for name, kind in kinds.items() if kind in KINDS}
    if not scored:
        raise ValueError(f"no modality of kind {KINDS} among {dict(kinds)}: nothing to score")
    resp, ecg = _first_of_kind(scored, "resp"), _first_of_kind(scored, "ecg")
    tables = []
    for recordings in zip(*methods.values(), strict=True):
        first = recordings[0]
        if any(r.subject != first.subject for r in recordings):
            raise ValueError(f"methods reconstruct different recordings: {[r.subject for r in recordings]}")
        breaths = reference_breaths(first, resp) if resp else None
        beats = reference_beats(first, ecg) if ecg else None
        original = dict(zip(first.modalities, first.original))
        covered = np.logical_and.reduce([np.isfinite(recording.reconstruction) for recording in recordings])
        floor = {name: np.where(row, original[name], np.nan) for name, row in zip(first.modalities, covered)}
        for method, recording in ((ORIGINAL_METHOD, first), *zip(methods, recordings)):
            values = (floor if method == ORIGINAL_METHOD
                      else dict(zip(recording.modalities, recording.reconstruction)))
            table = score_recording(original, values, first.rate, scored, breaths, beats)
            tables.append(table.assign(subject=first.subject, method=method))
    columns = ["subject", "method"]
    return pd.concat(tables, ignore_index=True).pipe(lambda t: t[columns + [c for c in t.columns if c not in columns]])


def fidelity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over recordings per measure (rows) and method (columns), from :func:`score_reconstructions`.

    Counts of what was scored and not are kept per method as ``<method> n`` columns (scored / not scored).
    """
    summaries = {}
    for method, rows in table.groupby("method", sort=False):
        per_recording = {subject: group.drop(columns=["subject", "method"]) for subject, group in rows.groupby("subject")}
        summaries[method] = summarize_scores(per_recording).set_index(["modality", "measure", "reference", "unit"])
    values = pd.DataFrame({method: summary["mean"] for method, summary in summaries.items()})
    for method, summary in summaries.items():
        values[f"{method} n"] = summary["n_scored"].astype(str) + " / " + summary["n_not_scored"].astype(str)
    return values


def pca_for(run: TrainedRun) -> PCABaseline:
    """PCA with as many components as the run's latent, fitted on the run's training windows."""
    return fit_pca(run.split("train").windows, run.model.latent_dim)


def reconstructions_beside_pca(
    run: TrainedRun, recordings: str | Path | list[Recording]
) -> dict[str, list[RecordingReconstruction]]:
    """Whole reconstructions of the run's model and of PCA at equal latent size (:func:`pca_for`), by method."""
    if isinstance(recordings, (str, Path)):
        recordings = run.read_recordings(recordings)
    pca = pca_for(run)
    return {
        MODEL_METHOD: run.reconstruct(recordings),
        f"pca-{pca.n_components}": run.reconstruct(recordings, reconstructor=pca.reconstruct),
    }


def coded_fidelity(
    run: TrainedRun, recordings: str | Path | list[Recording], coders: Mapping[str, Callable[[np.ndarray], np.ndarray]]
) -> pd.DataFrame:
    """:func:`score_reconstructions` of the recordings put through each coder (name -> normalised windows in and
    out, e.g. :func:`mimo_lib.evaluation.rate_distortion.latent_coder`), windowed back to back with the run's
    preprocessing, so that every sample is coded once, as a codec sends it."""
    back_to_back = run.with_stride(run.params.preprocessing.window_seconds)
    return score_reconstructions(back_to_back.reconstruct_each(recordings, coders), modality_kinds(run.params))


def fidelity_beside_pca(run: TrainedRun, recordings: str | Path | list[Recording]) -> pd.DataFrame:
    """:func:`score_reconstructions` of the run's model and of PCA at equal latent size on the same recordings."""
    return score_reconstructions(reconstructions_beside_pca(run, recordings), modality_kinds(run.params))


RATE_SPANS = {"ecg": ("heart rate", "bpm", 8.0), "ppg": ("pulse rate", "bpm", 8.0), "resp": ("breathing rate", "breaths/min", 32.0)}


def rate_pairs(reconstructions: list[RecordingReconstruction], kinds: Mapping[str, str]) -> pd.DataFrame:
    """Per span: the reference rate and the reconstruction's (for a Bland–Altman plot).

    The reference is the original's detections, or the annotated breaths where
    they exist, as in :func:`score_reconstructions`. Columns ``subject``,
    ``modality``, ``measure``, ``unit``, ``reference``, ``reconstructed``; spans
    where either rate is undefined are left out.
    """
    rows = []
    for recording in reconstructions:
        for index, name in enumerate(recording.modalities):
            kind = kinds.get(name)
            if kind not in RATE_SPANS:
                continue
            measure, unit, span_s = RATE_SPANS[kind]
            original, reconstructed = recording.original[index], recording.reconstruction[index]
            valid = np.isfinite(original) & np.isfinite(reconstructed)
            reference = reference_breaths(recording, name) if kind == "resp" else None
            if reference is None:
                reference = DETECTORS[kind](original, recording.rate)
            rates = [span_rates(events, recording.rate, recording.length, span_s, valid)
                     for events in (reference, DETECTORS[kind](reconstructed, recording.rate))]
            both = np.isfinite(rates[0]) & np.isfinite(rates[1])
            rows += [{"subject": recording.subject, "modality": name, "measure": measure, "unit": unit,
                      "reference": a, "reconstructed": b} for a, b in zip(rates[0][both], rates[1][both])]
    return pd.DataFrame(rows, columns=["subject", "modality", "measure", "unit", "reference", "reconstructed"])
