"""Code files of a trained run: `mimo encode --bits`, then `decode` and `reconstruct`; sample resolution of sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import wfdb
from helpers import smoke_params, smoke_run

from mimo_lib.cli import main
from mimo_lib.coding import CodeFile, compress, decompress
from mimo_lib.data.sources import sample_bits
from mimo_lib.data.sources.wfdb_source import header_bits
from mimo_lib.run import load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return smoke_run(tmp_path_factory.mktemp("coding"))


def test_encode_bits_8_then_decode(run_dir, tmp_path, capsys):
    code_file, decoded_file = tmp_path / "code.npz", tmp_path / "decoded.npz"
    main(["encode", "--run", str(run_dir), "--split", "test", "--bits", "8", "--out", str(code_file)])
    main(["decode", "--run", str(run_dir), "--input", str(code_file), "--out", str(decoded_file)])
    run = load_run(run_dir)
    test = run.split("test")
    code = CodeFile.load(code_file)
    # 16 latent numbers x 8 bits + 4 modalities x (mean, std) x 16 bits = 256 bits = 32 bytes per window
    assert code.code.records.shape == (len(test), 32)
    assert code.code.n_bits == 8 * 32 * len(test) + 16 * 64
    assert f"{code.code.n_bits / len(test):.1f} bits per window" in capsys.readouterr().out
    np.testing.assert_array_equal(code.subjects, test.subjects)
    float_decode = run.decode(run.encode(test))
    with np.load(decoded_file) as decoded:
        np.testing.assert_array_equal(decoded["subjects"], test.subjects)
        windows = decoded["windows"]
    assert windows.shape == test.windows.shape
    error = np.linalg.norm(windows - float_decode) / np.linalg.norm(float_decode - float_decode.mean(-1, keepdims=True))
    assert 0 < error < 0.05


def test_encode_with_a_depth_per_dimension_then_decode(run_dir, tmp_path, capsys):
    code_file, decoded_file = tmp_path / "code.npz", tmp_path / "decoded.npz"
    main(["encode", "--run", str(run_dir), "--split", "test", "--bits", "4.5", "--depth-per-dimension",
          "--out", str(code_file)])
    assert "16 latent numbers of 4.50 bits on average" in capsys.readouterr().out
    main(["decode", "--run", str(run_dir), "--input", str(code_file), "--out", str(decoded_file)])
    run = load_run(run_dir)
    test = run.split("test")
    code = CodeFile.load(code_file)
    depths = code.code.quantizer.depths
    # 72 latent bits + 4 modalities x (mean, std) x 16 bits = 200 bits = 25 bytes; the table holds every depth
    assert depths.sum() == 72 and depths.min() >= 2 and len(set(depths)) > 1
    assert code.code.records.shape == (len(test), 25) and code.code.n_bits == 8 * 25 * len(test) + 16 * 68
    float_decode = run.decode(run.encode(test))
    with np.load(decoded_file) as decoded:
        windows = decoded["windows"]
    error = np.linalg.norm(windows - float_decode) / np.linalg.norm(float_decode - float_decode.mean(-1, keepdims=True))
    assert 0 < error < 0.2
    with pytest.raises(SystemExit):
        main(["encode", "--run", str(run_dir), "--split", "test", "--bits", "4.5", "--out", str(code_file)])
    assert "--bits 4.5 is not a whole number of bits" in capsys.readouterr().err


def test_encode_within_a_compression_ratio(run_dir, tmp_path, capsys):
    code_file = tmp_path / "code.npz"
    main(["encode", "--run", str(run_dir), "--split", "test", "--ratio", "15", "--out", str(code_file)])
    assert "x against {'ECG': 12, 'PPG': 12, 'RESP': 12, 'ABP': 12}" in capsys.readouterr().out
    code = CodeFile.load(code_file).code
    uncoded = len(code) * 100 * 4 * 12  # windows x 100 samples x 4 modalities x 12 bits (smoke CSV)
    assert uncoded / code.n_bits >= 15 > uncoded / (code.n_bits + 8 * len(code))  # one more byte per window passes it
    with pytest.raises(SystemExit):
        main(["encode", "--run", str(run_dir), "--split", "test", "--ratio", "40", "--out", str(code_file)])
    assert "2 bits each need 32: this run codes at most about 23.1×" in capsys.readouterr().err


def test_float32_code_decodes_as_the_latents_do(run_dir):
    run = load_run(run_dir)
    test = run.split("test")
    code = compress(run, test, 32)
    assert code.code.quantizer is None and code.code.records.shape[1] == (16 * 32 + 8 * 16) // 8
    expected = run.decode(run.encode(test))
    np.testing.assert_allclose(decompress(run, code), expected, rtol=2e-3, atol=2e-3 * np.abs(expected).max())
    np.testing.assert_allclose(decompress(run, code, physical=False), run.decode(run.encode(test), physical=False),
                               atol=1e-5)


def test_reconstruct_reads_a_code_file(run_dir, tmp_path, capsys):
    code_file = tmp_path / "code.npz"
    main(["encode", "--run", str(run_dir), "--split", "test", "--bits", "6", "--out", str(code_file)])
    main(["reconstruct", "--run", str(run_dir), "--input", str(code_file), "--out", str(tmp_path / "out"),
          "--format", "csv"])
    run = load_run(run_dir)
    test = run.split("test")
    subject = str(test.subjects[0])
    frame = pd.read_csv(tmp_path / "out" / f"{subject}.csv")
    rate = run.params.preprocessing.target_rate
    assert len(frame) == round(test.starts.max() * rate) + test.window_length
    assert list(frame.columns) == ["time", *run.modalities] and frame[run.modalities].notna().all().all()
    assert "S04" in capsys.readouterr().out


def test_code_file_for_another_run_or_a_bad_suffix_is_a_clear_error(run_dir, tmp_path, capsys):
    run = load_run(run_dir)
    code = compress(run, run.split("test"), 8)
    other = CodeFile(code.code, code.subjects, code.starts, ["A", "B", "C", "D"], code.window_length, code.rate)
    other.save(tmp_path / "other.npz")
    with pytest.raises(SystemExit):
        main(["decode", "--run", str(run_dir), "--input", str(tmp_path / "other.npz"), "--out", str(tmp_path / "d.npz")])
    assert "for modalities ['A', 'B', 'C', 'D']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["encode", "--run", str(run_dir), "--split", "test", "--bits", "8", "--out", str(tmp_path / "c.parquet")])
    assert "end --out in .npz" in capsys.readouterr().err


def test_csv_sources_take_bits_per_sample(tmp_path):
    params = smoke_params(tmp_path, **{"data.bits_per_sample": 10})
    assert sample_bits(params) == dict.fromkeys(params.data.modalities, 10)


def test_wfdb_sources_take_the_headers_resolution(tmp_path):
    signal = np.random.default_rng(0).normal(size=(200, 2))
    for name, formats in (("r01", ["212", "16"]), ("r02", ["16", "16"])):
        wfdb.wrsamp(name, fs=100, units=["mV", "mV"], sig_name=["ECG", "PPG"], p_signal=signal, fmt=formats,
                    write_dir=str(tmp_path))
    # a header without ADC resolution: bits from the storage format
    (tmp_path / "r03.hea").write_text("r03 2 100 200\nr01_1.dat 212 200/mV 0 0 0 0 0 ECG\n"
                                      "r01_1.dat 212 200/mV 0 0 0 0 0 PPG\n")
    params = smoke_params(tmp_path, **{"data.source": "wfdb", "data.root": str(tmp_path), "data.file_glob": "*.hea",
                                       "data.modalities": ["ECG", "PPG"], "data.splits": {}})
    assert sample_bits(params) == {"ECG": 16, "PPG": 16}
    single = smoke_params(tmp_path, **{"data.source": "wfdb", "data.root": str(tmp_path), "data.file_glob": "r03.hea",
                                       "data.modalities": ["ECG", "PPG"], "data.splits": {}})
    assert sample_bits(single) == {"ECG": 12, "PPG": 12}


def test_a_multi_segment_record_takes_its_layouts_resolution(wfdb_dir):
    record = wfdb_dir / "multi-segment" / "p000878" / "p000878-2137-10-26-16-57"
    assert header_bits(record, ["PLETH", "II"]) == {"PLETH": 8, "II": 8}  # MIMIC-III: format 80
