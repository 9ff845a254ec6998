"""Compression in bits: trained MiMo-AE runs' coded latents against PCA, wavelet and DCT codecs on the same windows.

Every code's size is exact (bytes of its records plus, for latent codes, the
quantiser's ranges once per code; :mod:`mimo_lib.evaluation.codecs`), and the
compression ratio counts it against the test windows' samples at the
recording's own resolution (``data.bits_per_sample`` or the WFDB headers). For
each run (any latent size) the latent is coded at every ``--bits`` and, with
a depth per latent dimension where the decoder is most sensitive, within the
bits of every ``--depth-ratios`` (``mimo-ae-depths``); PCA with
as many components is coded the same way; the wavelet and DCT codecs code each
modality within the bits per window of every latent code (equal bits) and at
every ``--ratios`` (:mod:`mimo_lib.evaluation.rate_distortion`), with the bits
split evenly over modalities and (``-alloc``) split as suits each budget best
(:mod:`mimo_lib.evaluation.allocation`). Tables: every
code's PRDN per modality, SNR, CR, bits per second and QS; each latent code
against the baselines at its bits; the transform codecs at fixed ratios beside
the best MiMo-AE code at least as compact; SNR lost by quantising the latent.
Runs of one latent size with several seeds (``training.seed``) are shown as
mean ± s.d. over the seeds, with the number of seeds in which MiMo-AE is the
lowest (the baselines are deterministic, so every seed meets the same ones);
the figure draws the seed means as curves and each seed as a point.

``--fidelity`` also scores what a physiologist uses the signals for after coding:
the test recordings are cut into back-to-back windows (every sample coded once),
put through each MiMo-AE and PCA code of ``--fidelity-bits``, each depth-per-dimension
code (its bits per window) and each transform codec at ``--ratios``, stitched, and scored by :mod:`mimo_lib.evaluation.fidelity`
(R-peaks, heart rate, pulses, breathing rate against the annotations, pulse
arrival time) beside the original signal's own floor; ``<out>_fidelity.csv`` and
``<out>_fidelity.png``.

Protocol B (125 Hz), runs trained first with ``mimo train``::

    .venv/bin/python benchmarks/bench_compression.py --params params/bidmc_protocol_b.yaml \\
        --set data.root=/work/shared/data/bidmc/bidmc_csv --run runs/codec_b128 runs/codec_b256 \\
        --out benchmarks/results/protocol_b/compression

The runs must have been trained on windows prepared as ``--params`` prepares
them (same preprocessing, modalities and splits); the test split is coded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mimo_lib.config import load_params
from mimo_lib.data.prepare import prepare, split_subjects
from mimo_lib.data.sources import load_recordings, sample_bits
from mimo_lib.data.types import WindowSet
from mimo_lib.evaluation.allocation import allocated_rows
from mimo_lib.evaluation.baselines import PCABaseline
from mimo_lib.evaluation.codecs.transform import TransformCodec
from mimo_lib.evaluation.evaluate import ORIGINAL_METHOD
from mimo_lib.evaluation.rate_distortion import (
    CALIBRATIONS,
    COEFFICIENT_BITS,
    TRANSFORMS,
    Coder,
    Target,
    depth_coder,
    depth_rows,
    latent_coder,
    latent_rows,
    pca_coder,
    pca_rows,
    ratio_budgets,
    transform_coder,
    transform_rows,
)
from mimo_lib.physiology import coded_fidelity, fidelity_summary
from mimo_lib.plots import save_figure
from mimo_lib.plots.compression import plot_rate_distortion
from mimo_lib.run import TrainedRun, load_run

LATENT_CODES = ("mimo-ae", "mimo-ae-depths")
ALLOCATED = tuple(f"{transform}-alloc" for transform in TRANSFORMS)
BASELINES = ("pca", *TRANSFORMS, *ALLOCATED)
SHOWN_MEASURES = ("r_peak_f1_50ms", "r_peak_median_abs_timing_error", "heart_rate_mae_8s", "pulse_peak_f1_100ms",
                  "pulse_rate_mae_8s", "breathing_rate_mae_32s", "pat_mae")
AVERAGED = ("budget", "bits_per_window", "bits_per_second", "cr", "cr_total", "qs", "prd", "snr_db", "pearson")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params/bidmc_protocol_b.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="params override (repeatable), e.g. data.root=/abs/path")
    parser.add_argument("--run", nargs="+", type=Path, required=True, help="trained run folders (any latent sizes)")
    parser.add_argument("--checkpoint", default="best.pt",
                        help="checkpoint of every run: best.pt (the run's model) or last.pt (its last epoch)")
    parser.add_argument("--bits", nargs="+", type=int, default=[4, 5, 6, 8, 10, 16, 32],
                        help="bits per latent number: 2-12 uniform, 16 float16, 32 float32")
    parser.add_argument("--ratios", nargs="+", type=float, default=[10, 15, 20, 30, 40],
                        help="compression ratios at which the transform codecs are also scored")
    parser.add_argument("--depth-ratios", nargs="*", type=float, default=None,
                        help="compression ratios at which each run's latent is also coded with a depth per dimension "
                             "(default: --ratios; none: leave out)")
    parser.add_argument("--pca", nargs="*", type=int, default=None,
                        help="PCA sizes (default: the runs' latent sizes), coded at every --bits")
    parser.add_argument("--calibration", choices=CALIBRATIONS, default="file",
                        help="latent quantiser ranges from the coded latents (file) or the training latents (train)")
    parser.add_argument("--coefficient-bits", nargs="+", type=int, default=list(COEFFICIENT_BITS),
                        help="depths tried per transform-codec budget (the best mean PRDN is kept)")
    parser.add_argument("--wavelet", default="bior4.4", help="a PyWavelets discrete wavelet")
    parser.add_argument("--allocate", type=int, default=40, metavar="N",
                        help="also split each budget across modalities (N shares per modality tried; 0: even split only)")
    parser.add_argument("--fidelity", action="store_true",
                        help="also score beats, pulses, breaths and rates on the coded test recordings")
    parser.add_argument("--fidelity-bits", nargs="+", type=int, default=[5, 8],
                        help="bits per latent number of the MiMo-AE and PCA codes scored with --fidelity")
    parser.add_argument("--out", type=Path,
                        help="write <out>.csv (every row), <out>.md (the tables), <out>.json (the arguments) "
                             "and <out>_prdn.png (the curves)")
    return parser.parse_args(argv)


def check_run(run: TrainedRun, params_digest: str) -> None:
    """A run trained on windows prepared differently would be scored on windows it never saw the like of."""
    if run.params.digest("preprocessing") != params_digest:
        raise ValueError(f"{run.run_dir} was trained with other preprocessing than --params gives")


def markdown(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (no index)."""
    header = [str(c) for c in table.columns]
    body = [[str(v) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def settings(raw: pd.DataFrame) -> pd.Series:
    """A readable setting per code: latent size × bits, or kept coefficients × bits (per modality when split)."""
    text = {}
    for code, rows in raw.groupby("code", sort=False):
        mean = rows[rows["modality"] == "mean"].iloc[0]
        if mean["method"] in ("mimo-ae", "pca"):
            text[code] = f"{int(mean['latent'])} × {int(mean['bits'])} bit"
        elif mean["method"] == "mimo-ae-depths":
            text[code] = f"{int(mean['latent'])} × {mean['bits']:.2f} bit, depth per dim."
        elif str(mean["method"]).endswith("-alloc"):
            parts = rows[rows["modality"] != "mean"]
            text[code] = " / ".join(f"{int(k)}×{int(b)}" for k, b in zip(parts["keep"], parts["bits"]))
        else:
            text[code] = f"keep {int(mean['keep'])} × {int(mean['bits'])} bit"
    return raw["code"].map(text)


def over_seeds(raw: pd.DataFrame) -> pd.DataFrame:
    """MiMo-AE rows as means over the runs' seeds per latent size, bits and modality (``prd_sd``, ``snr_db_sd``:
    the s.d. over seeds, ``seeds``: how many), each a code of its own; every other row as it is."""
    is_mimo = raw["method"].isin(LATENT_CODES)
    grouped = raw[is_mimo].groupby(["method", "latent", "bits", "setting", "modality"], sort=False)
    means = (grouped[list(AVERAGED)].mean()
             .join(grouped[["prd", "snr_db"]].std(ddof=1).add_suffix("_sd"))
             .join(grouped["seed"].nunique().rename("seeds"))
             .reset_index())
    means["code"] = raw["code"].max() + 1 + means.groupby(["method", "latent", "bits"], sort=False).ngroup()
    return pd.concat([means, raw[~is_mimo]], ignore_index=True)


def _mean_sd(mean: float, sd: float, digits: int = 1) -> str:
    if not np.isfinite(mean):
        return "not scored"
    return f"{mean:.{digits}f}" if not np.isfinite(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def seeds_lowest(raw: pd.DataFrame, code: pd.Series, rivals: dict[str, float]) -> str:
    """In how many seeds the MiMo-AE ``code`` (method, latent × bits) has a lower mean PRDN than every rival: ``k/n``."""
    per_seed = raw[(raw["method"] == code["method"]) & (raw["modality"] == "mean") & (raw["latent"] == code["latent"])
                   & np.isclose(raw["bits"], code["bits"])]["prd"]
    lowest = sum(all(prd < value for value in rivals.values() if np.isfinite(value)) for prd in per_seed)
    return f"{lowest}/{len(per_seed)}"


def codes_table(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per code: setting, bits per window and second, CR, PRDN per modality, mean PRDN and SNR, QS."""
    means = raw[raw["modality"] == "mean"]
    prd = raw[raw["modality"] != "mean"].pivot_table(index="code", columns="modality", values="prd", sort=False)
    table = pd.DataFrame({
        "method": means["method"].to_numpy(), "setting": means["setting"].to_numpy(),
        "bits/window": means["bits_per_window"].round(1).to_numpy(), "bit/s": means["bits_per_second"].round(1).to_numpy(),
        "CR": means["cr"].round(2).to_numpy(),
    })
    for modality in prd.columns:
        table[f"{modality} PRDN %"] = prd.loc[means["code"], modality].round(1).to_numpy()
    table["mean PRDN %"] = means["prd"].round(1).to_numpy()
    table["s.d. over seeds"] = means["prd_sd"].round(1).astype(object).where(means["prd_sd"].notna(), "-").to_numpy()
    table["mean SNR dB"] = means["snr_db"].round(2).to_numpy()
    table["QS"] = means["qs"].round(2).to_numpy()
    table = table.drop_duplicates(subset=["method", "setting", "bits/window"])  # budgets giving the same codec
    return table.sort_values(["method", "CR"], ascending=[True, False], key=_method_order)


def _method_order(column: pd.Series) -> pd.Series:
    order = {method: number for number, method in enumerate((ORIGINAL_METHOD, *LATENT_CODES, *BASELINES))}
    return column.map(order) if column.name == "method" else column


def equal_bits_table(averaged: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Each MiMo-AE code (mean over seeds) beside PCA (same size and depth) and the transform codecs within its
    bits per window; ``lowest`` by the seed mean, and in how many seeds MiMo-AE is lowest."""
    means = averaged[averaged["modality"] == "mean"]
    rows = []
    for _, code in means[means["method"].isin(LATENT_CODES)].sort_values("cr", ascending=False).iterrows():
        row = {"MiMo-AE": code["setting"], "CR": round(code["cr"], 2),
               "MiMo-AE PRDN %": _mean_sd(code["prd"], code["prd_sd"])}
        same = {"pca": means[(means["method"] == "pca") & (means["latent"] == code["latent"])
                             & (means["bits"] == code["bits"]) & (code["method"] == "mimo-ae")]}
        same.update({t: means[(means["method"] == t) & np.isclose(means["budget"], code["budget"])]
                     for t in (*TRANSFORMS, *ALLOCATED)})
        prd = {name: rows_at["prd"].iloc[0] if len(rows_at) else np.nan for name, rows_at in same.items()}
        for name, rows_at in same.items():
            row[f"{name} PRDN % (CR)"] = f"{prd[name]:.1f} ({rows_at['cr'].iloc[0]:.2f})" if len(rows_at) else "-"
        rivals = {name: value for name, value in prd.items() if np.isfinite(value)}
        row["lowest"] = "MiMo-AE" if all(code["prd"] < v for v in rivals.values()) else min(rivals, key=rivals.get)
        row["MiMo-AE lowest in seeds"] = seeds_lowest(raw, code, rivals)
        rows.append(row)
    return pd.DataFrame(rows)


def ratio_table(averaged: pd.DataFrame, raw: pd.DataFrame, ratios: list[float], original_bits: float) -> pd.DataFrame:
    """At each ratio: the transform codecs, and the MiMo-AE code with at least that ratio (fewer or equal bits) of
    lowest seed-mean PRDN, with the number of seeds in which it is below every transform codec."""
    means = averaged[averaged["modality"] == "mean"]
    mimo = means[means["method"].isin(LATENT_CODES)]
    rows = []
    for ratio in ratios:
        row: dict[str, object] = {"CR": ratio}
        prd = {}
        for transform in (*TRANSFORMS, *ALLOCATED):
            at = means[(means["method"] == transform) & np.isclose(means["budget"], original_bits / ratio)]
            prd[transform] = at["prd"].iloc[0] if len(at) else np.nan
            row[f"{transform} PRDN % (CR)"] = f"{prd[transform]:.1f} ({at['cr'].iloc[0]:.2f})" if len(at) else "-"
        compact = mimo[mimo["cr"] >= ratio]
        if len(compact):
            best = compact.loc[compact["prd"].idxmin()]
            row["best MiMo-AE at ≥ CR"] = (f"{_mean_sd(best['prd'], best['prd_sd'])} ({best['setting']}, "
                                           f"CR {best['cr']:.2f})")
            row["MiMo-AE lowest"] = "yes" if all(best["prd"] < v for v in prd.values() if np.isfinite(v)) else "no"
            row["in seeds"] = seeds_lowest(raw, best, prd)
        else:
            row["best MiMo-AE at ≥ CR"], row["MiMo-AE lowest"], row["in seeds"] = "none this compact", "-", "-"
        rows.append(row)
    return pd.DataFrame(rows)


def depth_table(raw: pd.DataFrame) -> pd.DataFrame:
    """Mean SNR of each MiMo-AE code and its loss against the same model's float32 latent, mean ± s.d. over seeds."""
    means = raw[(raw["modality"] == "mean") & (raw["method"] == "mimo-ae")]
    losses = []
    for _, run in means.groupby(["latent", "seed"]):
        reference = run.loc[run["bits"] == 32, "snr_db"]
        losses.append(run.assign(loss=reference.iloc[0] - run["snr_db"] if len(reference) else np.nan))
    rows = []
    for (latent, bits), codes in pd.concat(losses).groupby(["latent", "bits"]):
        rows.append({"latent": int(latent), "bits": int(bits), "seeds": len(codes), "CR": round(codes["cr"].mean(), 2),
                     "mean SNR dB": _mean_sd(codes["snr_db"].mean(), codes["snr_db"].std(ddof=1), 2),
                     "loss vs float32 dB": _mean_sd(codes["loss"].mean(), codes["loss"].std(ddof=1), 2)})
    return pd.DataFrame(rows)


def fidelity_coders(runs: list[TrainedRun], train: WindowSet, raw: pd.DataFrame, args: argparse.Namespace,
                    budgets: dict[float, float]) -> dict[str, tuple[Coder, dict[str, object]]]:
    """Name -> (coder, labels with the code's CR on the test windows): each run and PCA size at every
    ``--fidelity-bits``, each transform codec at every ``--ratios`` (``budgets``: ratio -> bits per window) with the
    coefficients and depth it was scored with."""
    means = raw[raw["modality"] == "mean"]
    coders: dict[str, tuple[Coder, dict[str, object]]] = {}
    for trained in runs:
        latent, seed = trained.model.latent_dim, trained.params.training.seed
        for bits in args.fidelity_bits:
            code = means[(means["method"] == "mimo-ae") & (means["latent"] == latent) & (means["seed"] == seed)
                         & (means["bits"] == bits)]
            coders[f"mimo-ae {latent} × {bits} bit, seed {seed}"] = (latent_coder(trained.model, bits), {
                "method": "mimo-ae", "setting": f"{latent} × {bits} bit", "latent": latent, "bits": bits, "seed": seed,
                "cr_total": code["cr"].iloc[0]})
        depth_codes = means[(means["method"] == "mimo-ae-depths") & (means["latent"] == latent)
                            & (means["seed"] == seed)]
        for _, code in depth_codes.iterrows():
            total = round(code["bits"] * latent)
            coders[f"mimo-ae {latent} × {code['bits']:.2f} bit per dim., seed {seed}"] = (depth_coder(trained.model, total), {
                "method": "mimo-ae-depths", "setting": code["setting"], "latent": latent, "bits": code["bits"],
                "seed": seed, "cr_total": code["cr"]})
    for size in sorted(means.loc[means["method"] == "pca", "latent"].unique()):
        pca = PCABaseline(int(size)).fit(train.windows)
        for bits in args.fidelity_bits:
            code = means[(means["method"] == "pca") & (means["latent"] == size) & (means["bits"] == bits)]
            coders[f"pca {int(size)} × {bits} bit"] = (pca_coder(pca, bits), {
                "method": "pca", "setting": f"{int(size)} × {bits} bit", "latent": size, "bits": bits,
                "cr_total": code["cr"].iloc[0]})
    length = train.window_length
    for method in (*TRANSFORMS, *ALLOCATED):
        for ratio, budget in budgets.items():
            rows = raw[(raw["method"] == method) & np.isclose(raw["budget"], budget)]
            if rows.empty:
                continue
            parts = rows[rows["modality"] != "mean"]
            codecs = [TransformCodec(method.removesuffix("-alloc"), length, int(keep), int(bits), args.wavelet)
                      for keep, bits in zip(parts["keep"], parts["bits"])]
            coders[f"{method} at {ratio:g}×"] = (transform_coder(codecs), {
                "method": method, "setting": f"at {ratio:g}×", "cr_total": rows.loc[rows["modality"] == "mean", "cr"].iloc[0]})
    return coders


def fidelity_rows(scores: pd.DataFrame, coders: dict[str, tuple[Coder, dict[str, object]]]) -> pd.DataFrame:
    """One row per code (the original's floor first, ratio 1) and measure: labels, value and counts."""
    summary = fidelity_summary(scores)
    frames = []
    for name in (ORIGINAL_METHOD, *coders):
        labels = ({"method": ORIGINAL_METHOD, "setting": "-", "cr_total": 1.0} if name == ORIGINAL_METHOD
                  else coders[name][1])
        frame = summary[[name, f"{name} n"]].set_axis(["value", "scored / not scored"], axis=1).reset_index()
        frames.append(frame.assign(code=name, **labels))
    return pd.concat(frames, ignore_index=True)


def shown_measures(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of :data:`SHOWN_MEASURES`, each with a ``label``: modality, measure and unit."""
    shown = rows[rows["measure"].isin(SHOWN_MEASURES)]
    return shown.assign(label=shown["modality"] + " " + shown["measure"] + " (" + shown["unit"] + ")")


def fidelity_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Codes (MiMo-AE as mean ± s.d. over seeds) × the measures of :data:`SHOWN_MEASURES`, by method and CR."""
    shown = shown_measures(rows).drop(columns="measure").rename(columns={"label": "measure"})
    keys = ["method", "setting", "measure"]
    grouped = shown.groupby(keys, sort=False)
    cells = grouped["value"].agg(["mean", "std"]).apply(lambda v: _mean_sd(v["mean"], v["std"], 3), axis=1)
    table = cells.unstack("measure")[list(dict.fromkeys(shown["measure"]))]
    table.insert(0, "CR", grouped["cr_total"].mean().groupby(level=[0, 1], sort=False).first().round(2))
    return table.reset_index().sort_values(["method", "CR"], ascending=[True, False], key=_method_order)


def fidelity_figure(rows: pd.DataFrame) -> Figure:
    """The measures of :data:`SHOWN_MEASURES` against CR, one panel each: MiMo-AE seed means as curves, seeds as points."""
    shown = shown_measures(rows).drop(columns="modality").rename(columns={"label": "modality"})
    means = (shown.groupby(["method", "setting", "modality"], sort=False)[["latent", "bits", "cr_total", "value"]]
             .mean().reset_index())
    mimo = shown[shown["method"].isin(LATENT_CODES)]
    return plot_rate_distortion(means, metric="value", points=mimo if mimo["seed"].nunique() > 1 else None,
                                columns=4, ylabel="", floor=ORIGINAL_METHOD)


def report(raw: pd.DataFrame, ratios: list[float], original_bits: float, description: str) -> str:
    averaged = over_seeds(raw)
    return "\n\n".join([
        description,
        "## Every code (test windows; PRDN per window in recording units, mean over windows; MiMo-AE: mean over "
        "seeds)\n\n" + markdown(codes_table(averaged)),
        "## Equal bits: each MiMo-AE code beside the baselines at its bits per window\n\n"
        + markdown(equal_bits_table(averaged, raw)),
        "## Fixed ratios: transform codecs beside the best MiMo-AE code at least as compact\n\n"
        + markdown(ratio_table(averaged, raw, ratios, original_bits)),
        "## Latent depth: mean SNR against the float32 latent\n\n" + markdown(depth_table(raw)),
    ]) + "\n"


def run(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None, Target, str]:
    params = load_params(args.params, args.overrides)
    sets = prepare(params, progress=False)
    resolution = sample_bits(params)
    target = Target(sets["test"], [resolution[m] for m in params.data.modalities])
    runs = [load_run(path, args.checkpoint) for path in args.run]
    for trained in runs:
        check_run(trained, params.digest("preprocessing"))
    test = sets["test"]
    description = (f"{len(test)} test windows of {len(set(test.subjects))} subjects, {test.window_length} samples at "
                   f"{test.rate:g} Hz per modality; recording resolution {resolution} bits per sample, so "
                   f"{target.original_bits_per_window} bits per window uncoded. Latent quantisers calibrated on "
                   f"the {'coded (test) latents, ranges stored in the code' if args.calibration == 'file' else 'training latents'}; "
                   f"transform codecs ({args.wavelet} wavelet, DCT-II) at their best coefficient depth of "
                   f"{args.coefficient_bits} per budget, chosen on these windows.")
    models = [(trained.model.latent_dim, trained.params.training.seed) for trained in runs]
    repeated = sorted({model for model in models if models.count(model) > 1})
    if repeated:
        raise ValueError(f"--run gives more than one run of (latent size, seed) {repeated}: give each once")
    rows: list[dict] = []
    for trained in runs:
        seed = trained.params.training.seed
        coded = latent_rows(trained.model, target, args.bits, sets["train"] if args.calibration == "train" else None)
        rows += [{**row, "seed": seed} for row in coded]
        depth_ratios = args.ratios if args.depth_ratios is None else args.depth_ratios
        rows += [{**row, "seed": seed} for row in depth_rows(trained.model, target, depth_ratios)]
        print(f"  MiMo-AE latent {trained.model.latent_dim} seed {seed} coded at {args.bits} bits and with a depth "
              f"per dimension at {depth_ratios}×", flush=True)
    sizes = args.pca if args.pca is not None else sorted({trained.model.latent_dim for trained in runs})
    rows += pca_rows(sets["train"], target, sizes, args.bits, args.calibration)
    budgets = ratio_budgets(target, args.ratios) + [row["budget"] for row in rows
                                                     if row["method"] in LATENT_CODES and row["modality"] == "mean"]
    budgets = sorted(set(budgets))
    rows += transform_rows(target, budgets, coefficient_bits=args.coefficient_bits, wavelet=args.wavelet)
    print("  transform codecs at equal bits and at the ratios", flush=True)
    if args.allocate:
        modalities = len(params.data.modalities)
        shares = sorted({*np.geomspace(48, max(budgets), args.allocate), *(b / modalities for b in budgets)})
        for transform in TRANSFORMS:
            rows += allocated_rows(target, budgets, transform, shares, args.coefficient_bits, args.wavelet)
        print("  transform codecs with the bits split across modalities", flush=True)
    raw = pd.DataFrame(rows)
    raw["code"] = np.arange(len(raw)) // (len(params.data.modalities) + 1)  # each code: its modality rows, then mean
    raw["setting"] = settings(raw)
    fidelity = None
    if args.fidelity:
        coders = fidelity_coders(runs, sets["train"], raw, args, dict(zip(args.ratios, ratio_budgets(target, args.ratios))))
        recordings = load_recordings(params, split_subjects(params)["test"])
        scores = coded_fidelity(runs[0], recordings, {name: coder for name, (coder, _) in coders.items()})
        fidelity = fidelity_rows(scores, coders)
        print(f"  fidelity of {len(coders)} codes on {len(recordings)} test recordings", flush=True)
    return raw, fidelity, target, description


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    raw, fidelity, target, description = run(args)
    text = report(raw, args.ratios, target.original_bits_per_window, description)
    if fidelity is not None:
        text += ("\n## Physiology after coding: test recordings coded back to back (mean over recordings; MiMo-AE: "
                 "mean ± s.d. over seeds; original: the signal's own floor)\n\n" + markdown(fidelity_table(fidelity)) + "\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        raw.to_csv(args.out.with_suffix(".csv"), index=False)
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(vars(args), default=str, indent=1))
        mimo = raw[raw["method"].isin(LATENT_CODES)]
        figure = plot_rate_distortion(over_seeds(raw), points=mimo if mimo["seed"].nunique() > 1 else None)
        save_figure(figure, args.out.parent, f"{args.out.name}_prdn")
        if fidelity is not None:
            fidelity.to_csv(args.out.parent / f"{args.out.name}_fidelity.csv", index=False)
            save_figure(fidelity_figure(fidelity), args.out.parent, f"{args.out.name}_fidelity")


if __name__ == "__main__":
    main()
