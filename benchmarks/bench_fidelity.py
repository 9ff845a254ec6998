"""Physiological fidelity of MiMo-AE against PCA at equal latent size, on whole test recordings.

For every seed the script trains a model on the prepared training windows,
reconstructs each test subject's whole recording (tapered overlap-add of
overlapping windows, :meth:`mimo_lib.run.TrainedRun.reconstruct`) with the model
and with PCA fitted on the same training windows, and scores R-peaks, heart
rate, pulse peaks and rate, breathing rate against BIDMC's manual breath
annotations, and pulse arrival time (:func:`mimo_lib.physiology.score_reconstructions`);
the original signal's own scores (the detectors' floor) are printed beside. It
also prints each seed's waveform SNR, the epoch of its model, and the
reconstruction error at window joins against mid-window. ``--reuse`` scores runs
trained before (``--runs DIR`` holding ``seed<N>`` folders) at ``--checkpoint``.

Protocol B (125 Hz)::

    .venv/bin/python benchmarks/bench_fidelity.py --params params/bidmc_protocol_b.yaml \\
        --set data.root=/work/shared/data/bidmc/bidmc_csv --seeds 0 1 2 --out benchmarks/results/protocol_b/fidelity
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mimo_lib.config import load_params
from mimo_lib.data.prepare import prepare, split_subjects
from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.evaluate import evaluate_model
from mimo_lib.evaluation.evaluate import ORIGINAL_METHOD
from mimo_lib.physiology import fidelity_summary, reconstructions_beside_pca, score_reconstructions
from mimo_lib.reconstruction import RecordingReconstruction
from mimo_lib.run import TrainedRun, load_run
from mimo_lib.training.trainer import train

MODEL = "mimo-ae"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params/bidmc_protocol_b.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, help="override training.epochs (smoke runs)")
    parser.add_argument("--device", help="override training.device")
    parser.add_argument("--runs", type=Path, help="keep the trained runs here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="score the runs already trained in --runs (seed<N> folders) instead of training")
    parser.add_argument("--checkpoint", default="best.pt",
                        help="with --reuse, the checkpoint scored (best.pt: the run's model; last.pt: its last epoch)")
    parser.add_argument("--out", type=Path, help="write <out>.csv (per recording), <out>_seeds.csv and <out>.md")
    return parser.parse_args(argv)


def join_error_ratio(reconstructions: list[RecordingReconstruction], window_s: float, stride_s: float) -> pd.Series:
    """Per modality: RMS error within 0.1 window of a window join over RMS error mid-way between joins.

    Joins are where one window ends and the next overlapping one takes over (every
    stride); mid-way samples sit half a stride from them. Errors are scaled per
    recording and modality by the original's standard deviation.
    """
    near, mid = [], []
    for recording in reconstructions:
        rate = recording.rate
        time = np.arange(recording.length) / rate
        phase = np.mod(time, stride_s) / stride_s
        error = (recording.reconstruction - recording.original) / np.nanstd(recording.original, axis=1, keepdims=True)
        reach = 0.1 * window_s / stride_s
        near.append(error[:, (phase < reach / 2) | (phase > 1 - reach / 2)])
        mid.append(error[:, np.abs(phase - 0.5) < reach / 2])
    rms = [np.sqrt(np.nanmean(np.concatenate(parts, axis=1) ** 2, axis=1)) for parts in (near, mid)]
    return pd.Series(rms[0] / rms[1], index=reconstructions[0].modalities)


def trained_run(base_overrides: list[str], args: argparse.Namespace, seed: int,
                runs_dir: Path) -> tuple[TrainedRun, dict[str, WindowSet], int]:
    """The seed's run, its prepared windows and its number of epochs: trained now, or read back (``--reuse``)."""
    if args.reuse:
        run = load_run(runs_dir / f"seed{seed}", args.checkpoint)
        return run, prepare(run.params, progress=False), len(pd.read_csv(run.run_dir / "history.csv"))
    overrides = [*base_overrides, f"training.seed={seed}", f"paths.runs={runs_dir}", f"tracking.run_name=seed{seed}"]
    params = load_params(args.params, overrides)
    sets = prepare(params, progress=False)
    result = train(params, sets, progress=False)
    return load_run(result.run_dir), sets, len(result.history)


