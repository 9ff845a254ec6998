"""Does the latent carry the physiology? Ridge probes to the bedside monitor's numerics, latent beside PCA and NeuroKit2.

For trained runs (one per seed) on a cohort with monitor numerics (BIDMC's
``*_Numerics.csv``: HR, PULSE, RESP, SpO2 at 1 Hz, averaged over each window),
a ridge probe (:func:`mimo_lib.evaluation.downstream.compare_features`: penalty
by cross-validation with folds grouped by subject) is fitted on the training
subjects' windows and scored on the test subjects, from three feature sets in
the same run: each run's latent vectors, PCA codes of the same size fitted on
the training windows, and the rates NeuroKit2 detects in each raw window. PCA
and NeuroKit2 features do not depend on the run and are computed once::

    .venv/bin/python benchmarks/bench_probes.py --runs /work/bench_runs/pb5/seed{0,1,2,3,4} \\
        --out benchmarks/results/protocol_b/probes
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.sources.numerics import cohort_numerics, window_numerics
from mimo_lib.evaluation.baselines import fit_pca
from mimo_lib.evaluation.downstream import compare_features, window_rates
from mimo_lib.model.inference import predict
from mimo_lib.run import load_run

MODEL = "mimo-ae"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="run folders trained on the same windows")
    parser.add_argument("--checkpoint", default="best.pt", help="checkpoint of each run (default: the run's model)")
    parser.add_argument("--numerics", nargs="+", default=["HR", "PULSE", "RESP", "SpO2"], help="monitor columns")
    parser.add_argument("--out", type=Path, help="write <out>.csv (every probe) and <out>.md")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> pd.DataFrame:
    """One row per run, numeric and feature set: MAE, r and counts of the probe on the test subjects."""
    first = load_run(args.runs[0], args.checkpoint)
    train, test = first.split("train"), first.split("test")
    numerics = cohort_numerics(first.params)
    if numerics is None:
        raise SystemExit(f"the runs' recordings ({first.params.data.root}) come with no monitor numerics")
    pca = fit_pca(train.windows, first.model.latent_dim)
    kinds = modality_kinds(first.params)
    fixed = {f"pca-{pca.n_components}": (pca.encode(train.windows), pca.encode(test.windows)),
             "neurokit2 rates": (window_rates(train, kinds), window_rates(test, kinds))}
    seconds = train.window_length / train.rate
    targets = {column: [window_numerics(numerics, w.subjects, w.starts, seconds, column) for w in (train, test)]
               for column in args.numerics}
    rows = []
    for run_dir in args.runs:
        run = load_run(run_dir, args.checkpoint)
        features = {MODEL: tuple(predict(run.model, windows)[1] for windows in (train, test)), **fixed}
        for column, (train_y, test_y) in targets.items():
            table = compare_features({k: v[0] for k, v in features.items()}, train_y, np.asarray(train.subjects),
                                     {k: v[1] for k, v in features.items()}, test_y)
            rows.append(table.reset_index().assign(numeric=column, run=run_dir.name))
        print(f"{run_dir.name}: probes fitted", flush=True)
    return pd.concat(rows, ignore_index=True)


def report(table: pd.DataFrame) -> str:
    """Markdown: per numeric, MAE and r of each feature set (MiMo-AE mean ± s.d. over runs)."""
    lines = ["| numeric | features | MAE | r | windows train / test |", "|---|---|---|---|---|"]
    for (numeric, features), rows in table.groupby(["numeric", "features"], sort=False):
        spread = (lambda k: f" ± {rows[k].std():.3f}") if features == MODEL and len(rows) > 1 else (lambda k: "")
        lines.append(f"| {numeric} | {features} | {rows['mae'].mean():.3f}{spread('mae')} | "
                     f"{rows['r'].mean():.3f}{spread('r')} | {rows['n_train'].iloc[0]} / {rows['n_test'].iloc[0]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    table = measure(args)
    text = f"Runs: {', '.join(str(r) for r in args.runs)} ({args.checkpoint})\n\n{report(table)}\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out.with_suffix(".csv"), index=False)
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
