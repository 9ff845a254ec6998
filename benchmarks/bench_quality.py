"""Reconstruction quality of MiMo-AE against PCA at equal latent size, on real recordings.

For every variant and every point of the grid latent size × fusion strategy × seed
(:func:`mimo_lib.grid.grid_points`, the grid ``mimo sweep`` runs; a strategy is a
name in ``params/fusion/`` or a YAML file) the script trains a model in this process
on the prepared training windows (:func:`mimo_lib.training.trainer.train`), scores it on the
test split with :func:`mimo_lib.evaluation.evaluate.evaluate_model`, and scores PCA with as many
components, fitted on the same training windows, in the same run. Tables give
Pearson r, SNR (dB), PRDN (%, the metric key ``prd``) and MSE per modality and their mean over modalities,
as mean ± std over seeds; a second table gives training windows/s, epochs to the
best checkpoint, wall time and inference windows/s.

Protocol A (every modality at 30 Hz, 240-sample windows)::

    .venv/bin/python benchmarks/bench_quality.py --params params/bidmc.yaml \\
        --set data.root=/work/shared/data/bidmc/bidmc_csv --seeds 0 1 2 --latent 128 32 --out results/quality_a

``--variant NAME:key=value,key=value`` adds an ablation (overrides on top of the
params file; ``base`` is the params file alone). To spread many models over
processes or machines, run the grid with ``mimo sweep`` (``benchmarks/bench_sweep.py``).
Windows come from the prepare cache (``<paths.processed>/<digest>/<split>.npz``),
read directly when present, so the recordings need not be on the machine that
trains, as long as ``data.root`` is spelled the same.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mimo_lib.config import Params, load_params, parse_override
from mimo_lib.data.coupling import lagged_coupling, slow_coupling
from mimo_lib.data.prepare import SPLITS, prepare
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.baselines import fit_pca
from mimo_lib.evaluation.evaluate import metrics_table
from mimo_lib.evaluation.robustness import score_imputation
from mimo_lib.grid import DEFAULT_FUSIONS, Axis, GridPoint, fusion_axis, fusion_settings, grid_points
from mimo_lib.model.inference import impute_each, predict
from mimo_lib.training.trainer import train

REPORTED = {"pearson": "r", "snr_db": "SNR dB", "prd": "PRDN %", "mse": "MSE"}
SPEED = ("train_win_s", "best_epoch", "epochs_run", "wall_s", "infer_win_s", "best_val_mse")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params/bidmc.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="params override (repeatable), e.g. data.root=/abs/path")
    parser.add_argument("--fusion", nargs="+", default=list(DEFAULT_FUSIONS),
                        help="strategies: names in params/fusion/ or YAML files")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--latent", nargs="+", type=int, default=[128, 32])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="ablation: overrides on top of the params file (repeatable; default: base only)")
    parser.add_argument("--epochs", type=int, help="override training.epochs (smoke runs)")
    parser.add_argument("--subjects-limit", type=int,
                        help="keep only the first N subjects of every split (smoke runs)")
    parser.add_argument("--device", help="override training.device (cpu, cuda, ...)")
    parser.add_argument("--train-stride", type=float, metavar="SECONDS",
                        help="slice the training windows (only) with this stride; val/test keep the params' stride")
    parser.add_argument("--imputation", action="store_true",
                        help="also score every model with each modality absent at the input "
                             "(mimo_lib.evaluation.robustness.score_imputation on the test split; <out>.imputation.csv, "
                             "and per test subject <out>.imputation_subjects.csv)")
    parser.add_argument("--coupling", action="append", default=[], metavar="TARGET:SOURCE:HZ",
                        help="print, per subject, the median r of TARGET with SOURCE low-passed at HZ "
                             "(mimo_lib.data.coupling.slow_coupling), e.g. RESP:PLETH:0.6 (repeatable)")
    parser.add_argument("--lag", action="append", default=[], metavar="TARGET:SOURCE:MAX_S",
                        help="print, per subject, the delay (0..MAX_S s) at which SOURCE best follows TARGET "
                             "(mimo_lib.data.coupling.lagged_coupling), e.g. II:PLETH:0.8 (repeatable)")
    parser.add_argument("--out", type=Path, help="write <out>.csv (raw rows), <out>.json and <out>.md")
    return parser.parse_args(argv)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``"name:a.b=1,c.d=[1,2]"`` -> ``("name", ["a.b=1", "c.d=[1,2]"])`` (a comma starts a new key=)."""
    name, _, rest = text.partition(":")
    if not name:
        raise ValueError(f"--variant {text!r}: give a name before ':'")
    return name, [item for item in re.split(r",(?=[\w.]+=)", rest) if item]


