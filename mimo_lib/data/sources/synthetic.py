"""The embedded synthetic cohort: coupled ECG, PPG, respiration and arterial pressure.

Each subject is generated from ``seed`` and its index alone, so the cohort is the
same on every machine. The physiology that links the signals is built in:

- respiration comes from NeuroKit's breathing simulator (``nk.rsp_simulate``);
- the heart rate follows the respiration (respiratory sinus arrhythmia: faster
  while the lungs fill) plus a slow drift; beat times are where the integrated
  heart rate crosses whole beats;
- the ECG is a sum of Gaussian P, Q, R, S and T waves around each beat (T after
  a QT interval that grows with the RR interval), with per-subject amplitudes;
- every beat launches a PPG pulse and an arterial pressure pulse after a
  per-subject pulse transit delay (the pressure pulse reaches the radial artery
  before the fingertip PPG);
- respiration modulates pulse amplitudes and baselines.

The cohort is written as one CSV file per subject (``time`` plus one column per
signal), the same format a user brings, and read back through the CSV source.
Beside it, ``numerics/<subject>.csv`` holds 1 Hz bedside-monitor numerics (heart
rate and respiratory rate), the targets of the downstream example.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.config import Params, SyntheticConfig
from mimo_lib.data.sources.csv_folder import CsvFolderSource
from mimo_lib.data.types import Recording
from mimo_lib.registry import SOURCES

MANIFEST = "synthetic.json"
NUMERICS = "numerics"


@dataclass
class SyntheticSubject:
    """One generated subject: its signals and the physiology they were made from."""

    subject: str
    frame: pd.DataFrame
    r_peaks: np.ndarray
    physiology: dict[str, float]


def subject_ids(cfg: SyntheticConfig) -> list[str]:
    """``S01``, ``S02``, ... (zero-padded to at least two digits)."""
    width = max(2, len(str(cfg.n_subjects)))
    return [f"S{i + 1:0{width}d}" for i in range(cfg.n_subjects)]


def _gaussians(n: int, rate: float, centres: np.ndarray, width: float, amplitudes: np.ndarray) -> np.ndarray:
    """Sum of Gaussian waves ``amplitude * exp(-(t - centre)^2 / (2 width^2))`` on ``n`` samples."""
    reach = int(np.ceil(4 * width * rate))
    offsets = np.arange(-reach, reach + 1)
    index = np.rint(centres * rate).astype(np.int64)[:, None] + offsets
    values = amplitudes[:, None] * np.exp(-0.5 * ((index / rate - centres[:, None]) / width) ** 2)
    inside = (index >= 0) & (index < n)
    return np.bincount(index[inside], weights=values[inside], minlength=n)


def _beat_times(time: np.ndarray, heart_rate: np.ndarray, phase0: float) -> np.ndarray:
    """Times where the integrated heart rate (beats per minute) completes each beat."""
    phase = phase0 + np.concatenate(([0.0], np.cumsum(heart_rate[:-1] / 60 * np.diff(time))))
    beats = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1)
    return np.interp(beats, phase, time)


def simulate_subject(cfg: SyntheticConfig, index: int) -> SyntheticSubject:
    """Generate subject number ``index`` (0-based) of the cohort, deterministically."""
    rng = np.random.default_rng([cfg.seed, index])
    rate = cfg.sampling_rate
    n = int(round(cfg.duration_s * rate))
    time = np.arange(n) / rate
    physiology = {
        "heart_rate": rng.uniform(55, 85),
        "respiratory_rate": rng.uniform(10, 18),
        "rsa": rng.uniform(0.04, 0.08),
        "ptt_ppg": rng.uniform(0.18, 0.28),
        "ptt_abp_lead": rng.uniform(0.04, 0.08),
    }
    physiology["ptt_abp"] = physiology["ptt_ppg"] - physiology["ptt_abp_lead"]

    # respiration (chest expansion, rising on inspiration), scaled to about [-1, 1]
    import neurokit2 as nk  # here, not at the top: reading a written cohort does not need NeuroKit2's import time

    rsp = nk.rsp_simulate(
        duration=int(np.ceil(cfg.duration_s)) + 1, sampling_rate=int(round(rate)),
        respiratory_rate=physiology["respiratory_rate"], method="breathmetrics",
        random_state=int(rng.integers(2**31)),
    )
    rsp_time = np.arange(len(rsp)) / round(rate)
    breath = np.interp(time, rsp_time, rsp)
    breath = (breath - breath.mean()) / (np.sqrt(2) * breath.std())

    drift = 0.02 * np.sin(2 * np.pi * rng.uniform(0.02, 0.06) * time + rng.uniform(0, 2 * np.pi))
    heart_rate = physiology["heart_rate"] * (1 + physiology["rsa"] * breath + drift)
    beats = _beat_times(time, heart_rate, rng.uniform(0, 1))
    rr = np.diff(beats, prepend=beats[0] - 60 / physiology["heart_rate"])
    breath_at_beat = np.interp(beats, time, breath)

    # ECG: Gaussian P-QRS-T waves around each R-peak (mV)
    scale = rng.uniform(0.7, 1.3, size=5)
    r_amp = rng.uniform(0.8, 1.6) * (1 + 0.05 * breath_at_beat)
    ecg = np.zeros(n)
    for offset, width, amplitude in (
        (-0.2 * np.sqrt(rr), 0.025, 0.12 * scale[0]),   # P
        (-0.03, 0.010, -0.12 * scale[1]),               # Q
        (0.0, 0.012, 1.0),                              # R
        (0.03, 0.012, -0.25 * scale[2]),                # S
        (0.3 * np.sqrt(rr), 0.06, 0.3 * scale[3]),      # T
    ):
        ecg += _gaussians(n, rate, beats + offset, width, r_amp * amplitude * np.ones_like(beats))
    ecg += 0.05 * scale[4] * breath + rng.normal(0, rng.uniform(0.01, 0.03), n)

    # PPG (a.u.): systolic and diastolic waves after the pulse transit delay
    foot = beats + physiology["ptt_ppg"]
    ppg_amp = 1 + 0.12 * breath_at_beat
    ppg = (_gaussians(n, rate, foot + 0.13, 0.05, ppg_amp)
           + _gaussians(n, rate, foot + 0.35, 0.09, rng.uniform(0.3, 0.5) * ppg_amp))
    ppg += 0.15 * breath + rng.normal(0, rng.uniform(0.005, 0.02), n)

    # arterial pressure (mmHg): earlier foot; pulse pressure falls on inspiration
    foot = beats + physiology["ptt_abp"]
    diastolic, pulse_pressure = rng.uniform(65, 85), rng.uniform(35, 50)
    pp = pulse_pressure * (1 - 0.06 * breath_at_beat)
    abp = (diastolic + _gaussians(n, rate, foot + 0.10, 0.045, pp)
           - _gaussians(n, rate, foot + 0.28, 0.02, 0.08 * pp)
           + _gaussians(n, rate, foot + 0.36, 0.06, 0.25 * pp))
    abp += 3 * breath + rng.normal(0, 0.5, n)

    frame = pd.DataFrame({"time": time, "ECG": ecg, "PPG": ppg, "RESP": breath, "ABP": abp})
    return SyntheticSubject(subject_ids(cfg)[index], frame, beats, physiology)


def monitor_numerics(subject: SyntheticSubject) -> pd.DataFrame:
    """1 Hz monitor numerics: ``time``, ``HR`` (beats/min over each second) and ``RESP`` (breaths/min)."""
    duration = int(np.floor(subject.frame["time"].iloc[-1])) + 1
    seconds = np.arange(duration, dtype=float)
    beats = subject.r_peaks
    instantaneous = 60 / np.diff(beats)
    heart_rate = np.interp(seconds + 0.5, beats[1:], instantaneous)
    respiratory_rate = np.full(duration, subject.physiology["respiratory_rate"])
    return pd.DataFrame({"time": seconds, "HR": heart_rate, "RESP": respiratory_rate})


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    os.close(fd)
    frame.to_csv(tmp, index=False, float_format="%.6f")
    os.replace(tmp, path)


def write_synthetic_cohort(cfg: SyntheticConfig, folder: Path) -> list[Path]:
    """Write every subject as ``folder/<subject>.csv`` (and its monitor numerics as
    ``folder/numerics/<subject>.csv``) plus a manifest of ``cfg``; return the signal CSV paths."""
    folder = Path(folder)
    (folder / NUMERICS).mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(subject_ids(cfg)):
        subject = simulate_subject(cfg, index)
        path = folder / f"{name}.csv"
        _write_atomic(subject.frame, path)
        _write_atomic(monitor_numerics(subject), folder / NUMERICS / f"{name}.csv")
        paths.append(path)
    (folder / MANIFEST).write_text(json.dumps(cfg.model_dump(mode="json"), sort_keys=True))
    return paths


def cohort_is_current(cfg: SyntheticConfig, folder: Path) -> bool:
    """Whether ``folder`` holds the cohort of exactly this configuration."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return False
    same = json.loads(manifest.read_text()) == cfg.model_dump(mode="json")
    expected = [Path(folder) / sub / f"{s}.csv" for s in subject_ids(cfg) for sub in ("", NUMERICS)]
    return same and all(path.is_file() for path in expected)


@SOURCES.register("synthetic")
class SyntheticSource(CsvFolderSource):
    """``data.source: synthetic``: the embedded cohort, written as CSV to ``data.root`` when absent or
    out of date, then read through the same CSV path as a user's files."""

    def _ensure(self, params: Params) -> None:
        root = params.resolve_path(params.data.root)
        if not cohort_is_current(params.data.synthetic, root):
            write_synthetic_cohort(params.data.synthetic, root)

    def subjects(self, params: Params) -> list[str]:
        self._ensure(params)
        return super().subjects(params)

    def load(self, params: Params, subjects: list[str] | None) -> list[Recording]:
        self._ensure(params)
        return super().load(params, subjects)