def run_seed(base_overrides: list[str], args: argparse.Namespace, seed: int, runs_dir: Path) -> tuple[pd.DataFrame, dict]:
    run, sets, epochs = trained_run(base_overrides, args, seed, runs_dir)
    params = run.params
    evaluation = evaluate_model(run.model, sets, "test")
    recordings = load_recordings(params, split_subjects(params)["test"])
    methods = reconstructions_beside_pca(run, recordings)
    table = score_reconstructions(methods, modality_kinds(params)).assign(seed=seed)
    joins = join_error_ratio(methods[MODEL], params.preprocessing.window_seconds, params.preprocessing.stride_seconds)
    snr = evaluation.per_modality["snr_db"].unstack("method")
    info = {"seed": seed, "model_epoch": run.epoch, "epochs": epochs,
            **{f"snr {m} {method}": snr.loc[m, method] for m in snr.index for method in snr.columns},
            **{f"mean snr {method}": snr[method].mean() for method in snr.columns},
            **{f"join/mid error {m}": value for m, value in joins.items()}}
    print(f"seed {seed}: model epoch {run.epoch} of {epochs}, "
          f"mean SNR {snr[MODEL].mean():.2f} dB (PCA {snr.drop(columns=MODEL).iloc[:, 0].mean():.2f})", flush=True)
    return table, info


def report(table: pd.DataFrame, seeds: pd.DataFrame) -> str:
    """Markdown: per measure the original's floor, MiMo-AE mean ± s.d. over seeds, PCA; then per seed."""
    per_seed = {seed: fidelity_summary(rows.drop(columns="seed")) for seed, rows in table.groupby("seed")}
    stacked = pd.concat(per_seed, names=["seed"])
    pca = next(c for c in stacked.columns if c.startswith("pca-") and not c.endswith(" n"))
    grouped = stacked.groupby(level=[1, 2, 3, 4], sort=False)
    model = grouped[MODEL].agg(["mean", "std"])
    lines = ["| modality | measure | reference | unit | original | MiMo-AE (mean ± s.d. over seeds) | "
             f"{pca.upper()} | counts (MiMo-AE, seed {min(per_seed)}) |", "|---|---|---|---|---|---|---|---|"]
    first = per_seed[min(per_seed)]
    for key, row in model.iterrows():
        original, baseline = grouped[ORIGINAL_METHOD].mean()[key], grouped[pca].mean()[key]
        lines.append(f"| {' | '.join(key)} | {original:.3f} | {row['mean']:.3f} ± {row['std']:.3f} | "
                     f"{baseline:.3f} | {first.loc[key, f'{MODEL} n']} |")
    lines += ["", markdown(seeds.round(3))]
    return "\n".join(lines)


def markdown(frame: pd.DataFrame) -> str:
    """A plain markdown table of ``frame`` (no index)."""
    rows = [" | ".join(map(str, frame.columns)), " | ".join("---" for _ in frame.columns)]
    rows += [" | ".join(map(str, values)) for values in frame.itertuples(index=False)]
    return "\n".join(f"| {row} |" for row in rows)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.reuse and (args.runs is None or args.overrides or args.epochs or args.device):
        raise SystemExit("--reuse scores the runs in --runs as they were trained: give --runs, and no --set, --epochs or --device")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    overrides = list(args.overrides)
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    if args.device:
        overrides.append(f"training.device={args.device}")
    with tempfile.TemporaryDirectory() as scratch:
        runs_dir = args.runs or Path(scratch)
        results = [run_seed(overrides, args, seed, runs_dir) for seed in args.seeds]
    table = pd.concat([t for t, _ in results], ignore_index=True)
    seeds = pd.DataFrame([info for _, info in results])
    text = report(table, seeds)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out.with_suffix(".csv"), index=False)
        seeds.to_csv(args.out.parent / f"{args.out.name}_seeds.csv", index=False)
        args.out.with_suffix(".md").write_text(text + "\n")


if __name__ == "__main__":
    main()