def model_grid(args: argparse.Namespace) -> list[GridPoint]:
    """The models of each variant: every latent size × fusion strategy × seed, as ``mimo sweep`` grids them."""
    return grid_points([Axis("model.latent_dim", tuple(args.latent)), fusion_axis(args.fusion),
                        Axis("training.seed", tuple(args.seeds))])


def load_sets(params: Params, subjects_limit: int | None) -> dict[str, WindowSet]:
    """Prepared windows: the cached ``.npz`` files when all splits are there, else :func:`prepare`."""
    folder = params.resolve_path(params.paths.processed) / params.digest("data", "preprocessing")
    cached = {split: folder / f"{split}.npz" for split in SPLITS if (folder / f"{split}.npz").is_file()}
    wanted = [split for split in SPLITS if params.data.splits.get(split)]
    if cached and all(split in cached for split in wanted):
        sets = {split: WindowSet.load(path) for split, path in cached.items()}
        print(f"windows from the prepare cache {folder}")
    else:
        sets = prepare(params, progress=False)
    if subjects_limit:
        sets = {split: _first_subjects(ws, subjects_limit) for split, ws in sets.items()}
    empty = [split for split in ("train", "test") if split not in sets or len(sets[split]) == 0]
    if empty:
        raise ValueError(f"no windows in split(s) {empty} after quality control; choose other subjects")
    return sets


def _first_subjects(windows: WindowSet, limit: int) -> WindowSet:
    keep = list(pd.unique(np.asarray(windows.subjects)))[:limit]
    return windows.subset(np.isin(windows.subjects, keep))


def summary_rows(table: pd.DataFrame, **labels: object) -> list[dict[str, object]]:
    """Per-modality means of the reported metrics plus their mean over modalities (``modality="mean"``)."""
    per_modality = table.groupby("modality", sort=False)[list(REPORTED)].mean()
    per_modality.loc["mean"] = per_modality.mean()
    return [{**labels, "modality": modality, **row.to_dict()} for modality, row in per_modality.iterrows()]


def inference_rate(model: torch.nn.Module, windows: WindowSet, repeats: int = 3) -> float:
    """Windows per second of :func:`mimo_lib.model.inference.predict` (best of ``repeats``)."""
    predict(model, windows)
    best = min(_seconds(lambda: predict(model, windows)) for _ in range(repeats))
    return len(windows) / best


