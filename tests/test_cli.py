"""The reuse subcommands of ``mimo`` end to end on a tiny smoke run (in-process)."""

import numpy as np
import pandas as pd
import pytest
from helpers import smoke_run

from mimo_lib.cli import main
from mimo_lib.model.inference import predict
from mimo_lib.run import load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return smoke_run(tmp_path_factory.mktemp("cli"))


def test_encode_split_then_decode_to_recording_units(run_dir, tmp_path, capsys):
    latent_file, decoded_file = tmp_path / "out" / "latent.parquet", tmp_path / "out" / "decoded.npz"
    main(["encode", "--run", str(run_dir), "--split", "test", "--out", str(latent_file)])
    main(["decode", "--run", str(run_dir), "--input", str(latent_file), "--out", str(decoded_file)])
    assert "latent vectors of 16 numbers" in capsys.readouterr().out
    run = load_run(run_dir)
    test = run.split("test")
    frame = pd.read_parquet(latent_file)
    assert len(frame) == len(test) and {"subject", "start", "latent_15", "weight_ECG", "mean_ABP"} <= set(frame)
    with np.load(decoded_file) as decoded:
        assert decoded["windows"].shape == test.windows.shape
        assert list(decoded["modalities"]) == run.modalities
        np.testing.assert_array_equal(decoded["subjects"], test.subjects)
        np.testing.assert_array_equal(decoded["starts"], test.starts)
        reconstruction, _, _ = predict(run.model, test)
        expected = test.denormalize(reconstruction)
        np.testing.assert_allclose(decoded["windows"], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_encode_recordings_from_a_folder(run_dir, tmp_path):
    run = load_run(run_dir)
    folder = tmp_path / "recordings"
    folder.mkdir()
    source = run.params.resolve_path(run.params.data.root)
    for subject in ("S03", "S04"):
        (folder / f"{subject}.csv").write_text((source / f"{subject}.csv").read_text())
    out = tmp_path / "latent.parquet"
    main(["encode", "--run", str(run_dir), "--input", str(folder), "--out", str(out)])
    frame = pd.read_parquet(out)
    assert list(pd.unique(frame["subject"])) == ["S03", "S04"]
    expected = run.encode(run.split("test"))
    pd.testing.assert_frame_equal(frame[frame["subject"] == "S04"].reset_index(drop=True), expected,
                                  atol=1e-4, rtol=1e-4)


def test_impute_writes_the_imputed_windows(run_dir, tmp_path):
    out = tmp_path / "imputed.npz"
    main(["impute", "--run", str(run_dir), "--missing", "RESP", "--missing", "ABP", "--split", "test",
          "--out", str(out)])
    run = load_run(run_dir)
    test = run.split("test")
    with np.load(out) as result:
        np.testing.assert_allclose(result["windows"], run.impute(test, ["RESP", "ABP"]), atol=1e-5)
        np.testing.assert_array_equal(result["observed"], test.windows)
        assert list(result["missing"]) == ["RESP", "ABP"]


def test_impute_unknown_modality_is_a_clear_error(run_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["impute", "--run", str(run_dir), "--missing", "EDA", "--split", "test",
              "--out", str(tmp_path / "x.npz")])
    assert exit_info.value.code == 2
    assert "['EDA']" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()


def test_robustness_writes_tables_into_the_run_folder(run_dir, capsys):
    main(["robustness", "--run", str(run_dir), "--split", "test"])
    imputation = pd.read_csv(run_dir / "imputation_test.csv")
    denoising = pd.read_csv(run_dir / "denoising_test.csv")
    assert len(imputation) == 2 * 4 and set(imputation["condition"]) == {"missing", "present"}
    assert list(denoising["modality"]) == ["ECG", "PPG", "RESP", "ABP"]
    assert "denoising_test" in capsys.readouterr().out


def test_decode_rejects_a_table_without_latents(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"subject": ["S04"], "start": [0.0]}).to_parquet(bad)
    with pytest.raises(SystemExit):
        main(["decode", "--run", str(run_dir), "--input", str(bad), "--out", str(tmp_path / "d.npz")])
    assert "latent_0" in capsys.readouterr().err


