"""How much a BIDMC-trained MiMo-AE loses on recordings from other places and devices, beside PCA fitted on BIDMC.

Each trained run (one per seed; Protocol B, ``params/bidmc_protocol_b.yaml``)
is applied, unchanged, to recordings it has never seen: NeuroKit2's lab
recordings (Biopac, 100 Hz, columns ``ECG, PPG, RSP``) and the WFDB records
shipped under ``../shared/data/wfdb`` (other monitors, other leads, 125–500 Hz),
their signals mapped onto the run's ``RESP, PLETH, II`` where they exist
(``TrainedRun.windows(..., mapping=, storage=)``, resampled to the run's rate
with its filters). A modality a recording lacks is given to the model as
missing and not scored. BIDMC's own test subjects are scored in the same run
with the same missing modalities, so each row has its in-dataset reference.

Printed per target and modality: r, SNR (dB) and PRDN (%) over windows
(MiMo-AE mean ± s.d. over the runs, PCA with as many components as the latent,
fitted on the run's BIDMC training windows of the present modalities), and the
physiological fidelity of whole stitched recordings (beats, rates, breaths;
the original signal's own detections are the reference where a recording has
no annotations)::

    .venv/bin/python benchmarks/bench_cross_dataset.py --runs /work/bench_runs/pb5/seed* \\
        --data ../shared/data --out benchmarks/results/protocol_b/cross_dataset
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mimo_lib.data.prepare import split_subjects
from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.types import Recording, WindowSet
from mimo_lib.evaluation.baselines import PCABaseline, fit_pca
from mimo_lib.evaluation.metrics import reconstruction_metrics
from mimo_lib.model.inference import predict, present_mask
from mimo_lib.physiology import fidelity_summary, score_reconstructions
from mimo_lib.run import TrainedRun, load_run

MODEL, IN_DATASET = "mimo-ae", "BIDMC test subjects"
NEUROKIT = {"time_column": None, "sampling_rate": 100}


@dataclass(frozen=True)
class Target:
    """Recordings from elsewhere: where, which of the run's modalities they hold, their names and storage."""

    name: str
    path: str
    holds: tuple[str, ...]
    mapping: dict[str, str] = field(default_factory=dict)
    storage: dict[str, Any] = field(default_factory=dict)


TARGETS = [
    Target("NeuroKit resting 5 min (ECG, PPG, RSP)", "neurokit/bio_resting_5min_100hz.csv", ("RESP", "PLETH", "II"),
           {"ECG": "II", "PPG": "PLETH", "RSP": "RESP"}, NEUROKIT),
    Target("NeuroKit resting 8 min (ECG, RSP)", "neurokit/bio_resting_8min_100hz.csv", ("RESP", "II"),
           {"ECG": "II", "RSP": "RESP"}, NEUROKIT),
    Target("NeuroKit event-related (ECG, RSP)", "neurokit/bio_eventrelated_100hz.csv", ("RESP", "II"),
           {"ECG": "II", "RSP": "RESP"}, NEUROKIT),
    Target("WFDB 03700181 (MCL1 as II, RESP)", "wfdb/03700181.hea", ("RESP", "II"), {"MCL1": "II"}),
    Target("WFDB a103l (II, PLETH)", "wfdb/a103l.hea", ("PLETH", "II")),
    Target("WFDB mixedsignals (II, Pleth, Resp)", "wfdb/mixedsignals.hea", ("RESP", "PLETH", "II"),
           {"Pleth": "PLETH", "Resp": "RESP"}),
    Target("WFDB v102s, 3 segments (II, PLETH, RESP)", "wfdb/multi-segment/v102s/v102s.hea", ("RESP", "PLETH", "II")),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="trained BIDMC run folders (one per seed)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder holding neurokit/ and wfdb/")
    parser.add_argument("--checkpoint", default="best.pt", help="checkpoint of each run scored (default: the run's model)")
    parser.add_argument("--bidmc", type=Path, default=None, help="BIDMC CSV folder (default: the runs' data.root)")
    parser.add_argument("--out", type=Path, help="write <out>_waveform.csv, <out>_fidelity.csv and <out>.md")
    return parser.parse_args(argv)


class PresentPCA:
    """PCA fitted on the present modalities of the training windows; missing rows come back zero."""

    def __init__(self, train: np.ndarray, present: np.ndarray, n_components: int) -> None:
        self.present = present
        self.pca: PCABaseline = fit_pca(train[:, present], n_components)

    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        out = np.zeros_like(windows)
        out[:, self.present] = self.pca.reconstruct(windows[:, self.present])
        return out


def waveform_rows(windows: WindowSet, reconstructions: dict[str, np.ndarray], present: np.ndarray) -> list[dict]:
    """Mean r, SNR and PRDN per present modality and method over the windows."""
    rows = []
    for method, reconstruction in reconstructions.items():
        values = reconstruction_metrics(windows.windows, reconstruction)
        for index in np.flatnonzero(present):
            rows.append({"modality": windows.modalities[index], "method": method, "windows": len(windows),
                         **{key: float(np.nanmean(values[key][:, index])) for key in ("pearson", "snr_db", "prd")}})
    return rows