def _seconds(fn) -> float:  # noqa: ANN001 - any callable
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> pd.DataFrame:
    base = list(args.overrides)
    if args.epochs:
        base.append(f"training.epochs={args.epochs}")
    if args.device:
        base.append(f"training.device={args.device}")
    variants = [parse_variant(v) for v in args.variant] or [("base", [])]
    params = load_params(args.params, base)
    sets = load_sets(params, args.subjects_limit)
    if args.train_stride:
        dense = load_params(args.params, [*base, f"preprocessing.stride_seconds={args.train_stride:g}"])
        sets["train"] = load_sets(dense, args.subjects_limit)["train"]
        print(f"training windows sliced every {args.train_stride:g} s; val/test every "
              f"{params.preprocessing.stride_seconds:g} s")
    print(_describe(sets))
    for spec in args.coupling:
        print(coupling_table(sets, spec) + "\n")
    for spec in args.lag:
        print(lag_table(sets, spec) + "\n")
    rows: list[dict[str, object]] = []
    imputation: dict[str, list[pd.DataFrame]] | None = {"pooled": [], "subjects": []} if args.imputation else None
    with tempfile.TemporaryDirectory() as scratch:
        for latent in args.latent:
            pca = fit_pca(sets["train"].windows, latent)
            k = pca.n_components
            table = metrics_table(sets["test"], pca.reconstruct(sets["test"].windows), f"pca-{k}")
            rows += summary_rows(table, latent=latent, method=f"pca-{k}", variant="-", fusion="-", seed=0)
        for name, extra in variants:
            for point in model_grid(args):
                overrides = {**dict(parse_override(text) for text in [*base, *extra]), **point.overrides()}
                labels = {"latent": point.values["model.latent_dim"], "method": "mimo-ae", "variant": name,
                          "fusion": fusion_settings(point.values["model.fusion"])[0],
                          "seed": point.values["training.seed"]}
                rows += _train_and_score(args.params, overrides, sets, Path(scratch), imputation, **labels)
                if args.out:  # keep what is done if a long run is cut short
                    write_raw(pd.DataFrame(rows), args.out)
                    if imputation:
                        pd.concat(imputation["pooled"]).to_csv(args.out.with_suffix(".imputation.csv"), index=False)
                        pd.concat(imputation["subjects"]).to_csv(args.out.with_suffix(".imputation_subjects.csv"),
                                                                 index=False)
    if imputation:
        print("## Imputation on the test subjects (modality absent at the input vs all present)\n")
        print(imputation_table(pd.concat(imputation["pooled"])) + "\n")
    return pd.DataFrame(rows)


def write_raw(raw: pd.DataFrame, out: Path) -> None:
    """``<out>.csv`` and ``<out>.json``: one row per model (or PCA), latent, seed and modality."""
    out.parent.mkdir(parents=True, exist_ok=True)
    raw.to_csv(out.with_suffix(".csv"), index=False)
    out.with_suffix(".json").write_text(json.dumps(raw.to_dict(orient="records"), indent=1, default=float))


def _train_and_score(params_path: str, overrides: dict[str, object], sets: dict[str, WindowSet], scratch: Path,
                     imputation: dict[str, list[pd.DataFrame]] | None, **labels: object) -> list[dict[str, object]]:
    params = load_params(params_path, overrides)
    run_dir = scratch / "-".join(str(v) for v in labels.values())
    began = time.perf_counter()
    result = train(params, sets=sets, run_dir=run_dir, progress=False)
    wall = time.perf_counter() - began
    recon, _, _ = predict(result.model, sets["test"])
    speed = {"train_win_s": result.windows_per_second, "best_epoch": result.best_epoch,
             "epochs_run": len(result.history), "wall_s": wall,
             "infer_win_s": inference_rate(result.model, sets["test"]),
             "best_val_mse": float(result.history["val_mse"].min()) if "val_mse" in result.history else np.nan}
    rows = summary_rows(metrics_table(sets["test"], recon, "mimo-ae"), **labels, **speed)
    if imputation is not None:
        imputed = impute_each(result.model, sets["test"])
        for key, by_subject in (("pooled", False), ("subjects", True)):
            imputation[key].append(score_imputation(sets["test"], recon, imputed, by_subject).assign(**labels))
    mean = rows[-1]
    print(f"  {labels} r {mean['pearson']:.3f} SNR {mean['snr_db']:.2f} dB PRDN {mean['prd']:.1f} % "
          f"best epoch {result.best_epoch}/{len(result.history)} {wall:.0f} s", flush=True)
    return rows


def _describe(sets: dict[str, WindowSet]) -> str:
    parts = [f"{split}: {len(ws)} windows from {len(set(ws.subjects))} subjects" for split, ws in sets.items()]
    kept = set(sets["test"].subjects)
    dropped = sum(sum(c.values()) for s, c in sets["test"].dropped.items() if s in kept)
    return ("; ".join(parts) + f"; window {sets['train'].window_length} samples at {sets['train'].rate:g} Hz. "
            f"Quality control dropped {dropped} test windows (clipped/flat/gaps), so the test set differs from "
            "the original protocol's; PCA is fitted on these same training windows in this run.")


