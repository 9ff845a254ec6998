"""Encoder reuse: a run folder -> latent table per window -> reconstructions in recording units."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import smoke_run

from mimo_lib.data.sources import load_recordings
from mimo_lib.model.inference import predict
from mimo_lib.run import TrainedRun, load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return smoke_run(tmp_path_factory.mktemp("reuse"))


@pytest.fixture(scope="module")
def run(run_dir):
    return load_run(run_dir)


def test_load_run_restores_model_params_and_normalisation(run, run_dir):
    assert run.modalities == ["ECG", "PPG", "RESP", "ABP"]
    assert run.model.latent_dim == 16 and run.epoch == 1
    assert run.normalization["method"] == "window"
    assert run.params.data.splits["test"] == ["S04"]
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_run(run_dir, "nope.pt")


def test_encode_windowset_columns_and_rows(run):
    test = run.split("test")
    frame = run.encode(test)
    modalities = run.modalities
    expected = ["subject", "start", *[f"latent_{i}" for i in range(16)], *[f"weight_{m}" for m in modalities],
                *[f"mean_{m}" for m in modalities], *[f"std_{m}" for m in modalities]]
    assert list(frame.columns) == expected and len(frame) == len(test)
    np.testing.assert_array_equal(frame["subject"], test.subjects)
    np.testing.assert_array_equal(frame["start"], test.starts)
    _, latent, weights = predict(run.model, test)
    np.testing.assert_allclose(frame[run.latent_columns].to_numpy(), latent)
    np.testing.assert_allclose(frame[[f"weight_{m}" for m in modalities]].to_numpy(), weights)
    np.testing.assert_allclose(frame["std_PPG"], test.normalization["std"][:, 1, 0])


def test_decode_undoes_the_normalisation_exactly(run):
    test = run.split("test")
    frame = run.encode(test)
    decoded = run.decode(frame)
    reconstruction, _, _ = predict(run.model, test)
    assert decoded.shape == test.windows.shape
    expected = reconstruction * test.normalization["std"] + test.normalization["mean"]
    np.testing.assert_allclose(decoded, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    np.testing.assert_allclose(run.decode(frame, physical=False), reconstruction, atol=1e-5)
    # The recording's units come back: per-window means follow the raw windows', not the z-scored 0.
    raw = test.denormalize(test.windows)
    assert np.abs(decoded.mean(-1) - raw.mean(-1)).max() < np.abs(raw.mean(-1)).max()


def test_encode_a_recording_matches_its_prepared_windows(run):
    test = run.split("test")
    (recording,) = load_recordings(run.params, ["S04"])
    from_recording = run.encode(recording)
    from_split = run.encode(test)
    pd.testing.assert_frame_equal(from_recording, from_split, atol=1e-4, rtol=1e-4)


def test_encode_array_has_no_units_and_decodes_on_the_model_scale(run):
    windows = run.split("test").windows[:5]
    frame = run.encode(windows)
    assert not any(c.startswith(("mean_", "std_")) for c in frame.columns)
    reconstruction = run.model(torch.from_numpy(windows)).reconstruction.detach().numpy()
    np.testing.assert_allclose(run.decode(frame), reconstruction, atol=1e-5)


def test_global_normalisation_uses_the_training_statistics(run):
    mean = np.array([1.0, -2.0, 0.5, 90.0]).reshape(1, 4, 1)
    std = np.array([2.0, 0.5, 1.0, 10.0]).reshape(1, 4, 1)
    glob = TrainedRun(run.run_dir, run.model, run.params, {"method": "global", "mean": torch.from_numpy(mean),
                                                            "std": torch.from_numpy(std)}, run.epoch)
    (recording,) = load_recordings(run.params, ["S04"])
    frame = glob.encode(recording)
    np.testing.assert_allclose(frame[["mean_ECG", "mean_ABP", "std_ABP"]].to_numpy(),
                               np.tile([1.0, 90.0, 10.0], (len(frame), 1)))
    windows = glob.windows(recording)
    raw = run.windows(recording).denormalize(run.windows(recording).windows)
    np.testing.assert_allclose(windows.windows, (raw - mean) / std, atol=1e-4)


def test_read_recordings_from_a_folder_or_one_file(run):
    root = run.params.resolve_path(run.params.data.root)
    assert [r.subject for r in run.read_recordings(root)] == ["S01", "S02", "S03", "S04"]
    assert [r.subject for r in run.read_recordings(root / "S03.csv")] == ["S03"]
    with pytest.raises(FileNotFoundError, match="absent"):
        run.read_recordings(root / "absent")


def test_bad_inputs_name_the_problem(run):
    test = run.split("test")
    frame = run.encode(test)
    with pytest.raises(ValueError, match="latent_15"):
        run.decode(frame.drop(columns="latent_15"))
    with pytest.raises(ValueError, match="std_RESP"):
        run.decode(frame.drop(columns="std_RESP"))
    with pytest.raises(ValueError, match="expects"):
        run.encode(test.__class__(test.windows[:, :2], test.subjects, test.starts, ["ECG", "PPG"], test.rate,
                                  {"method": "window", "mean": 0.0, "std": 1.0}))
    with pytest.raises(ValueError, match="'holdout'"):
        run.split("holdout")


def test_impute_from_a_run(run):
    test = run.split("test")
    imputed = run.impute(test, ["RESP"])
    assert imputed.shape == test.windows.shape
    changed = test.windows.copy()
    changed[:, 2] = 5.0
    np.testing.assert_allclose(run.impute(changed, ["RESP"]), imputed, atol=1e-5)



def test_a_recording_without_the_missing_sensor_is_imputed(run, tmp_path):
    source = run.params.resolve_path(run.params.data.root) / "S04.csv"
    frame = pd.read_csv(source)
    frame.drop(columns="RESP").to_csv(tmp_path / "S04.csv", index=False)
    with pytest.raises(ValueError, match="'RESP'"):
        run.read_recordings(tmp_path)
    recordings = run.read_recordings(tmp_path, ["RESP"])
    imputed = run.impute(recordings, ["RESP"])
    np.testing.assert_allclose(imputed, run.impute(run.split("test"), ["RESP"]), atol=1e-4)
    frame = run.encode(recordings, missing=["RESP"])
    masked = run.encode(run.split("test"), missing=["RESP"])
    np.testing.assert_allclose(frame[run.latent_columns], masked[run.latent_columns], atol=1e-4)
    assert (frame["weight_RESP"] == 0).all()  # an absent modality takes no part in the fusion


DEVICE_NAMES = {"ECG": "EKG", "PPG": "Pleth", "RESP": "RSP", "ABP": "ART"}


def another_device(run, folder, rate_divisor: int = 1):
    """S04's recording as another device would write it: other column names, no time column, maybe another rate."""
    source = run.params.resolve_path(run.params.data.root) / "S04.csv"
    frame = pd.read_csv(source).drop(columns="time")
    frame = pd.DataFrame({DEVICE_NAMES[m]: frame[m].to_numpy()[::rate_divisor] for m in run.modalities})
    folder.mkdir(exist_ok=True)
    frame.to_csv(folder / "lab.csv", index=False)
    return folder / "lab.csv"


