"""Reuse a trained run: latent vectors per window, reconstructions in physical units, imputation.

:func:`load_run` rebuilds the model of a run folder's checkpoint together with
its params. :meth:`TrainedRun.encode` takes recordings (preprocessed exactly as
the run's training data: :func:`mimo_lib.data.prepare.prepare_recording`, then the
run's normalisation), a prepared :class:`~mimo_lib.data.types.WindowSet` or an
``(N, M, T)`` array already on the model's scale, and returns one row per window:

``subject, start, latent_0 … latent_{k-1}, weight_<modality> …, mean_<modality> …, std_<modality> …``

The ``mean_``/``std_`` columns (absent for bare arrays) are the normalisation
statistics of each window, so :meth:`TrainedRun.decode` can return the
reconstruction in the recording's units (``reconstruction * std + mean``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mimo_lib.calibration.stretch import calibration_stretch, check_target_kinds, target_sample_kinds
from mimo_lib.config import CorruptionConfig, DataConfig, Params
from mimo_lib.data.normalization import normalize
from mimo_lib.data.prepare import PreparedRecording, prepare, prepare_recording
from mimo_lib.data.renaming import check_mapping, recorded_names, renamed
from mimo_lib.data.sources import MissingSignalError, SourceError, load_recordings
from mimo_lib.data.types import Recording, WindowSet
from mimo_lib.data.windowing import EXACT
from mimo_lib.evaluation.robustness import write_robustness
from mimo_lib.model import MiMoAE
from mimo_lib.model.inference import as_windowset, decode_latent, impute, latents, predict, present_mask
from mimo_lib.reconstruction import RecordingReconstruction, stitch_prepared
from mimo_lib.training.adaptation import DEFAULT_ADAPTATION, AdaptationConfig, adapt_imputer
from mimo_lib.training.checkpoint import load_model

Source = str | Path | Recording | Sequence[Recording] | WindowSet | np.ndarray
SOURCE_TYPES = "a path (file or folder of recordings), a Recording, a list of Recordings, a WindowSet or an (N, M, T) array"
# Keys of the data section that say how recordings are stored (not which signals they hold).
STORAGE_KEYS = ("source", "file_glob", "subject_pattern", "time_column", "sampling_rate", "bits_per_sample")
ONE_FILE_SUBJECT = r"(?P<subject>.+)"


def _numpy(value: Any) -> np.ndarray:
    return value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


@dataclass
class TrainedRun:
    """A trained model with the params and normalisation it was trained with."""

    run_dir: Path
    model: MiMoAE
    params: Params
    normalization: dict[str, Any]
    epoch: int

    @property
    def modalities(self) -> list[str]:
        return list(self.model.modalities)

    @property
    def latent_columns(self) -> list[str]:
        return [f"latent_{i}" for i in range(self.model.latent_dim)]

    def split(self, name: str) -> WindowSet:
        """Prepared windows of one split of the run's own data (cached by :func:`mimo_lib.data.prepare.prepare`)."""
        sets = prepare(self.params, progress=False)
        if name not in sets:
            raise ValueError(f"the run's params define no {name!r} split; available: {sorted(sets)}")
        return sets[name]

    def read_recordings(self, path: str | Path, missing: Sequence[str] = (), mapping: Mapping[str, str] | None = None,
                        storage: Mapping[str, Any] | None = None) -> list[Recording]:
        """Every recording in a folder (or one file), read with the run's data params but this location.

        ``mapping`` names the recordings' signals as the run's modalities
        (``{"RSP": "RESP"}``: the recordings' ``RSP`` is the run's ``RESP``);
        ``storage`` says how these files differ from the run's in how they are stored
        (keys of :data:`STORAGE_KEYS`, e.g. ``{"time_column": None, "sampling_rate": 100}``).
        A ``.hea`` file is read as a WFDB record; one file whose name the run's
        ``subject_pattern`` does not match is its own subject. Recordings at another
        rate are resampled to the run's when prepared. Columns of the ``missing``
        modalities are not read (the files may lack them).
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"recordings not found: {path}")
        mapping = check_mapping(mapping, self.modalities)
        params = self._reading_params(path, missing, mapping, storage or {})
        try:
            recordings = load_recordings(params, None)
        except MissingSignalError as error:
            raise SourceError(f"{error}{_mapping_hint(error, params.data, self._params_without(missing).data)}") from error
        if not recordings:
            data = params.data
            raise ValueError(
                f"no recording in {data.root} matches file_glob {data.file_glob!r} and subject_pattern "
                f"{data.subject_pattern!r}"
            )
        return [renamed(recording, mapping) for recording in recordings]

    def _reading_params(self, path: Path, missing: Sequence[str], mapping: Mapping[str, str],
                        storage: Mapping[str, Any]) -> Params:
        """The run's params (without ``missing``) pointed at ``path``, in the recordings' names and storage."""
        unknown = sorted(set(storage) - set(STORAGE_KEYS))
        if unknown:
            raise ValueError(f"storage keys {unknown} do not describe how recordings are stored; use {list(STORAGE_KEYS)}")
        tree = self._params_without(missing).to_dict()
        data = tree["data"]
        data.update(storage)
        if path.suffix == ".hea":
            data["source"] = "wfdb"
        if data["source"] == "synthetic":
            data["source"] = "csv"
        data["splits"], data["optional_test_subjects"] = {}, []
        data["root"] = str(path.resolve() if path.is_dir() else path.resolve().parent)
        if path.is_file():
            data["file_glob"] = path.name
            if not re.search(data["subject_pattern"], path.stem):
                data["subject_pattern"] = ONE_FILE_SUBJECT
        _rename_modalities(tree, dict(zip(data["modalities"], recorded_names(data["modalities"], mapping))))
        return Params.model_validate(tree)

    def _params_without(self, missing: Sequence[str]) -> Params:
        """The run's params for recordings that lack the ``missing`` modalities."""
        present_mask(self.modalities, list(missing))
        tree = self.params.to_dict()
        _rename_modalities(tree, {m: m for m in self.modalities if m not in missing})
        return Params.model_validate(tree)

    def _normalize(self, raw: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """The run's normalisation; ``global`` reuses the training statistics stored in the checkpoint."""
        method = self.normalization["method"]
        stats = None
        if method == "global":
            stats = (_numpy(self.normalization["mean"]), _numpy(self.normalization["std"]))
        return normalize(raw, subjects, method, stats)

    def windows(self, source: Source, missing: Sequence[str] = (), mapping: Mapping[str, str] | None = None,
                storage: Mapping[str, Any] | None = None) -> WindowSet:
        """Model-ready windows from a path, recordings, a WindowSet (checked) or an ``(N, M, T)`` array (as is).

        A path (a file or a folder of recordings) is read with the run's own source
        settings, or those ``storage`` changes, and recordings' signals are named by
        ``mapping`` (:meth:`read_recordings`). Recordings are prepared without the
        ``missing`` modalities (they may lack them; they take no part in quality
        control) and those rows are left zero.
        """
        if not isinstance(source, (WindowSet, np.ndarray)):
            source = self.recordings(source, missing, mapping, storage)
        if isinstance(source, WindowSet):
            if source.modalities != self.modalities:
                raise ValueError(f"windows have modalities {source.modalities}; the run expects {self.modalities}")
            return source
        if isinstance(source, np.ndarray):
            return as_windowset(source, self.modalities, self.params.preprocessing.target_rate)
        prepared = self._prepare(source, missing)
        dropped = {p.subject: p.dropped for p in prepared}
        if not sum(len(p.windows) for p in prepared):
            raise ValueError(f"no window of {[p.origin or p.subject for p in prepared]} passed quality "
                             f"control; dropped per subject and reason: {dropped}")
        return self._model_windows(prepared, missing)

    def _prepare(self, recordings: list[Recording], missing: Sequence[str]) -> list[PreparedRecording]:
        """Each recording filtered, resampled and windowed as the run's training data (without ``missing``)."""
        params = self._params_without(missing)
        return [prepare_recording(recording, params) for recording in recordings]

    def _model_windows(self, prepared: list[PreparedRecording], missing: Sequence[str]) -> WindowSet:
        """The kept windows of ``prepared`` normalised as in training; ``missing`` rows zero."""
        kept = np.concatenate([p.windows for p in prepared])
        present = present_mask(self.modalities, list(missing))
        raw = np.zeros((len(kept), len(self.modalities), kept.shape[-1]))
        raw[:, present] = kept
        subjects = np.concatenate([np.full(len(p.windows), p.subject) for p in prepared]).astype(str)
        starts = np.concatenate([p.starts for p in prepared])
        normalised, normalization = self._normalize(raw, subjects)
        normalised[:, ~present] = 0.0
        return WindowSet(normalised, subjects, starts, self.modalities, float(self.params.preprocessing.target_rate),
                         normalization, provenance=self.params.digest("data", "preprocessing"),
                         dropped={p.subject: p.dropped for p in prepared})

    def reconstruct(
        self,
        source: str | Path | Recording | Sequence[Recording],
        missing: Sequence[str] = (),
        reconstructor: Callable[[np.ndarray], np.ndarray] | None = None,
        batch_size: int = 256,
        calibrate_seconds: float | None = None,
        adaptation: AdaptationConfig = DEFAULT_ADAPTATION,
        mapping: Mapping[str, str] | None = None,
        storage: Mapping[str, Any] | None = None,
    ) -> list[RecordingReconstruction]:
        """Each recording back as continuous signals at the run's target rate, in recording units.

        Windows are reconstructed (by the model, with the ``missing`` modalities
        absent at its input, or by ``reconstructor``: normalised ``(N, M, T)`` windows
        in, the same shape out, e.g. a PCA baseline's ``reconstruct``), each
        window's own scale is restored, and overlapping windows are stitched by
        tapered overlap-add (:func:`mimo_lib.data.stitching.stitch`). Samples no
        kept window covers (dropped by quality control, or the tail) are NaN.
        A missing modality's scale was never recorded: its rows stay on the model's
        normalised scale.

        With ``calibrate_seconds`` the ``missing`` modalities must be recorded at the
        start of each recording: the model is adapted to it there (:meth:`calibrated`),
        and their rows are NaN over that calibration stretch, where they were recorded
        and nothing was imputed. ``mapping`` and ``storage`` apply to recordings read
        from a path as in :meth:`read_recordings`; the results name the run's modalities.
        """
        if calibrate_seconds is not None:
            if reconstructor is not None:
                raise ValueError("calibrate_seconds adapts the run's own model; it cannot apply to a reconstructor")
            return [self._calibrated_reconstruction(recording, missing, calibrate_seconds, adaptation, batch_size)
                    for recording in self._calibration_recordings(source, mapping, storage)]
        present = present_mask(self.modalities, list(missing))
        if reconstructor is None:
            def windows_through(windows: WindowSet) -> np.ndarray:
                return predict(self.model, windows, batch_size, present=present)[0]
        else:
            windows_through = _on_arrays(reconstructor)
        recordings = self.recordings(source, missing, mapping, storage)
        return self._stitched(recordings, missing, {"": windows_through})[""]

    def with_stride(self, seconds: float) -> TrainedRun:
        """The run slicing recordings into windows every ``seconds`` (the window length: back to back, so that a
        reconstruction is exactly its windows' and each sample lies in one window)."""
        tree = self.params.to_dict()
        tree["preprocessing"]["stride_seconds"] = seconds
        return replace(self, params=Params.model_validate(tree))

    def reconstruct_each(
        self,
        source: str | Path | Recording | Sequence[Recording],
        reconstructors: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    ) -> dict[str, list[RecordingReconstruction]]:
        """Each recording reconstructed by each of ``reconstructors`` (name -> normalised ``(N, M, T)`` windows in,
        the same shape out), the recordings prepared once; stitched as :meth:`reconstruct` does."""
        on_windows = {name: _on_arrays(reconstructor) for name, reconstructor in reconstructors.items()}
        return self._stitched(self.recordings(source), [], on_windows)

    def _stitched(
        self, recordings: list[Recording], missing: Sequence[str],
        reconstructors: Mapping[str, Callable[[WindowSet], np.ndarray]],
    ) -> dict[str, list[RecordingReconstruction]]:
        """Per reconstructor, each recording prepared (once) as in training without ``missing``, its kept windows
        reconstructed, their own scale restored (not for ``missing`` rows) and stitched back together."""
        present = present_mask(self.modalities, list(missing))
        rate = float(self.params.preprocessing.target_rate)
        results: dict[str, list[RecordingReconstruction]] = {name: [] for name in reconstructors}
        for recording, prepared in zip(recordings, self._prepare(recordings, missing)):
            windows = self._model_windows([prepared], missing) if len(prepared.windows) else None
            for name, reconstructor in reconstructors.items():
                values = np.empty((0, len(self.modalities), self.model.window_length))
                if windows is not None:
                    recon = reconstructor(windows)
                    values = np.where(present[:, None], windows.denormalize(recon), recon)
                results[name].append(stitch_prepared(prepared, values, self.modalities, present, rate, recording.rates))
        return results

    def _calibrated_reconstruction(self, recording: Recording, missing: Sequence[str], seconds: float,
                                   adaptation: AdaptationConfig, batch_size: int) -> RecordingReconstruction:
        (result,) = self.calibrated(recording, missing, seconds, adaptation).reconstruct(
            recording, missing, batch_size=batch_size)
        stretch = min(result.length, round(seconds * result.rate))
        result.reconstruction[~present_mask(self.modalities, list(missing)), :stretch] = np.nan
        return result

    def recordings(self, source: str | Path | Recording | Sequence[Recording], missing: Sequence[str] = (),
                   mapping: Mapping[str, str] | None = None, storage: Mapping[str, Any] | None = None) -> list[Recording]:
        """Recordings whose signals carry the run's modality names: read from a path (:meth:`read_recordings`), or given.

        Given recordings are renamed by ``mapping``; ``storage`` applies to a path only.
        """
        if isinstance(source, (str, Path)):
            return self.read_recordings(source, missing, mapping, storage)
        mapping = check_mapping(mapping, self.modalities)
        return [renamed(recording, mapping) for recording in
                ([source] if isinstance(source, Recording) else _recording_list(source))]

    def _calibration_recordings(self, source: str | Path | Recording | Sequence[Recording],
                                mapping: Mapping[str, str] | None, storage: Mapping[str, Any] | None) -> list[Recording]:
        """Recordings with every modality of the run, for calibration: read from a path, or given."""
        if isinstance(source, (WindowSet, np.ndarray)):
            raise TypeError(f"calibration needs whole recordings (a path, a Recording or a list of them), not "
                            f"{type(source).__name__}: the calibration stretch must hold the missing sensors")
        return self.recordings(source, (), mapping, storage)

    def calibrated(self, recording: Recording, missing: Sequence[str], seconds: float,
                   adaptation: AdaptationConfig = DEFAULT_ADAPTATION) -> TrainedRun:
        """This run with its model adapted to one recording, to impute ``missing`` there.

        The first ``seconds`` of ``recording`` (the calibration stretch,
        :func:`mimo_lib.calibration.stretch.calibration_stretch`) must hold every
        modality; its windows (one every ``adaptation.stride_seconds``, the present
        modalities quality controlled as in training) fine-tune the fusion and
        decoders to reconstruct ``missing`` with them masked
        (:func:`mimo_lib.training.adaptation.adapt_imputer`). A target's clipped samples
        count as bounds on the true value, its flat or absent ones take no part
        (:func:`mimo_lib.calibration.stretch.target_sample_kinds`). Windows dropped by
        quality control and the target's clipped or unusable samples are counted in
        warnings naming the subject (:func:`mimo_lib.calibration.stretch.check_target_kinds`).
        """
        pre, missing = self.params.preprocessing, list(missing)
        stretch = calibration_stretch(recording, seconds, missing, pre.window_seconds, pre.flat_std)
        params = self.params.model_copy(deep=True)
        params.preprocessing.stride_seconds = adaptation.stride_seconds
        prepared = prepare_recording(stretch, params, unchecked=missing)
        where = f"subject {recording.subject}: "
        reasons = {reason: count for reason, count in prepared.dropped.items() if count}
        if not len(prepared.windows):
            raise ValueError(f"{where}no {pre.window_seconds:g} s window of the calibration stretch [0, {seconds:g}) s "
                             f"passes quality control (dropped per reason: {reasons})")
        if reasons:
            warnings.warn(f"{where}{len(prepared.windows)} of {len(prepared.windows) + sum(reasons.values())} windows "
                          f"of the calibration stretch [0, {seconds:g}) s pass quality control (dropped per reason: "
                          f"{reasons}); the calibration adapts to those alone", stacklevel=2)
        kinds = self._target_kinds(stretch, prepared, missing, adaptation.margin_seconds)
        check_target_kinds({name: kinds[:, self.modalities.index(name)] for name in missing}, recording, seconds)
        windows, _ = self._normalize(prepared.windows, np.full(len(prepared.windows), recording.subject))
        model = adapt_imputer(self.model, windows, missing, self.params.loss, adaptation, kinds)
        return replace(self, model=model)

    def _target_kinds(self, stretch: Recording, prepared: PreparedRecording, missing: list[str],
                      margin_seconds: float) -> np.ndarray:
        """``(N, M, T)`` int8 over the kept windows of ``prepared``: :data:`~mimo_lib.data.windowing.EXACT` for
        present modalities, for the ``missing`` ones :func:`~mimo_lib.calibration.stretch.target_sample_kinds`."""
        pre = self.params.preprocessing
        length = prepared.signals.shape[1]
        kinds = np.full((len(self.modalities), length), EXACT, dtype=np.int8)
        kinds[[self.modalities.index(name) for name in missing]] = target_sample_kinds(
            stretch, missing, pre.target_rate, length, pre.max_gap_seconds, pre.flat_std, pre.flat_seconds,
            margin_seconds)
        offsets = np.rint(prepared.starts * pre.target_rate).astype(int)
        return kinds[:, offsets[:, None] + np.arange(self.model.window_length)].transpose(1, 0, 2)

    def encode(self, source: Source, missing: Sequence[str] = (), batch_size: int = 256,
               mapping: Mapping[str, str] | None = None, storage: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One row per window: subject, start, latent vector, fusion weights and normalisation statistics.

        ``missing`` modalities are masked out: the latent comes from the others only.
        ``mapping`` and ``storage`` apply to recordings as in :meth:`windows`.
        """
        windowset = self.windows(source, missing, mapping, storage)
        present = present_mask(self.modalities, list(missing))
        latent, weights = latents(self.model, windowset, batch_size, present=present)
        columns: dict[str, Any] = {"subject": np.asarray(windowset.subjects).astype(str),
                                   "start": np.asarray(windowset.starts, dtype=float)}
        columns.update(zip(self.latent_columns, latent.T))
        columns.update({f"weight_{m}": weights[:, i] for i, m in enumerate(self.modalities)})
        if windowset.normalization["method"] != "none":
            shape = (len(windowset), len(self.modalities))
            for key in ("mean", "std"):
                stats = np.broadcast_to(_numpy(windowset.normalization[key])[..., 0], shape)
                columns.update({f"{key}_{m}": stats[:, i] for i, m in enumerate(self.modalities)})
        return pd.DataFrame(columns)

    def decode(self, frame: pd.DataFrame, physical: bool = True, batch_size: int = 256) -> np.ndarray:
        """Reconstructions ``(N, M, T)`` from an :meth:`encode` frame.

        With ``physical`` and the frame's ``mean_``/``std_`` columns, the normalisation
        is undone (recording units); otherwise values stay on the model's scale.
        """
        missing = [c for c in self.latent_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks latent column(s) {missing[:4]}{' …' if len(missing) > 4 else ''}; "
                             f"this run's latent has {self.model.latent_dim} columns latent_0 … "
                             f"latent_{self.model.latent_dim - 1}")
        recon = decode_latent(self.model, frame[self.latent_columns].to_numpy(np.float32), batch_size)
        if not physical:
            return recon
        stats = [f"{key}_{m}" for key in ("mean", "std") for m in self.modalities]
        present = [c for c in stats if c in frame.columns]
        if not present:
            return recon
        if len(present) < len(stats):
            raise ValueError(f"frame has some normalisation columns but lacks {sorted(set(stats) - set(present))}")
        mean = frame[stats[:len(self.modalities)]].to_numpy(np.float64)[:, :, None]
        std = frame[stats[len(self.modalities):]].to_numpy(np.float64)[:, :, None]
        return (recon * std + mean).astype(np.float32)

    def impute(self, source: Source, missing: list[str], batch_size: int = 256, calibrate_seconds: float | None = None,
               adaptation: AdaptationConfig = DEFAULT_ADAPTATION, mapping: Mapping[str, str] | None = None,
               storage: Mapping[str, Any] | None = None) -> np.ndarray:
        """Every modality reconstructed from the present ones (model scale; see :func:`mimo_lib.model.inference.impute`).

        Values are on the model's normalised scale: the statistics of a sensor that
        was never recorded are unknown, so its physical scale cannot be restored.
        With ``calibrate_seconds`` each recording's first seconds, where the ``missing``
        sensors were still worn, adapt the model to it first (:meth:`calibrated`);
        the windows are those of :meth:`windows` (``source, missing``) in the same
        order, and those starting inside the calibration stretch overlap the fit.
        ``mapping`` and ``storage`` apply to recordings as in :meth:`windows`.
        """
        if calibrate_seconds is None:
            return impute(self.model, self.windows(source, missing, mapping, storage), missing, batch_size)
        parts = [self.calibrated(recording, missing, calibrate_seconds, adaptation).impute(recording, missing, batch_size)
                 for recording in self._calibration_recordings(source, mapping, storage)]
        return np.concatenate(parts)

    def write_robustness(self, split: str = "test", sets: dict[str, WindowSet] | None = None,
                         corruption: CorruptionConfig | None = None, seed: int = 0) -> list[Path]:
        """Imputation and denoising tables of ``split`` into the run folder (:func:`mimo_lib.evaluation.robustness.write_robustness`).

        The corruption defaults to the run's ``training.corruption`` (probability 0 read as 1).
        """
        if sets is not None and split not in sets:
            raise ValueError(f"no {split!r} split among the given windows; available: {sorted(sets)}")
        windows = self.split(split) if sets is None else sets[split]
        return write_robustness(self.model, windows, self.run_dir, split,
                                corruption or self.params.training.corruption, seed)


def _rename_modalities(tree: dict[str, Any], names: Mapping[str, str]) -> None:
    """In a params tree, keep the modalities ``names`` holds, renamed, in ``data.modalities`` and every
    per-modality mapping (kinds, bands, loss weights, dropout); the others are left out."""
    tree["data"]["modalities"] = [names[m] for m in tree["data"]["modalities"] if m in names]
    for section, key in (("data", "kinds"), ("preprocessing", "bands"), ("loss", "modality_weights")):
        tree[section][key] = {names[m]: value for m, value in tree[section][key].items() if m in names}
    dropout = tree["training"]["modality_dropout"]
    if isinstance(dropout, dict):
        tree["training"]["modality_dropout"] = {names[m]: value for m, value in dropout.items() if m in names}


def _mapping_hint(error: MissingSignalError, read: DataConfig, run: DataConfig) -> str:
    """What to do about signals a recording lacks: map one onto each modality, or say how the files are stored."""
    by_name = dict(zip(read.modalities, run.modalities))
    lacking = [by_name[name] for name in error.missing if name in by_name]
    hints = []
    if lacking:
        hints.append(f"the run needs modalities {lacking}: name the recording's signal for each, e.g. "
                     f"--map NAME={lacking[0]} (API: mapping={{'NAME': '{lacking[0]}'}})")
    if read.time_column and read.time_column in error.missing:
        hints.append("say how these files are stored with --input-params FILE "
                     "(API: storage={'time_column': None, 'sampling_rate': HZ})")
    return "".join(f"; {hint}" for hint in hints)


def _recording_list(source: object) -> list[Recording]:
    """``source`` as a list of recordings; anything else is a TypeError naming what is accepted."""
    items = list(source) if isinstance(source, Sequence) else None
    if items is None or not all(isinstance(item, Recording) for item in items):
        raise TypeError(f"recordings must be {SOURCE_TYPES}; got {type(source).__name__}")
    return items


def _on_arrays(reconstructor: Callable[[np.ndarray], np.ndarray]) -> Callable[[WindowSet], np.ndarray]:
    """A reconstructor of normalised ``(N, M, T)`` arrays as one of prepared windows."""
    return lambda windows: reconstructor(windows.windows)


def load_run(run_dir: str | Path, checkpoint: str = "best.pt", device: str = "cpu") -> TrainedRun:
    """The model of ``<run_dir>/checkpoints/<checkpoint>`` with the params and normalisation stored in it."""
    run_dir = Path(run_dir)
    path = run_dir / "checkpoints" / checkpoint
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a trained run folder: {path} is missing")
    model, params, content = load_model(path, device)
    normalization = dict(content.get("normalization") or {"method": params.preprocessing.normalization})
    return TrainedRun(run_dir, model, params, normalization, int(content["epoch"]))
