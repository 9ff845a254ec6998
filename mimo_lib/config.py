"""Typed workbook parameters: defaults + params file + dotted overrides, validated once.

Every knob lives in ``params/default.yaml``. Other params files override only what
they change; command-line and papermill overrides are dotted keys such as
``training.epochs=2``. :func:`load_params` merges the three layers and validates
the result; an unknown key or a bad value raises :class:`ParamsError` naming the
key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mimo_lib.registry import FUSIONS, SOURCES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PARAMS = PROJECT_ROOT / "params" / "default.yaml"

Band = tuple[float, float]


# Params that choose how a run uses the machine, not what it computes: left out of digests.
RUNTIME_KEYS = (("training", "threads"),)


def project_path(path: str | Path) -> Path:
    """``path`` anchored at the project root when relative (notebooks run in notebooks/)."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


class ParamsError(ValueError):
    """A params file or override that cannot be used as given."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SyntheticConfig(_Section):
    """The embedded synthetic cohort."""

    n_subjects: int = Field(12, ge=1)
    duration_s: float = Field(180.0, gt=0)
    sampling_rate: float = Field(250.0, gt=0)
    seed: int = 0


class DataConfig(_Section):
    """Where recordings come from and which signals are modalities."""

    source: str = "synthetic"
    root: str = "data/raw/synthetic"
    file_glob: str = "*.csv"
    subject_pattern: str = r"(?P<subject>.+)"
    modalities: list[str] = Field(default_factory=lambda: ["ECG", "PPG", "RESP", "ABP"])
    kinds: dict[str, Literal["ecg", "ppg", "resp", "abp", "eda", "other"]] = Field(default_factory=dict)
    time_column: str | None = "time"
    sampling_rate: float | None = None
    bits_per_sample: int = Field(12, ge=1, le=32)
    splits: dict[str, list[str]] = Field(default_factory=dict)
    optional_test_subjects: list[str] = Field(default_factory=list)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)

    @field_validator("source")
    @classmethod
    def _source_registered(cls, value: str) -> str:
        SOURCES.lookup(value)
        return value

    @field_validator("modalities")
    @classmethod
    def _modalities_unique(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one modality is required")
        if len(set(value)) != len(value):
            raise ValueError(f"modality names must be unique, got {value}")
        return value

    @field_validator("splits")
    @classmethod
    def _splits_disjoint(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - {"train", "val", "test"}
        if unknown:
            raise ValueError(f"split names must be train, val, test; got {sorted(unknown)}")
        seen: dict[str, str] = {}
        for split, subjects in value.items():
            for subject in subjects:
                if subject in seen and seen[subject] != split:
                    raise ValueError(f"subject {subject!r} is in two splits: {seen[subject]} and {split}")
                seen[subject] = split
        return value

    @model_validator(mode="after")
    def _optional_test_subjects_not_in_splits(self) -> DataConfig:
        listed = {subject: split for split, subjects in self.splits.items() for subject in subjects}
        clash = [f"{subject} (in {listed[subject]})" for subject in self.optional_test_subjects if subject in listed]
        if clash:
            raise ValueError(f"data.optional_test_subjects are already in data.splits: {', '.join(clash)}")
        return self

    @model_validator(mode="after")
    def _kinds_name_modalities(self) -> DataConfig:
        unknown = sorted(set(self.kinds) - set(self.modalities))
        if unknown:
            raise ValueError(f"data.kinds names unknown modalities {unknown}; modalities are {self.modalities}")
        return self


class PreprocessingConfig(_Section):
    """Filtering, resampling, windowing, quality control and normalisation."""

    target_rate: float = Field(50.0, gt=0)
    window_seconds: float = Field(8.0, gt=0)
    stride_seconds: float = Field(4.0, gt=0)
    bands: dict[str, Band] = Field(default_factory=dict)
    filter_order: int = Field(4, ge=1, le=10)
    normalization: Literal["window", "global", "subject"] = "window"
    max_gap_seconds: float = Field(0.5, ge=0)
    flat_std: float = Field(1e-6, ge=0)
    flat_seconds: float = Field(2.0, gt=0)
    clip_fraction: float = Field(0.2, gt=0, le=1)

    @field_validator("bands")
    @classmethod
    def _bands_ordered(cls, value: dict[str, Band]) -> dict[str, Band]:
        for name, (low, high) in value.items():
            if not 0 <= low < high:
                raise ValueError(f"band for {name!r} must satisfy 0 <= low < high, got ({low}, {high})")
        return value


class ModelConfig(_Section):
    """MiMo-AE architecture."""

    fusion: str = "concat"
    latent_dim: int = Field(128, ge=1)
    bottleneck: Literal["flat", "temporal"] = "temporal"
    latent_steps: int = Field(16, ge=1)
    base_width: int = Field(16, ge=1)
    stages: list[int] = Field(default_factory=lambda: [2, 2, 2])
    decoder_stages: list[int] | None = None
    kernel_size: int = Field(7, ge=1)
    stem_stride: int = Field(2, ge=1)
    block: Literal["basic", "light"] = "light"
    compress_channels: int = Field(16, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    attention_heads: int = Field(4, ge=1)
    grouped: bool = True

    @field_validator("fusion")
    @classmethod
    def _fusion_registered(cls, value: str) -> str:
        FUSIONS.lookup(value)
        return value

    @field_validator("stages")
    @classmethod
    def _stages_positive(cls, value: list[int]) -> list[int]:
        if not value or any(n < 1 for n in value):
            raise ValueError(f"stages must be a non-empty list of block counts >= 1, got {value}")
        return value

    @field_validator("decoder_stages")
    @classmethod
    def _decoder_stages_positive(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(n < 0 for n in value):
            raise ValueError(f"decoder_stages must be block counts >= 0 (one per encoder stage), got {value}")
        return value

    @model_validator(mode="after")
    def _decoder_mirrors_encoder_depth(self) -> ModelConfig:
        if self.decoder_stages is not None and len(self.decoder_stages) != len(self.stages):
            raise ValueError(
                f"decoder_stages={self.decoder_stages} must have one block count per encoder stage "
                f"(stages={self.stages})"
            )
        return self

    @model_validator(mode="after")
    def _temporal_latent_divides(self) -> ModelConfig:
        if self.bottleneck == "temporal" and self.latent_dim % self.latent_steps:
            raise ValueError(
                f"latent_dim={self.latent_dim} must be a multiple of latent_steps={self.latent_steps} "
                "for the temporal bottleneck"
            )
        return self


class LossConfig(_Section):
    """Hybrid loss: (1 - spectral_weight) * weighted MSE + spectral_weight * spectral."""

    spectral_weight: float = Field(0.1, ge=0, le=1)
    modality_weights: dict[str, float] = Field(default_factory=dict)
    time_error: Literal["mse", "log", "modality_log"] = "mse"
    slope_weight: float = Field(0.0, ge=0)


class CorruptionConfig(_Section):
    """Denoising: corrupt training inputs while the target stays clean (off while probability is 0)."""

    probability: float = Field(0.0, ge=0, le=1)
    noise_snr_db: float | None = 10.0
    wander_amplitude: float = Field(0.5, ge=0)
    burst_amplitude: float = Field(2.0, ge=0)
    dropouts: bool = True
    max_event_seconds: float = Field(0.5, gt=0)


class TrainingConfig(_Section):
    """Optimisation, schedules, checkpoints and stopping."""

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=1)
    seed: int = 0
    learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    scheduler: Literal["none", "cosine", "step", "plateau"] = "cosine"
    warmup_epochs: int = Field(1, ge=0)
    step_size: int = Field(10, ge=1)
    gamma: float = Field(0.5, gt=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0)
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    monitor: str = "val_loss"
    keep: Literal["best", "last"] = "best"
    checkpoint_every: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    bf16: bool = True
    compile: bool = False
    random_crop: bool = False
    stretch: float = Field(0.0, ge=0, lt=1)
    modality_dropout: Annotated[float, Field(ge=0, lt=1)] | dict[str, Annotated[float, Field(ge=0, le=1)]] = 0.0
    missing_weight: float = Field(0.03, ge=0, le=1)
    missing_polarity: Literal["kept", "free", "subject"] = "kept"
    polarity_reference: str | None = None
    polarity_cutoff_hz: float = Field(0.7, gt=0)
    missing_delay: Literal["kept", "subject"] = "kept"
    delay_reference: str | None = None
    missing_lag_seconds: float = Field(0.0, ge=0)
    latent_noise: float = Field(0.0, ge=0)
    corruption: CorruptionConfig = Field(default_factory=CorruptionConfig)
    resume: str | None = None
    threads: int | None = Field(None, ge=1)

    def dropout_probabilities(self, modalities: list[str]) -> list[float]:
        """Probability of masking each of ``modalities`` at the input (a mapping leaves the unnamed at 0)."""
        if isinstance(self.modality_dropout, dict):
            return [float(self.modality_dropout.get(name, 0.0)) for name in modalities]
        return [float(self.modality_dropout)] * len(modalities)


class TrackingConfig(_Section):
    """Run folders and optional Weights & Biases logging."""

    run_name: str | None = None
    wandb: bool = False
    wandb_project: str = "mimo-ae"
    wandb_mode: Literal["auto", "online", "offline"] = "auto"
    n_example_windows: int = Field(4, ge=1)


class PathsConfig(_Section):
    """Folders, relative to the project root unless absolute."""

    raw: str = "data/raw"
    processed: str = "data/processed"
    runs: str = "runs"
    figures: str = "figures"


class Params(_Section):
    """All workbook parameters."""

    data: DataConfig = Field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)

    @model_validator(mode="after")
    def _per_modality_keys_known(self) -> Params:
        modalities = set(self.data.modalities)
        for key, mapping in (
            ("preprocessing.bands", self.preprocessing.bands),
            ("loss.modality_weights", self.loss.modality_weights),
            ("training.modality_dropout", self.training.modality_dropout
             if isinstance(self.training.modality_dropout, dict) else {}),
        ):
            unknown = sorted(set(mapping) - modalities)
            if unknown:
                raise ValueError(f"{key} names unknown modalities {unknown}; modalities are {self.data.modalities}")
        if min(self.training.dropout_probabilities(self.data.modalities)) >= 1:
            raise ValueError(f"training.modality_dropout masks every modality always: {self.training.modality_dropout}; "
                             "at least one needs a probability below 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML friendly)."""
        return self.model_dump(mode="json")

    def digest(self, *sections: str) -> str:
        """Short stable hash of the given sections (all when none given).

        Keys that choose how a run uses the machine, not what it computes
        (:data:`RUNTIME_KEYS`), are left out.
        """
        content = self.to_dict()
        for section, key in RUNTIME_KEYS:
            content[section].pop(key)
        if sections:
            content = {name: content[name] for name in sections}
        blob = json.dumps(content, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def resolve_path(self, path: str | Path) -> Path:
        """A path from params, anchored at the project root when relative."""
        return project_path(path)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"a.b=value"`` into the dotted key and a YAML-parsed value."""
    if "=" not in text:
        raise ParamsError(f"override {text!r} must look like key=value, e.g. training.epochs=2")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ParamsError(f"override {text!r} has an empty key")
    return key, yaml.safe_load(raw) if raw.strip() else None


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    node = tree
    parts = key.split(".")
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ParamsError(f"override {key!r}: {where!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _REPLACED_MAPPINGS:
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# Mappings keyed by modality or split are replaced whole, so a params file for
# another dataset does not inherit the default cohort's modality names.
_REPLACED_MAPPINGS = {"splits", "bands", "kinds", "modality_weights"}


def read_yaml(path: Path) -> dict[str, Any]:
    """A params-style YAML file as a mapping of sections; a missing, invalid or non-mapping file is a ParamsError."""
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ParamsError(f"params file {path} is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ParamsError(f"params file {path} must hold a mapping of sections, got {type(content).__name__}")
    return content


def _read_params_file(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A params file merged over the file named by its top-level ``extends`` key (relative to it), if any."""
    content = read_yaml(path)
    parent = content.pop("extends", None)
    if parent is None:
        return content
    base, chain = (path.parent / str(parent)).resolve(), (*seen, path.resolve())
    if base in chain:
        raise ParamsError(f"params file {path}: extends {parent!r} loops back to {base}")
    return _deep_merge(_read_params_file(base, chain), content)


def locate(path: str | Path) -> Path:
    """A relative path as given when it exists from here, or else relative to the project root.

    Params files, run folders and recordings named on the command line or in a
    notebook (which runs in ``notebooks/``) are found either way.
    """
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    anchored = PROJECT_ROOT / path
    return anchored if anchored.exists() else path


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"invalid parameters ({source}):"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        if item["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (value {item['input']!r})")
        elif item["type"] == "value_error" and isinstance(item["input"], dict):
            lines.append(f"  {key}: {item['msg']}")  # a cross-key check: its message names the keys and values
        else:
            lines.append(f"  {key}: {item['msg']} (got {item['input']!r})")
    return "\n".join(lines)


def load_params(
    path: str | Path | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> Params:
    """Merge ``params/default.yaml``, an optional params file and overrides; validate.

    ``overrides`` is a list of ``"dotted.key=value"`` strings (CLI ``--set``) or a
    mapping from dotted key to value (papermill parameters).
    """
    tree = read_yaml(DEFAULT_PARAMS)
    sources = [str(DEFAULT_PARAMS.relative_to(PROJECT_ROOT))]
    if path is not None:
        path = locate(Path(path))
        tree = _deep_merge(tree, _read_params_file(path))
        sources.append(str(path))
    pairs = list(overrides.items()) if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    if pairs:
        flat: dict[str, Any] = {}
        for key, value in pairs:
            _set_dotted(flat, key, value)
        tree = _deep_merge(tree, flat)
        sources.append("overrides " + ", ".join(f"{k}={v!r}" for k, v in pairs))
    try:
        return Params.model_validate(tree)
    except ValidationError as error:
        raise ParamsError(_describe(error, " + ".join(sources))) from None


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections as dotted keys: ``{"model": {"fusion": "gated"}}`` -> ``{"model.fusion": "gated"}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def check_key(key: str) -> None:
    """Raise :class:`ParamsError` unless ``key`` names a parameter (or an entry of a mapping parameter)."""
    section: type[BaseModel] = Params
    parts = key.split(".")
    for depth, part in enumerate(parts):
        field = section.model_fields.get(part)
        if field is None:
            where = ".".join(parts[:depth]) or "the top level"
            raise ParamsError(f"unknown params key {key!r}: {where} has {sorted(section.model_fields)}")
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return
        section = annotation
    raise ParamsError(f"params key {key!r} is a section; name one of its keys: {sorted(section.model_fields)}")


def value_text(value: Any) -> str:
    """A params value as a file-name-safe word: ``gated``, ``0.001``, ``[1, 2]`` -> ``1-2``, ``/a/b`` -> ``a-b``."""
    text = value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-") or "empty"


def short_keys(keys: Iterable[str]) -> dict[str, str]:
    """Each dotted key by its last part (``model.fusion`` -> ``fusion``), or whole where two keys share that part."""
    keys = list(keys)
    last = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: name if last.count(name) == 1 else key for key, name in zip(keys, last)}


def values_label(values: Mapping[str, Any]) -> str:
    """Params values as one readable, file-name-safe name: ``fusion=gated,seed=1``."""
    names = short_keys(values)
    return ",".join(f"{names[key]}={value_text(value)}" for key, value in values.items())


def save_params(params: Params, path: str | Path) -> Path:
    """Write the resolved params as YAML (loadable again with :func:`load_params`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params.to_dict(), sort_keys=False))
    return path
