"""Fidelity of whole reconstructed recordings: the original's floor, references from annotations, trained vs untrained."""

import numpy as np
import pytest
import torch
from helpers import smoke_params

from mimo_lib.data.annotations import read_bidmc_breaths
from mimo_lib.data.prepare import prepare
from mimo_lib.data.sources import load_recordings
from mimo_lib.evaluation.evaluate import ORIGINAL_METHOD
from mimo_lib.evaluation.rate_distortion import latent_coder
from mimo_lib.physiology import (
    coded_fidelity,
    fidelity_beside_pca,
    fidelity_summary,
    rate_pairs,
    reference_breaths,
    score_reconstructions,
)
from mimo_lib.plots.physiology import plot_bland_altman, plot_peaks
from mimo_lib.reconstruction import RecordingReconstruction
from mimo_lib.run import load_run
from mimo_lib.training.trainer import train

KINDS = {"ECG": "ecg", "PPG": "ppg", "RESP": "resp", "ABP": "abp"}
FIDELITY = {"preprocessing.target_rate": 50, "preprocessing.window_seconds": 8, "preprocessing.stride_seconds": 2,
            "data.synthetic.duration_s": 96, "model.latent_dim": 32, "model.latent_steps": 8,
            "training.learning_rate": 0.005}


@pytest.fixture(scope="module")
def trained_and_untrained(tmp_path_factory):
    """The same small model on the smoke cohort at 50 Hz: trained 30 epochs, and freshly initialised."""
    folder = tmp_path_factory.mktemp("fidelity")
    params = smoke_params(folder, **FIDELITY, **{"training.epochs": 30, "training.modality_dropout": 0.0,
                                                  "data.root": str(folder / "cohort")})
    sets = prepare(params, progress=False)
    trained = load_run(train(params, sets, run_dir=folder / "trained", progress=False).run_dir)
    untrained = load_run(trained.run_dir)
    torch.manual_seed(1)
    for module in untrained.model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return trained, untrained, load_recordings(params, ["S04"])


def test_reconstructing_the_original_scores_the_floor(trained_and_untrained):
    trained, _, recordings = trained_and_untrained
    identity = trained.reconstruct(recordings, reconstructor=lambda windows: windows)
    table = score_reconstructions({"identity": identity}, KINDS)
    values = table.pivot_table(index=["modality", "measure"], columns="method", values="value")
    # stitched windows equal the original up to float round-off; sub-sample upstrokes move by ~1e-6 ms
    np.testing.assert_allclose(values["identity"], values[ORIGINAL_METHOD], atol=1e-4)
    assert set(table["modality"]) == {"ECG", "PPG", "RESP", "ECG->PPG"}, "ABP has no fidelity measure"
    f1 = values.loc[("ECG", "r_peak_f1_50ms"), ORIGINAL_METHOD]
    assert f1 == 1.0


def test_the_floor_is_scored_where_the_reconstructions_are(trained_and_untrained):
    """Samples no kept window covered (NaN) leave the original's own row too, so the floor pairs with the methods."""
    trained, _, recordings = trained_and_untrained
    (identity,) = trained.reconstruct(recordings, reconstructor=lambda windows: windows)
    half = identity.length // 2
    identity.reconstruction[:, :half] = np.nan
    table = score_reconstructions({"half": [identity]}, KINDS).set_index(["method", "modality", "measure"])
    breathing = table.xs(("RESP", "breathing_rate_mae_32s"), level=["modality", "measure"])
    assert breathing.loc[ORIGINAL_METHOD, "n_scored"] == breathing.loc["half", "n_scored"] > 0
    assert breathing.loc[ORIGINAL_METHOD, "n_not_scored"] == breathing.loc["half", "n_not_scored"] > 0
    np.testing.assert_allclose(table.loc[ORIGINAL_METHOD, "value"], table.loc["half", "value"], atol=1e-4)


def test_a_trained_model_keeps_the_physiology_better_than_an_untrained_one(trained_and_untrained):
    trained, untrained, recordings = trained_and_untrained
    table = score_reconstructions({"trained": trained.reconstruct(recordings),
                                   "untrained": untrained.reconstruct(recordings)}, KINDS)
    summary = fidelity_summary(table).droplevel(["reference", "unit"])
    # At 50 Hz a small model's QRS complexes are too blunt to score R-peaks; pulses and breaths are not.
    for measure in ("pulse_peak_f1_100ms", "breath_f1_1000ms"):
        row = summary.xs(measure, level="measure").iloc[0]
        assert row["trained"] > 0.9 and row["trained"] > row["untrained"] + 0.2, (measure, row.to_dict())
    for measure in ("pulse_rate_mae_8s", "breathing_rate_mae_32s"):
        row = summary.xs(measure, level="measure").iloc[0]
        assert row["trained"] < 1.0 and not row["trained"] >= row["untrained"], (measure, row.to_dict())