def score_target(run: TrainedRun, recordings: str | Path | list[Recording], target: Target | None,
                 holds: tuple[str, ...], pca_cache: dict[tuple[str, ...], PresentPCA]) -> tuple[list[dict], pd.DataFrame, dict]:
    """Waveform metrics and fidelity of the run and of PCA on one target's recordings."""
    missing = [m for m in run.modalities if m not in holds]
    present = present_mask(run.modalities, missing)
    reading = {"mapping": target.mapping, "storage": target.storage} if target else {}
    recordings = run.recordings(recordings, missing, **reading)
    key = tuple(missing)
    if key not in pca_cache:
        pca_cache[key] = PresentPCA(run.split("train").windows, present, run.model.latent_dim)
    pca = pca_cache[key]
    windows = run.windows(recordings, missing)
    model = predict(run.model, windows, present=present)[0]
    rows = waveform_rows(windows, {MODEL: model, f"pca-{pca.pca.n_components}": pca.reconstruct(windows.windows)}, present)
    methods = {MODEL: run.reconstruct(recordings, missing),
               f"pca-{pca.pca.n_components}": run.reconstruct(recordings, missing, reconstructor=pca.reconstruct)}
    kinds = {m: k for m, k in modality_kinds(run.params).items() if m in holds}
    fidelity = score_reconstructions(methods, kinds)
    dropped = pd.DataFrame(list(windows.dropped.values())).sum()
    reasons = ", ".join(f"{reason} {count}" for reason, count in dropped[dropped > 0].items())
    return rows, fidelity, {"windows": len(windows), "dropped": int(dropped.sum()), "reasons": reasons}


def measure(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Waveform and fidelity tables over every run and target (BIDMC's test subjects per missing set first)."""
    waveform, fidelity = [], []
    for run_dir in args.runs:
        run = load_run(run_dir, args.checkpoint)
        if args.bidmc is not None:
            run.params.data.root = str(args.bidmc)
        bidmc = load_recordings(run.params, split_subjects(run.params)["test"])
        pca_cache: dict[tuple[str, ...], PresentPCA] = {}
        for holds in sorted({t.holds for t in TARGETS}, key=len, reverse=True):
            jobs = [(f"{IN_DATASET} ({', '.join(holds)})", bidmc, None)]
            jobs += [(t.name, args.data / t.path, t) for t in TARGETS if t.holds == holds]
            for name, recordings, target in jobs:
                rows, table, counts = score_target(run, recordings, target, holds, pca_cache)
                waveform += [{"target": name, "run": run_dir.name, **counts, **row} for row in rows]
                fidelity.append(table.assign(target=name, run=run_dir.name))
                print(f"{run_dir.name} {name}: {counts['windows']} windows ({counts['dropped']} dropped)", flush=True)
    return pd.DataFrame(waveform), pd.concat(fidelity, ignore_index=True)


def waveform_report(table: pd.DataFrame) -> str:
    """Markdown: per target and modality, MiMo-AE mean ± s.d. over runs and PCA (r / SNR dB / PRDN %)."""
    pca = next(m for m in table["method"].unique() if m != MODEL)
    lines = [f"| target | windows kept / dropped | modality | MiMo-AE r | MiMo-AE SNR dB | MiMo-AE PRDN % | "
             f"{pca.upper()} r / SNR / PRDN |", "|---|---|---|---|---|---|---|"]
    for (target, modality), rows in table.groupby(["target", "modality"], sort=False):
        model, base = rows[rows["method"] == MODEL], rows[rows["method"] == pca]
        cells = [f"{model[k].mean():.3f} ± {model[k].std():.3f}" if k == "pearson" else f"{model[k].mean():.1f} ± {model[k].std():.1f}"
                 for k in ("pearson", "snr_db", "prd")]
        first = model.iloc[0]
        reasons = f" ({first['reasons']})" if first["dropped"] else ""
        lines.append(f"| {target} | {int(first['windows'])} / {int(first['dropped'])}{reasons} | {modality} | "
                     f"{' | '.join(cells)} | {base['pearson'].mean():.3f} / {base['snr_db'].mean():.1f} / {base['prd'].mean():.1f} |")
    return "\n".join(lines)


def fidelity_report(table: pd.DataFrame) -> str:
    """Markdown: per target and measure, the original's floor, MiMo-AE mean ± s.d. over runs, PCA."""
    parts = []
    for (target, run), rows in table.groupby(["target", "run"], sort=False):
        summary = fidelity_summary(rows.drop(columns=["target", "run"]))
        parts.append(summary.assign(target=target, run=run).reset_index())
    summary = pd.concat(parts, ignore_index=True)
    pca = next(c for c in summary.columns if c.startswith("pca-") and not c.endswith(" n"))
    keys = ["target", "modality", "measure", "reference", "unit"]
    grouped = summary.groupby(keys, sort=False)
    lines = [f"| {' | '.join(keys)} | original | MiMo-AE | {pca.upper()} | scored / not scored (MiMo-AE, first run) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, rows in grouped:
        lines.append(f"| {' | '.join(key)} | {rows['original'].mean():.3f} | {rows[MODEL].mean():.3f} ± "
                     f"{rows[MODEL].std():.3f} | {rows[pca].mean():.3f} | {rows[f'{MODEL} n'].iloc[0]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    waveform, fidelity = measure(args)
    text = (f"Runs: {', '.join(str(r) for r in args.runs)}\n\n## Waveforms (windows, model scale)\n\n"
            f"{waveform_report(waveform)}\n\n## Physiological fidelity (whole recordings)\n\n{fidelity_report(fidelity)}\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        waveform.to_csv(f"{args.out}_waveform.csv", index=False)
        fidelity.to_csv(f"{args.out}_fidelity.csv", index=False)
        Path(f"{args.out}.md").write_text(text)


if __name__ == "__main__":
    main()
