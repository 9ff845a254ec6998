"""Params: defaults + file + dotted overrides, validated with messages naming key and value."""

from __future__ import annotations

import pytest
import yaml
from helpers import PROJECT_ROOT

from mimo_lib.config import ParamsError, load_params, parse_override, save_params

DOCUMENTED_KEYS = [
    "data.source", "data.modalities", "data.splits", "preprocessing.target_rate",
    "preprocessing.window_seconds", "preprocessing.stride_seconds", "preprocessing.bands",
    "preprocessing.normalization", "model.fusion", "model.latent_dim", "training.epochs",
    "training.batch_size", "training.seed",
]


def test_defaults_load_and_every_params_file_validates():
    load_params()
    for path in sorted((PROJECT_ROOT / "params").rglob("*.yaml")):
        load_params(path)


def test_params_file_overrides_only_what_it_changes():
    params = load_params(PROJECT_ROOT / "params" / "smoke.yaml")
    default = load_params()
    assert params.training.epochs == 2
    assert params.training.learning_rate == default.training.learning_rate
    assert params.data.splits["train"] == ["S01", "S02"]


def test_dotted_overrides_from_strings_and_mappings_agree():
    from_strings = load_params(overrides=["training.epochs=3", "model.stages=[1, 2]", "data.sampling_rate=125.5"])
    from_mapping = load_params(overrides={"training.epochs": 3, "model.stages": [1, 2], "data.sampling_rate": 125.5})
    assert from_strings == from_mapping
    assert from_strings.model.stages == [1, 2]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("training.epoch=3", "training.epoch: unknown key"),
        ("model.bottleneck=wide", "model.bottleneck"),
        ("training.epochs=0", "training.epochs"),
        ("preprocessing.normalization=minmax", "'minmax'"),
        ("nosection.key=1", "nosection: unknown key"),
    ],
)
def test_bad_key_or_value_is_named(override, expected):
    with pytest.raises(ParamsError, match=expected):
        load_params(overrides=[override])


def test_subject_in_two_splits_is_rejected():
    with pytest.raises(ParamsError, match="'S01' is in two splits"):
        load_params(overrides={"data.splits": {"train": ["S01"], "test": ["S01"]}})


def test_band_for_unknown_modality_is_rejected():
    with pytest.raises(ParamsError, match=r"preprocessing.bands names unknown modalities \['EEG'\]"):
        load_params(overrides={"preprocessing.bands": {"EEG": [1, 30]}})


def test_modality_dropout_per_modality():
    params = load_params(overrides={"training.modality_dropout": {"RESP": 1.0, "PPG": 0.2}})
    assert params.training.dropout_probabilities(["ECG", "PPG", "RESP", "ABP"]) == [0.0, 0.2, 1.0, 0.0]
    assert load_params(overrides=["training.modality_dropout=0.3"]).training.dropout_probabilities(["A", "B"]) == [0.3, 0.3]
    with pytest.raises(ParamsError, match=r"training.modality_dropout names unknown modalities \['EEG'\]"):
        load_params(overrides={"training.modality_dropout": {"EEG": 0.5}})
    with pytest.raises(ParamsError, match="masks every modality always"):
        load_params(overrides={"training.modality_dropout": {name: 1.0 for name in ("ECG", "PPG", "RESP", "ABP")}})
    with pytest.raises(ParamsError, match="modality_dropout"):
        load_params(overrides=["training.modality_dropout=1.0"])  # a single probability must stay below 1


def test_override_without_equals_sign_is_explained():
    with pytest.raises(ParamsError, match="key=value"):
        parse_override("training.epochs")


def test_missing_params_file_is_named(tmp_path):
    with pytest.raises(ParamsError, match="nope.yaml"):
        load_params(tmp_path / "nope.yaml")


def test_saved_params_round_trip(tmp_path):
    params = load_params(overrides=["model.latent_dim=64", "training.seed=7"])
    again = load_params(save_params(params, tmp_path / "params.yaml"))
    assert again == params
    assert again.digest() == params.digest()


def test_digest_tracks_the_sections_asked_for():
    base = load_params()
    other = load_params(overrides=["training.epochs=5"])
    assert base.digest("data", "preprocessing") == other.digest("data", "preprocessing")
    assert base.digest() != other.digest()


def test_required_keys_exist_and_are_documented():
    params = load_params().to_dict()
    readme = (PROJECT_ROOT / "README.md").read_text()
    for key in DOCUMENTED_KEYS:
        section, name = key.split(".")
        assert name in params[section], key
        assert f"`{key}`" in readme, f"{key} is not documented in README.md"


def test_default_yaml_holds_every_knob():
    """Every field of the typed params appears in params/default.yaml, so the file documents them all."""
    written = yaml.safe_load((PROJECT_ROOT / "params" / "default.yaml").read_text())
    resolved = load_params().to_dict()
    for section, values in resolved.items():
        assert set(values) == set(written[section]), section
