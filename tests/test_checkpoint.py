"""Checkpoints: weights-only loading, exact round trip, clear errors for bad files."""

import pytest
import torch

from mimo_lib.config import load_params
from mimo_lib.model import build_model
from mimo_lib.training.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint

MODALITIES = ["ECG", "PPG"]
LENGTH = 64


@pytest.fixture
def params():
    return load_params(overrides={
        "data.modalities": MODALITIES, "data.splits": {}, "model.latent_dim": 8, "model.base_width": 4,
        "model.stages": [1], "model.compress_channels": 4, "model.latent_steps": 2,
    })


def _save(path, params, **kwargs):
    torch.manual_seed(0)
    model = build_model(params.model, MODALITIES, LENGTH)
    save_checkpoint(path, model=model, epoch=3, params=params, modalities=MODALITIES, window_length=LENGTH,
                    normalization={"method": "window"}, **kwargs)
    return model


def test_round_trip_gives_the_same_outputs(tmp_path, params):
    model = _save(tmp_path / "c.pt", params, history=[{"epoch": 1, "train_loss": 0.5}])
    loaded, loaded_params, content = load_model(tmp_path / "c.pt")
    x = torch.randn(3, 2, LENGTH)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x).reconstruction, loaded(x).reconstruction)
    assert loaded_params == params
    assert content["epoch"] == 3 and content["history"][0]["train_loss"] == 0.5
    assert loaded.modalities == MODALITIES
    torch.load(tmp_path / "c.pt", weights_only=True)  # plain data only


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, params):
    _save(tmp_path / "c.pt", params)
    _save(tmp_path / "c.pt", params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found.*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_truncated_file(tmp_path, params):
    path = tmp_path / "c.pt"
    _save(path, params)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(CheckpointError, match="noise.pt"):
        load_checkpoint(path)


def test_a_torch_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="weights.pt is not a MiMo-AE checkpoint"):
        load_checkpoint(path)


def test_missing_key_is_named(tmp_path, params):
    path = tmp_path / "c.pt"
    _save(path, params)
    content = torch.load(path, weights_only=True)
    del content["window_length"]
    torch.save(content, path)
    with pytest.raises(CheckpointError, match="window_length"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_params(tmp_path, params):
    path = tmp_path / "c.pt"
    _save(path, params)
    content = torch.load(path, weights_only=True)
    content["params_yaml"] = content["params_yaml"].replace("latent_dim: 8", "latent_dim: 16")
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=r"do not match.*shape mismatch"):
        load_model(path)