def markdown(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (no index)."""
    header = [str(c) for c in table.columns]
    body = [[str(v) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def _mean_std(values: pd.Series, digits: int) -> str:
    if len(values) < 2:
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def quality_table(raw: pd.DataFrame) -> str:
    """Markdown: one row per latent, method, variant, fusion; columns metric × modality (mean ± std over seeds)."""
    digits = {"pearson": 3, "snr_db": 2, "prd": 1, "mse": 3}
    keys = ["latent", "method", "variant", "fusion"]
    modalities = list(pd.unique(raw["modality"]))
    lines = []
    for key, group in raw.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        row["seeds"] = group["seed"].nunique()
        for metric, label in REPORTED.items():
            for modality in modalities:
                values = group.loc[group["modality"] == modality, metric]
                row[f"{modality} {label}"] = _mean_std(values, digits[metric])
        lines.append(row)
    return markdown(pd.DataFrame(lines))


def speed_table(raw: pd.DataFrame) -> str:
    """Markdown: training/inference throughput and epochs to the best checkpoint per model."""
    models = raw[(raw["method"] == "mimo-ae") & (raw["modality"] == "mean")]
    if models.empty:
        return ""
    table = models.groupby(["latent", "variant", "fusion"], sort=False)[list(SPEED)].agg(["mean", "std"])
    table.columns = [f"{a} {b}" for a, b in table.columns]
    return markdown(table.round(1).reset_index())


def coupling_table(sets: dict[str, WindowSet], spec: str) -> str:
    """Markdown: per split and subject, the median r of a target with a low-passed source (``TARGET:SOURCE:HZ``)."""
    target, source, cutoff = spec.split(":")
    frames = [slow_coupling(ws, target, source, float(cutoff)).assign(split=split) for split, ws in sets.items()]
    table = pd.concat(frames)[["split", "subject", "windows", "median_r"]].round({"median_r": 2})
    positive = int((table["median_r"] > 0).sum())
    return (f"## {target} against {source} low-passed at {cutoff} Hz: median r per subject "
            f"({positive} of {len(table)} subjects positive)\n\n" + markdown(table))


def lag_table(sets: dict[str, WindowSet], spec: str) -> str:
    """Markdown: per split and subject, the delay at which a source best follows a target (``TARGET:SOURCE:MAX_S``)."""
    target, source, max_lag = spec.split(":")
    frames = [lagged_coupling(ws, target, source, float(max_lag)).assign(split=split) for split, ws in sets.items()]
    table = pd.concat(frames)[["split", "subject", "windows", "lag_s", "median_r"]]
    spread = table["lag_s"].agg(["min", "median", "max", "std"])
    return (f"## {source} following {target}: best delay per subject, 0-{max_lag} s (over subjects: min "
            f"{spread['min']:.2f}, median {spread['median']:.2f}, max {spread['max']:.2f}, s.d. {spread['std']:.2f} s)"
            "\n\n" + markdown(table.round({"lag_s": 3, "median_r": 2})))


def imputation_table(scores: pd.DataFrame) -> str:
    """Markdown: Pearson r, SNR and PRDN per model and modality, absent at the input vs all present."""
    keys = ["latent", "variant", "fusion", "seed", "modality", "condition"]
    table = scores[[*keys, "pearson", "snr_db", "prd"]]
    return markdown(table.round({"pearson": 3, "snr_db": 2, "prd": 1}))


def report(raw: pd.DataFrame) -> str:
    return ("## Reconstruction quality on the test subjects (mean ± std over seeds)\n\n" + quality_table(raw)
            + "\n\n## Speed (training windows/s, epochs to best, wall s, inference windows/s)\n\n"
            + speed_table(raw) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    raw = run(args)
    text = report(raw)
    print(text)
    if args.out:
        write_raw(raw, args.out)
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
