"""The benchmark scripts run end to end on tiny settings and write what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quality_benchmark_on_two_subjects(bidmc_dir: Path, tmp_path: Path) -> None:
    csv_dir = bidmc_dir / "bidmc_csv"
    out = tmp_path / "quality"
    stdout = _run(
        "benchmarks/bench_quality.py", "--params", "params/bidmc.yaml", "--set", f"data.root={csv_dir}",
        "--set", 'data.splits={"train": ["01"], "test": ["02"]}', "--set", "data.optional_test_subjects=[]",
        "--set", f"paths.processed={tmp_path / 'processed'}", "--set", "training.batch_size=64",
        "--set", "model.base_width=4", "--fusion", "gated", "--seeds", "0", "--latent", "16",
        "--epochs", "1", "--device", "cpu", "--train-stride", "2", "--imputation", "--coupling", "RESP:PLETH:0.6", "--lag", "II:PLETH:0.8", "--out", str(out),
    )
    assert re.search(r"RESP against PLETH low-passed at 0.6 Hz: median r per subject \(\d of 2 subjects positive\)",
                     stdout)
    assert re.search(r"\| test \| 02 \| \d+ \| -?[01]\.\d+ \|", stdout)
    assert re.search(r"PLETH following II: best delay per subject, 0-0.8 s", stdout)
    assert re.search(r"\| train \| 01 \| \d+ \| 0\.\d+ \| -?[01]\.\d+ \|", stdout)
    # an 8-min recording gives at most 119 windows at the params' 4 s stride, about twice as many at 2 s
    assert "training windows sliced every 2 s" in stdout
    assert int(re.search(r"train: (\d+) windows", stdout).group(1)) > 119
    raw = pd.read_csv(out.with_suffix(".csv"))
    imputed = pd.read_csv(out.with_suffix(".imputation.csv"))
    assert sorted(zip(imputed["modality"], imputed["condition"])) == sorted(
        (m, c) for m in ("RESP", "PLETH", "II") for c in ("missing", "present"))
    by_subject = pd.read_csv(out.with_suffix(".imputation_subjects.csv"), dtype={"subject": str})
    assert len(by_subject) == len(imputed) and set(by_subject["subject"]) == {"02"}  # the one test subject
    assert "## Imputation" in stdout
    assert set(raw["method"]) == {"mimo-ae", "pca-16"}
    assert list(raw.loc[raw["method"] == "pca-16", "modality"]) == ["RESP", "PLETH", "II", "mean"]
    models = raw[raw["method"] == "mimo-ae"]
    assert models[["pearson", "snr_db", "prd", "mse", "train_win_s", "infer_win_s"]].notna().all().all()
    mean = models.set_index("modality").loc["mean"]
    assert abs(mean["prd"] - models.set_index("modality").loc[["RESP", "PLETH", "II"], "prd"].mean()) < 1e-9
    assert "II PRDN %" in stdout and "pca-16" in stdout and "train_win_s" in stdout
    assert out.with_suffix(".md").read_text().startswith("## Reconstruction quality")
    assert "| 16 | mimo-ae | base | gated | 1 |" in stdout


def test_throughput_benchmark_tiny() -> None:
    stdout = _run(
        "benchmarks/bench_throughput.py", "--window-length", "64", "--batch-size", "4", "--base-width", "4",
        "--stages", "1", "1", "--precision", "fp32", "--rounds", "1", "--steps", "1", "--threads", "1",
    )
    assert "train FLOPs per window" in stdout
    assert "grouped fp32" in stdout and "loop fp32" in stdout and "fraction of mm peak" in stdout


def test_missing_sensor_benchmark_on_one_test_subject(bidmc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing"
    stdout = _run(
        "benchmarks/bench_missing.py", "--params", "params/bidmc.yaml", "--set", f"data.root={bidmc_dir / 'bidmc_csv'}",
        "--set", 'data.splits={"train": ["01"], "test": ["36"]}', "--set", "data.optional_test_subjects=[]",
        "--set", f"paths.processed={tmp_path / 'processed'}", "--set", "model.base_width=4",
        "--set", "model.latent_dim=16", "--set", "model.latent_steps=2", "--set", "training.device=cpu",
        "--seeds", "0", "--epochs", "1", "--calibrate", "120", "--ppg-quality", "0.9", "--runs", str(tmp_path / "runs"),
        "--out", str(out),
    )
    assert "## Without the sensor, all spans (test subjects 36; seeds 0)" in stdout
    assert "## Without the sensor, PLETH quality ≥ 0.9 spans (test subjects 36; seeds 0)" in stdout
    assert "## Calibrated on the first 120 s, scored after it" in stdout
    without = pd.read_csv(tmp_path / "missing_without_sensor.csv", dtype={"subject": str})
    for spans in ("all", "PLETH quality ≥ 0.9"):
        assert set(without.loc[without["spans"] == spans, "method"]) == {
            "real RESP", "imputed", "real RESP, dominant frequency", "imputed, dominant frequency", "PPG-derived RIAV",
            "PPG-derived RIFV", "PPG-derived RIIV", "constant 21.0", "PLETH pulse rate"}
    spans_of = without.set_index(["spans", "method", "measure"])["n"]
    for key in [("PLETH pulse rate", "heart_rate_mae_8s"), ("constant 21.0", "breathing_rate_mae_32s")]:
        assert spans_of[("PLETH quality ≥ 0.9", *key)] <= spans_of[("all", *key)]
    assert set(without.loc[without["modality"] == "II", "measure"]) == {"heart_rate_mae_8s", "r_peak_f1_50ms"}
    calibrated = pd.read_csv(tmp_path / "missing_calibrated.csv", dtype={"subject": str})
    assert set(calibrated["subject"]) == {"36"} and set(calibrated["modality"]) == {"RESP", "II"}
    assert set(calibrated["method"]) == {"uncalibrated", "uncalibrated + sign, gain, delay",
                                        "calibration stretch only", "calibrated"}
    assert calibrated.loc[calibrated["measure"] == "r", "value"].between(-1, 1).all()
    assert out.with_suffix(".md").read_text().startswith("Command: `benchmarks/bench_missing.py --params params/bidmc.yaml")
    assert (tmp_path / "runs" / "seed0" / "II" / "checkpoints" / "best.pt").is_file()


def test_compression_benchmark_on_a_smoke_run(tmp_path: Path) -> None:
    from helpers import smoke_run

    runs = [str(smoke_run(tmp_path)), str(smoke_run(tmp_path, **{"training.seed": 1, "tracking.run_name": "seed1"}))]
    out = tmp_path / "compression"
    stdout = _run(
        "benchmarks/bench_compression.py", "--params", "params/smoke.yaml",
        "--set", f"paths.processed={tmp_path / 'processed'}", "--run", *runs, "--bits", "4", "8", "32",
        "--ratios", "10", "--allocate", "4", "--coefficient-bits", "4", "6", "--fidelity", "--fidelity-bits", "8",
        "--out", str(out),
    )
    raw = pd.read_csv(out.with_suffix(".csv"))
    assert set(raw["method"]) == {"mimo-ae", "mimo-ae-depths", "pca", "wavelet", "dct", "wavelet-alloc", "dct-alloc"}
    assert set(raw["modality"]) == {"ECG", "PPG", "RESP", "ABP", "mean"}
    assert set(raw.loc[raw["method"] == "mimo-ae", "seed"]) == {0, 1}
    depths = raw[(raw["method"] == "mimo-ae-depths") & (raw["modality"] == "mean")]
    assert set(depths["seed"]) == {0, 1} and (depths["cr"] >= 10).all()  # within the bits of 10×
    assert "resolution {'ECG': 12, 'PPG': 12, 'RESP': 12, 'ABP': 12} bits per sample" in stdout
    for section in ("## Every code", "## Equal bits", "## Fixed ratios", "## Latent depth"):
        assert section in stdout and section in out.with_suffix(".md").read_text()
    # the two seeds' mean ± s.d. per code, and in how many of them MiMo-AE is the lowest
    mimo = raw[(raw["method"] == "mimo-ae") & (raw["modality"] == "mean") & (raw["bits"] == 8)]["prd"]
    assert re.search(rf"\| 16 × 8 bit \| [\d.]+ \| {mimo.mean():.1f} ± {mimo.std():.1f} \|", stdout)
    assert re.search(r"\| [012]/2 \|", stdout)
    # physiology after coding: the original's floor, both seeds' 8-bit code, PCA and each transform codec at 10×
    fidelity = pd.read_csv(tmp_path / "compression_fidelity.csv")
    assert set(fidelity["code"]) == {"original", "mimo-ae 16 × 8 bit, seed 0", "mimo-ae 16 × 8 bit, seed 1",
                                     "mimo-ae 16 × 12.00 bit per dim., seed 0", "mimo-ae 16 × 12.00 bit per dim., seed 1",
                                     "pca 16 × 8 bit", "wavelet at 10×", "dct at 10×", "wavelet-alloc at 10×",
                                     "dct-alloc at 10×"}
    floor = fidelity[(fidelity["code"] == "original") & (fidelity["measure"] == "r_peak_f1_50ms")]["value"]
    assert list(floor) == [1.0]
    assert "## Physiology after coding" in stdout and "ECG r_peak_f1_50ms (fraction)" in stdout
    assert (tmp_path / "compression_fidelity.png").is_file()
    repeated = subprocess.run([sys.executable, "benchmarks/bench_compression.py", "--params", "params/smoke.yaml",
                               "--set", f"paths.processed={tmp_path / 'processed'}", "--run", runs[0], runs[0]],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert "more than one run of (latent size, seed) [(16, 0)]" in repeated.stderr


def test_cohort_benchmark_tiny(tmp_path: Path) -> None:
    stdout = _run(
        "benchmarks/bench_cohort.py", "--hours", "0.05", "0.1", "--subject-minutes", "1", "--root", str(tmp_path),
        "--set", "model.base_width=4", "--set", "model.stages=[1, 1]",
    )
    assert "| 0.05 h | 3 | 27 / 27 / 27 |" in stdout and "| 0.1 h | 6 | 108 / 27 / 27 |" in stdout
    assert re.search(r"0\.1 h against 0\.05 h: prepare peak \d+\.\d\dx, training peak \d+\.\d\dx", stdout)
    assert re.search(r"memory-mapped vs in memory: windows/s [\d.]+ vs [\d.]+ \(ratio of medians", stdout)
    assert list(tmp_path.iterdir()) == []  # cohorts are deleted after their measurements
