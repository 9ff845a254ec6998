"""Params files for real datasets: they load, keep splits honest and prepare real recordings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mimo_lib.config import PROJECT_ROOT, ParamsError, load_params
from mimo_lib.data.prepare import prepare

PARAMS = PROJECT_ROOT / "params"


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and key not in {"splits", "kinds", "bands", "modality_weights"}:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_bidmc_params_describe_the_csv_release() -> None:
    params = load_params(PARAMS / "bidmc.yaml")
    data = params.data
    assert (data.source, data.time_column, data.sampling_rate) == ("csv", "Time [s]", 125)
    assert data.modalities == ["RESP", "PLETH", "II"]
    assert data.kinds == {"RESP": "resp", "PLETH": "ppg", "II": "ecg"}
    assert data.splits == {
        "train": [f"{i:02d}" for i in range(1, 31)],
        "val": [f"{i:02d}" for i in range(31, 36)],
        "test": [f"{i:02d}" for i in range(36, 41)],
    }
    assert data.optional_test_subjects == [f"{i:02d}" for i in range(41, 54)]
    assert (params.preprocessing.target_rate, params.preprocessing.window_seconds) == (30, 8)
    assert params.model.latent_dim == 128


def test_protocol_b_changes_only_the_target_rate_and_the_loss_on_the_pulse() -> None:
    a = _flatten(load_params(PARAMS / "bidmc.yaml").to_dict())
    b = _flatten(load_params(PARAMS / "bidmc_protocol_b.yaml").to_dict())
    assert {key for key in a if a[key] != b[key]} == {"preprocessing.target_rate", "loss.modality_weights",
                                                      "loss.slope_weight"}
    assert b["preprocessing.target_rate"] == 125 and b["loss.modality_weights"] == {"PLETH": 8.0}
    assert b["loss.slope_weight"] == 0.1


def test_optional_test_subjects_may_not_be_in_a_split() -> None:
    with pytest.raises(ParamsError, match=r"optional_test_subjects.*'?36'? \(in test\)"):
        load_params(PARAMS / "bidmc.yaml", {"data.optional_test_subjects": ["36", "41"]})


def test_extends_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ParamsError, match="loops back"):
        load_params(tmp_path / "a.yaml")


def test_neurokit_params_read_one_headerless_file() -> None:
    data = load_params(PARAMS / "neurokit.yaml").data
    assert (data.source, data.time_column, data.sampling_rate) == ("csv", None, 100)
    assert data.modalities == ["ECG", "PPG", "RSP"]
    assert data.splits == {"train": ["resting_5min"]}


def _expected_windows(seconds: float, params) -> int:
    pre = params.preprocessing
    return int((seconds - pre.window_seconds) // pre.stride_seconds) + 1


@pytest.mark.parametrize(("file", "samples"), [("bidmc.yaml", 240), ("bidmc_protocol_b.yaml", 1000)])
def test_bidmc_subjects_prepare_to_the_protocol_shape(bidmc_dir: Path, tmp_path: Path, file: str, samples: int) -> None:
    params = load_params(PARAMS / file, {
        "data.root": str(bidmc_dir / "bidmc_csv"), "paths.processed": str(tmp_path),
        "data.splits": {"train": ["01"], "test": ["02"]},
    })
    sets = prepare(params, progress=False)
    assert set(sets) == {"train", "test"}
    for split, subject in (("train", "01"), ("test", "02")):
        windows = sets[split]
        assert windows.windows.shape[1:] == (3, samples)
        assert windows.modalities == ["RESP", "PLETH", "II"]
        assert set(windows.subjects) == {subject}
        rows = len(pd.read_csv(bidmc_dir / "bidmc_csv" / f"bidmc_{subject}_Signals.csv", usecols=[0]))
        kept_and_dropped = len(windows) + sum(windows.dropped[subject].values())
        assert kept_and_dropped == _expected_windows(rows / 125, params)
        assert len(windows) >= 0.9 * kept_and_dropped


def test_neurokit_recording_prepares_into_train_windows(neurokit_dir: Path, tmp_path: Path) -> None:
    params = load_params(PARAMS / "neurokit.yaml", {"data.root": str(neurokit_dir), "paths.processed": str(tmp_path)})
    sets = prepare(params, progress=False)
    assert list(sets) == ["train"]
    train = sets["train"]
    rows = len(pd.read_csv(neurokit_dir / "bio_resting_5min_100hz.csv", usecols=[0]))
    window = int(params.preprocessing.window_seconds * params.preprocessing.target_rate)
    assert train.windows.shape[1:] == (3, window)
    assert set(train.subjects) == {"resting_5min"}
    kept_and_dropped = len(train) + sum(train.dropped["resting_5min"].values())
    assert kept_and_dropped == _expected_windows(rows / 100, params)
    assert len(train) >= 0.9 * kept_and_dropped
