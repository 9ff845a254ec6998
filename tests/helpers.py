"""Helpers shared by the test modules: tiny params, synthetic windows, a smoke run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from mimo_lib.config import Params, load_params
from mimo_lib.data.normalization import zscore_windows
from mimo_lib.data.prepare import prepare
from mimo_lib.data.types import WindowSet
from mimo_lib.training.trainer import train

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
MODALITIES = ["ECG", "PPG"]
LENGTH = 64
RATE = 25.0
SEGMENT_RATE = 50.0
Segment = tuple[str, dict[str, np.ndarray]] | int  # (name, signals) or the length of a `~` gap
SMOKE_MODEL = {"model.latent_dim": 16, "model.latent_steps": 2, "model.base_width": 4, "model.compress_channels": 4,
               "training.device": "cpu", "training.epochs": 1, "training.modality_dropout": 0.3}


def zscored_windowset(raw: np.ndarray, modalities: list[str], rate: float, prefix: str = "S") -> WindowSet:
    """Raw ``(N, M, T)`` windows z-scored per window; subjects ``<prefix>00..02`` in turn, a window every 2 s."""
    windows, normalization = zscore_windows(raw)
    subjects = np.array([f"{prefix}{i % 3:02d}" for i in range(len(raw))])
    return WindowSet(windows, subjects, np.arange(len(raw)) * 2.0, list(modalities), rate, normalization)


def sine_windows(n: int, seed: int, subject_prefix: str = "S") -> WindowSet:
    """Per-window z-scored mixtures of two sines per modality, sharing a base frequency across modalities."""
    rng = np.random.default_rng(seed)
    time = np.arange(LENGTH) / RATE
    base = rng.uniform(0.8, 2.0, (n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 2, 1))
    x = np.sin(2 * np.pi * base * time + phase) + 0.5 * np.sin(2 * np.pi * 2 * base * time + 2 * phase)
    x += 0.05 * rng.standard_normal(x.shape)
    return zscored_windowset(x, MODALITIES, RATE, subject_prefix)


def coupled_windows(n: int, seed: int, prefix: str = "S") -> WindowSet:
    """Two modalities carrying the same waveform, the second 0.2 s behind the first (per-window z-scored)."""
    rng = np.random.default_rng(seed)
    time = np.arange(LENGTH) / RATE
    frequency = rng.uniform(0.8, 2.0, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))

    def wave(t):
        return np.sin(2 * np.pi * frequency * t + phase) + 0.5 * np.sin(4 * np.pi * frequency * t + 2 * phase)

    x = np.stack([wave(time), wave(time - 0.2)], axis=1) + 0.05 * rng.standard_normal((n, 2, LENGTH))
    return zscored_windowset(x, MODALITIES, RATE, prefix)


def tiny_params(tmp_path: Path, **overrides) -> Params:
    """Default params with a tiny model for :data:`MODALITIES` windows, runs under ``tmp_path``."""
    values = {
        "data.modalities": MODALITIES, "data.splits": {}, "model.latent_dim": 16, "model.base_width": 8,
        "model.stages": [1, 1], "model.compress_channels": 8, "model.latent_steps": 2,
        "training.epochs": 4, "training.batch_size": 16, "training.learning_rate": 0.005,
        "training.warmup_epochs": 1, "training.device": "cpu", "paths.runs": str(tmp_path / "runs"),
        "tracking.n_example_windows": 2,
    }
    values.update(overrides)
    return load_params(overrides=values)


def smoke_params(folder: Path, **overrides) -> Params:
    """``params/smoke.yaml`` with a tiny model, its processed windows and runs under ``folder``."""
    values = {**SMOKE_MODEL, "paths.runs": str(folder / "runs"), "paths.processed": str(folder / "processed"),
              "tracking.run_name": "smoke"}
    values.update(overrides)
    return load_params("params/smoke.yaml", values)


def smoke_run(folder: Path, **overrides) -> Path:
    """A run folder trained for one epoch on the smoke cohort."""
    params = smoke_params(folder, **overrides)
    return train(params, prepare(params, progress=False), progress=False).run_dir


def sine(frames: int, offset: float) -> np.ndarray:
    """A slow sine around ``offset``: a signal a 16-bit WFDB file stores to 0.005 at gain 200."""
    return offset + np.sin(np.arange(frames) / 7.0)


def write_multi_segment(folder: Path, name: str, segments: list[Segment], layout: dict[str, str] | None) -> None:
    """A multi-segment WFDB record at :data:`SEGMENT_RATE`: segments written by wfdb, master header by hand.

    ``layout`` maps signal name -> unit; given, the record is variable-layout
    and starts with the layout segment ``<name>_layout``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}_layout 0"] if layout is not None else []
    for segment in segments:
        if isinstance(segment, int):
            lines.append(f"~ {segment}")
            continue
        segment_name, signals = segment
        units = [layout[signal] if layout else "mV" for signal in signals]
        wfdb.wrsamp(segment_name, fs=SEGMENT_RATE, units=units, sig_name=list(signals),
                    p_signal=np.column_stack(list(signals.values())), fmt=["16"] * len(signals), write_dir=str(folder))
        lines.append(f"{segment_name} {len(next(iter(signals.values())))}")
    total = sum(int(line.split()[1]) for line in lines)
    n_sig = len(layout) if layout is not None else len(next(s for s in segments if not isinstance(s, int))[1])
    master = f"{name}/{len(lines)} {n_sig} {SEGMENT_RATE:g} {total}"
    (folder / f"{name}.hea").write_text("\n".join([master, *lines]) + "\n")
    if layout is not None:
        signal_lines = [f"~ 0 200/{unit} 16 0 0 0 0 {signal}" for signal, unit in layout.items()]
        layout_line = f"{name}_layout {len(layout)} {SEGMENT_RATE:g} 0"
        (folder / f"{name}_layout.hea").write_text("\n".join([layout_line, *signal_lines]) + "\n")