def test_a_mapping_names_another_devices_signals_as_the_runs_modalities(run, tmp_path):
    path = another_device(run, tmp_path / "lab")
    mapping = {name: modality for modality, name in DEVICE_NAMES.items()}
    storage = {"time_column": None, "sampling_rate": run.params.data.synthetic.sampling_rate}
    (recording,) = run.read_recordings(path, mapping=mapping, storage=storage)
    assert recording.subject == "lab" and list(recording.signals) == run.modalities
    expected = run.encode(run.split("test"))
    frame = run.encode(path, mapping=mapping, storage=storage)
    np.testing.assert_allclose(frame[run.latent_columns], expected[run.latent_columns], atol=1e-4)
    # Recordings already in memory are renamed the same way.
    from_memory = run.encode(load_recordings(run.params, ["S04"]), mapping={"ECG": "ECG"})
    np.testing.assert_allclose(from_memory[run.latent_columns], expected[run.latent_columns], atol=1e-4)


def test_a_recording_at_another_rate_is_resampled_to_the_runs(run, tmp_path):
    rate = run.params.data.synthetic.sampling_rate
    path = another_device(run, tmp_path / "lab", rate_divisor=2)  # every second sample: half the rate
    mapping = {name: modality for modality, name in DEVICE_NAMES.items()}
    windows = run.windows(path, mapping=mapping, storage={"time_column": None, "sampling_rate": rate / 2})
    reference = run.split("test")
    assert windows.windows.shape == reference.windows.shape
    for index in range(len(run.modalities)):
        r = np.corrcoef(windows.windows[:, index].ravel(), reference.windows[:, index].ravel())[0, 1]
        assert r > 0.98, (run.modalities[index], r)


def test_an_unmapped_or_wrongly_mapped_modality_is_named(run, tmp_path):
    path = another_device(run, tmp_path / "lab")
    storage = {"time_column": None, "sampling_rate": run.params.data.synthetic.sampling_rate}
    mapping = {"EKG": "ECG", "Pleth": "PPG", "ART": "ABP"}
    with pytest.raises(ValueError, match=r"\['RESP'\].*'EKG', 'Pleth', 'RSP', 'ART'.*--map NAME=RESP"):
        run.read_recordings(path, mapping=mapping, storage=storage)
    with pytest.raises(ValueError, match=r"\['SpO2'\] are not modalities of the run.*'ECG', 'PPG', 'RESP', 'ABP'"):
        run.read_recordings(path, mapping={**mapping, "RSP": "SpO2"}, storage=storage)
    with pytest.raises(ValueError, match="'ECG' is mapped from more than one name: \\['EKG', 'RSP'\\]"):
        run.read_recordings(path, mapping={**mapping, "RSP": "ECG"}, storage=storage)
    with pytest.raises(ValueError, match="'time'.*--input-params"):
        run.read_recordings(path, mapping={**mapping, "RSP": "RESP"})
    with pytest.raises(ValueError, match="storage keys \\['modalities'\\]"):
        run.read_recordings(path, mapping=mapping, storage={"modalities": ["RSP"]})
