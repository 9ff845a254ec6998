"""Evaluation: model and PCA rows side by side, files written into the run folder."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import MODALITIES, sine_windows, tiny_params

from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.evaluate import evaluate_model
from mimo_lib.evaluation.metrics import METRICS
from mimo_lib.explorer import ReconstructionExplorer
from mimo_lib.model import build_model
from mimo_lib.model.inference import latents, predict
from mimo_lib.reports import evaluate_run, evaluation_figures, save_figures
from mimo_lib.training.trainer import train


@pytest.fixture(scope="module")
def sets():
    return {"train": sine_windows(48, 0), "val": sine_windows(12, 1, "V"), "test": sine_windows(12, 2, "T")}


def test_predict_shapes_and_batching(tmp_path, sets):
    params = tiny_params(tmp_path)
    model = build_model(params.model, MODALITIES, sets["test"].window_length).eval()
    recon, latent, weights = predict(model, sets["test"], batch_size=5)
    assert recon.shape == sets["test"].windows.shape and latent.shape == (12, 16) and weights.shape == (12, 2)
    full_batch = predict(model, sets["test"], batch_size=64)
    np.testing.assert_allclose(recon, full_batch[0], atol=1e-5)


def test_evaluate_model_tables(tmp_path, sets):
    params = tiny_params(tmp_path)
    model = build_model(params.model, MODALITIES, sets["test"].window_length).eval()
    evaluation = evaluate_model(model, sets, "test")
    assert evaluation.methods == ["mimo-ae", "pca-16"]
    assert len(evaluation.per_window) == 2 * 12 * 2
    assert set(evaluation.per_window.columns) >= {"window", "subject", "modality", "method", *METRICS}
    for modality in MODALITIES:
        assert set(evaluation.per_modality.loc[modality].index) == {"mimo-ae", "pca-16"}
    assert set(evaluation.per_subject.index.get_level_values("subject")) == {"T00", "T01", "T02"}
    assert list(evaluation.overall.index) == ["mimo-ae", "pca-16"]
    with pytest.raises(ValueError, match="'holdout'"):
        evaluate_model(model, sets, "holdout")


def test_evaluation_of_memory_mapped_splits_equals_in_memory(tmp_path, sets):
    for name, windows in sets.items():
        windows.save(tmp_path / f"{name}.npz")
    on_disk = {name: WindowSet.load(tmp_path / f"{name}.npz") for name in sets}
    params = tiny_params(tmp_path)
    model = build_model(params.model, MODALITIES, sets["test"].window_length).eval()
    memory, disk = evaluate_model(model, sets, "test"), evaluate_model(model, on_disk, "test")
    pd.testing.assert_frame_equal(memory.per_window, disk.per_window)
    np.testing.assert_array_equal(memory.reconstruction, disk.reconstruction)
    latent, weights = latents(model, on_disk["test"], batch_size=5)
    np.testing.assert_array_equal(latent, memory.latent)
    np.testing.assert_array_equal(weights, memory.weights)


def test_evaluate_run_writes_metrics_and_figures(tmp_path, sets):
    result = train(tiny_params(tmp_path, **{"training.epochs": 2}), sets, run_dir=tmp_path / "run", progress=False)
    evaluation = evaluate_run(result.run_dir, "test", sets=sets)
    save_figures(evaluation_figures(evaluation), result.run_dir / "figures")
    summary = json.loads((result.run_dir / "metrics_test.json").read_text())
    assert set(summary["per_modality"]["ECG"]) == {"mimo-ae", "pca-16"}
    assert summary["overall"]["mimo-ae"]["mse"] == pytest.approx(evaluation.overall.loc["mimo-ae", "mse"])
    for name in ("metrics_test.csv", "metrics_test_windows.csv", "figures/reconstructions_test.png",
                 "figures/psd_test.png", "figures/latent_pca_test.png", "figures/fusion_weights_test.png"):
        assert (result.run_dir / name).is_file(), name
    browser = ReconstructionExplorer(evaluation)
    figure = browser.static_figure({"a": evaluation.reconstruction, "b": 0 * evaluation.reconstruction})
    subjects = list(dict.fromkeys(np.asarray(evaluation.windows.subjects).astype(str)))
    assert len(figure.axes) == len(subjects) * len(evaluation.windows.modalities)
    first = figure.axes[0]
    assert [line.get_label() for line in first.get_lines()] == ["target", "a", "b"]
    assert first.get_ylabel().startswith(f"{subjects[0]} @ ")


def test_evaluate_run_needs_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="params.yaml"):
        evaluate_run(tmp_path)