def test_coded_recordings_are_cut_back_to_back_and_carry_their_codes_error(trained_and_untrained):
    trained, _, recordings = trained_and_untrained
    coders = {"identity": lambda windows: windows, "float32": latent_coder(trained.model, 32),
              "2 bit": latent_coder(trained.model, 2)}
    back_to_back = trained.with_stride(trained.params.preprocessing.window_seconds)
    stitched = back_to_back.reconstruct_each(recordings, coders)
    (one,) = stitched["identity"]
    assert one.windows == one.length // (8 * 50), "one window per 8 s, none overlapping"
    (model,) = stitched["float32"]
    (windowed,) = back_to_back.reconstruct(recordings)
    np.testing.assert_allclose(model.reconstruction, windowed.reconstruction, atol=1e-4)
    summary = fidelity_summary(coded_fidelity(trained, recordings, coders)).droplevel(["reference", "unit"])
    np.testing.assert_allclose(summary["identity"], summary[ORIGINAL_METHOD], atol=1e-4)
    pulses = summary.xs("pulse_peak_f1_100ms", level="measure").iloc[0]
    assert pulses["float32"] > 0.9, pulses.to_dict()
    error = {name: np.nanmean((r.reconstruction - r.original) ** 2) for name, (r,) in
             (("float32", stitched["float32"]), ("2 bit", stitched["2 bit"]))}
    assert error["2 bit"] > 1.25 * error["float32"], error


def test_fidelity_beside_pca_names_pca_at_the_latent_size(trained_and_untrained):
    trained, _, recordings = trained_and_untrained
    table = fidelity_beside_pca(trained, recordings)
    assert set(table["method"]) == {ORIGINAL_METHOD, "mimo-ae", "pca-32"}
    assert (table["n_scored"] >= 0).all() and (table["n_not_scored"] >= 0).all()


def test_bidmc_breath_annotations_become_the_respiration_reference(bidmc_dir):
    folder = bidmc_dir / "bidmc_csv"
    rate, native, length = 30.0, 125.0, 8 * 60 * 30
    nan = np.full((1, length), np.nan)
    recording = RecordingReconstruction("36", str(folder / "bidmc_36_Signals.csv"), ["RESP"], rate, nan, nan, 0,
                                        {"RESP": native})
    breaths = reference_breaths(recording, "RESP")
    annotated = read_bidmc_breaths(folder / "bidmc_36_Breaths.csv")["ann1"]
    expected = np.rint(annotated * rate / native)
    np.testing.assert_array_equal(breaths, expected[expected < length])
    elsewhere = RecordingReconstruction("S01", "/no/such/S01.csv", ["RESP"], rate, nan, nan, 0, {"RESP": native})
    assert reference_breaths(elsewhere, "RESP") is None


def test_peak_overlay_and_bland_altman_figures(trained_and_untrained):
    trained, _, recordings = trained_and_untrained
    (recording,) = trained.reconstruct(recordings)
    figure = plot_peaks(recording, KINDS, seconds=8.0)
    assert [ax.get_ylabel() for ax in figure.axes] == ["ECG", "PPG", "RESP"]
    labels = [line.get_label() for line in figure.axes[1].get_lines()]
    assert labels == ["original", "pulse peaks (original)", "reconstruction", "pulse peaks (reconstruction)"]
    pairs = rate_pairs([recording], KINDS)
    assert set(pairs["measure"]) >= {"pulse rate", "breathing rate"}
    assert np.isfinite(pairs[["reference", "reconstructed"]].to_numpy()).all()
    figure = plot_bland_altman(pairs)
    pulse = next(ax for ax in figure.axes if ax.get_title().startswith("pulse rate"))
    difference = pairs.loc[pairs["measure"] == "pulse rate", "reconstructed"] - pairs.loc[pairs["measure"] == "pulse rate", "reference"]
    assert f"bias {difference.mean():+.2f}" in pulse.get_title()
