"""Fusion strategies compared over seeds through ``mimo sweep``, and the sweep's wall time by worker processes.

The grid ``model.fusion`` × ``training.seed`` (latent 128 unless ``--latent``) runs through
:func:`mimo_lib.sweep.run_sweep` (notebooks 03 and 04 per run, then 05) on a Dask
``LocalCluster``, once per worker count in ``--workers``, each into a fresh sweep
folder ``<name>-w<N>`` so that nothing is skipped. The script prints the comparison of the last sweep (per strategy mean ±
s.d. [95 % t interval] over seeds, paired differences between strategies, the PCA
baseline beside them), the wall time per worker count with the machine's core
count, and per metric the largest difference of a run's test score between worker
counts: each run trains with cores ÷ workers threads, and another thread count
sums floats in another order, which training can amplify.

Protocol A on BIDMC, 3 fusions × 5 seeds (hours on a 2-core CPU)::

    .venv/bin/python benchmarks/bench_sweep.py --params params/bidmc.yaml \\
        --set data.root=/work/shared/data/bidmc/bidmc_csv --seeds 0 1 2 3 4 --workers 1 2 --name bidmc-a

A quick check of the script: add ``--epochs 1 --seeds 0 1``.

Where the grid cannot be afforded once per worker count, ``--resume`` keeps one
sweep folder ``<name>`` across calls and times each call on the runs it executed
(finished runs are skipped): e.g. seeds 0 1 with ``--workers 1``, then seeds 0–4
with ``--workers 2``, which prints the comparison of all of them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from mimo_lib.config import load_params
from mimo_lib.evaluation import comparison
from mimo_lib.executors import threads_per_worker
from mimo_lib.grid import DEFAULT_FUSIONS, Axis, fusion_axis
from mimo_lib.sweep import SweepSummary, run_sweep


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params/bidmc.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="params override for every run (repeatable), e.g. data.root=/abs/path")
    parser.add_argument("--fusion", nargs="+", default=list(DEFAULT_FUSIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--latent", type=int, default=128, help="model.latent_dim of every run")
    parser.add_argument("--epochs", type=int, help="override training.epochs (quick checks)")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="worker processes, one sweep each")
    parser.add_argument("--metrics", nargs="+", default=["snr_db", "prd", "pearson"], help="metrics shown")
    parser.add_argument("--name", default="bench-sweep", help="sweep folders <name>-w<workers> under paths.runs")
    parser.add_argument("--resume", action="store_true",
                        help="one sweep folder <name> for every call: skip its finished runs, time the others")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    return parser.parse_args(argv)


def overrides(args: argparse.Namespace) -> list[str]:
    """The overrides of every run: the script's options, then ``--set``."""
    chosen = [f"model.latent_dim={args.latent}"]
    if args.epochs:
        chosen.append(f"training.epochs={args.epochs}")
    return [*chosen, *args.overrides]


def timed_sweep(args: argparse.Namespace, workers: int) -> tuple[SweepSummary, float]:
    """One sweep of the grid with ``workers`` worker processes, into a folder that must not exist yet
    (with ``--resume``: the one folder ``<name>``, whose finished runs are skipped)."""
    name = args.name if args.resume else f"{args.name}-w{workers}"
    params = load_params(args.params, overrides(args))
    folder = params.resolve_path(params.paths.runs) / name
    if folder.exists() and not args.resume:
        raise SystemExit(f"{folder} exists: its finished runs would be skipped, not timed; remove it, "
                         "pick --name, or time only the unfinished runs with --resume")
    grid = [fusion_axis(args.fusion), Axis("training.seed", tuple(args.seeds))]
    began = time.perf_counter()
    summary = run_sweep(args.params, grid, overrides(args), name=name, jobs=workers, executor="dask")
    return summary, time.perf_counter() - began


def largest_differences(summaries: list[SweepSummary]) -> pd.Series:
    """Per metric, the largest absolute difference of a run's per-modality test score between the sweeps."""
    scores = []
    for summary in summaries:
        runs = comparison.load_runs([path for path in summary.runs.values() if comparison.is_finished(path)])
        scores.append(comparison.run_scores(runs.per_window, runs.metrics))
    return pd.concat([(other - scores[0]).abs().max() for other in scores[1:]], axis=1).max(axis=1)


def report(args: argparse.Namespace, timings: list[dict[str, object]], summary: SweepSummary,
           differences: pd.Series | None) -> str:
    shown = [*args.metrics, "seeds"]
    lines = [
        (f"# Sweep benchmark: {args.params}, fusion {' '.join(args.fusion)} × seeds {' '.join(map(str, args.seeds))}, "
         f"latent {args.latent}, {os.cpu_count()} cores, Dask LocalCluster"),
        "", "## Per strategy: mean ± s.d. [95 % t interval] over seeds (test split)", "",
        summary.table[shown].to_string(), "",
        "## Paired differences over the same seeds and windows (strategy − versus) [95 % t interval]", "",
        summary.differences[shown].to_string(), "",
        "## Wall time", "",
        pd.DataFrame(timings).to_string(index=False) if timings else "No run executed: every grid point had finished.",
    ]
    if differences is not None:
        lines += ["", "Largest difference of a run's test score between worker counts: "
                  + ", ".join(f"{metric} {value:.3g}" for metric, value in differences[args.metrics].items())]
    if summary.failures:
        lines += ["", "## Failed runs", "", *summary.failures]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    timings, summaries = [], []
    for workers in args.workers:
        summary, seconds = timed_sweep(args, workers)
        summaries.append(summary)
        runs = sum(comparison.is_finished(path) for name, path in summary.runs.items() if name not in summary.skipped)
        if runs:
            timings.append({"worker processes": workers, "threads per run": threads_per_worker(workers),
                            "runs finished": runs, "runs skipped": len(summary.skipped), "wall s": round(seconds, 1),
                            "runs per hour": round(3600 * runs / seconds, 1)})
        print(f"{workers} worker process(es): {seconds:.0f} s", flush=True)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 60):
        differences = largest_differences(summaries) if len(summaries) > 1 and not args.resume else None
        text = report(args, timings, summaries[-1], differences)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