def test_impute_recordings_that_lack_the_sensor(run_dir, tmp_path):
    run = load_run(run_dir)
    folder = tmp_path / "no_resp"
    folder.mkdir()
    source = run.params.resolve_path(run.params.data.root) / "S04.csv"
    pd.read_csv(source).drop(columns="RESP").to_csv(folder / "S04.csv", index=False)
    out = tmp_path / "imputed.npz"
    main(["impute", "--run", str(run_dir), "--missing", "RESP", "--input", str(folder), "--out", str(out)])
    with np.load(out) as result:
        assert result["windows"].shape == run.split("test").windows.shape
        assert np.abs(result["observed"][:, 2]).max() == 0  # the absent sensor was fed as zeros
        assert np.abs(result["windows"][:, 2]).max() > 0


def test_every_error_is_one_line_with_exit_2_and_a_traceback_with_debug(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--set", "model.fusion=sum", "--set", "training.epochs=0"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "model.fusion" in error and "training.epochs" in error
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--run", str(tmp_path)])
    assert capsys.readouterr().err == f"error: FileNotFoundError: {tmp_path} is not a run folder: " \
                                      f"{tmp_path / 'params.yaml'} is missing\n"
    with pytest.raises(FileNotFoundError):
        main(["--debug", "evaluate", "--run", str(tmp_path)])


def test_version_and_help_with_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("mimo ")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "examples:" in text
    assert all(f"mimo {command}" in text for command in ("prepare", "train", "reconstruct", "data fetch"))
    with pytest.raises(SystemExit):
        main(["reconstruct", "--help"])
    assert "example:\n  mimo reconstruct --run" in capsys.readouterr().out


def test_other_devices_names_map_onto_the_run_and_come_back_in_the_output(run_dir, tmp_path, capsys):
    run = load_run(run_dir)
    names = {"ECG": "EKG", "PPG": "Pleth", "RESP": "RSP", "ABP": "ART"}
    source = pd.read_csv(run.params.resolve_path(run.params.data.root) / "S04.csv")
    source.rename(columns=names).to_csv(tmp_path / "lab.csv", index=False)
    maps = [arg for modality, name in names.items() for arg in ("--map", f"{name}={modality}")]
    main(["reconstruct", "--run", str(run_dir), "--input", str(tmp_path / "lab.csv"), "--out",
          str(tmp_path / "back.csv"), *maps])
    assert list(pd.read_csv(tmp_path / "back.csv").columns) == ["time", "EKG", "Pleth", "RSP", "ART"]
    main(["evaluate", "--run", str(run_dir), "--split", "test"])
    main(["evaluate", "--run", str(run_dir), "--input", str(tmp_path / "lab.csv"), *maps])
    assert "input-lab metrics per modality" in capsys.readouterr().out
    scored = pd.read_csv(run_dir / "metrics_input-lab.csv").set_index(["level", "group", "method"])
    own = pd.read_csv(run_dir / "metrics_test.csv").set_index(["level", "group", "method"])
    pd.testing.assert_series_equal(scored.loc["modality", "snr_db"], own.loc["modality", "snr_db"], atol=1e-3)
    main(["decode", "--run", str(run_dir), "--input", str(_encoded(run_dir, tmp_path)), "--out",
          str(tmp_path / "windows.npz"), *maps])
    with np.load(tmp_path / "windows.npz") as decoded:
        assert list(decoded["modalities"]) == ["EKG", "Pleth", "RSP", "ART"]
    with pytest.raises(SystemExit):
        main(["encode", "--run", str(run_dir), "--input", str(tmp_path / "lab.csv"), "--out",
              str(tmp_path / "x.parquet"), "--map", "EKG"])
    assert "--map 'EKG': expected NAME=MODALITY" in capsys.readouterr().err


def _encoded(run_dir, tmp_path):
    out = tmp_path / "latent.parquet"
    main(["encode", "--run", str(run_dir), "--split", "test", "--out", str(out)])
    return out
