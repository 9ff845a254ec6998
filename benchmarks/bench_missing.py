"""Missing sensors on BIDMC: rates from the sensors that remain, and imputation calibrated on the first minutes.

For every seed the script trains one imputer per missing modality (RESP, II:
:data:`IMPUTERS`, the target always masked at the input) and scores, on the
test subjects' whole recordings (:meth:`mimo_lib.run.TrainedRun.reconstruct`,
stitched by tapered overlap-add, fidelity by
:func:`mimo_lib.physiology.score_reconstructions`):

1. **Without the sensor.** Breathing rate over 32 s spans from the imputed RESP
   against BIDMC's manual breath annotations, beside the rate of the real RESP,
   the same two signals' rates taken as each span's dominant frequency in the
   RESP band instead of counted breaths, NeuroKit2 respiration derived from
   PLETH (pulse amplitude, pulse rate, baseline) and a constant rate (the
   training subjects' median). Heart rate over 8 s spans and R-peaks (50 ms) of
   the imputed II against the real II, beside the pulse rate of PLETH. With
   ``--ppg-quality Q`` all of it again over the spans where PLETH's quality index
   is at least Q throughout (:func:`mimo_lib.imputation.ppg_good_samples`): what a
   monitor would show, blanking numbers while the finger sensor is disturbed.
2. **Calibrated on the first ``--calibrate`` seconds.** The model adapted to each
   recording (:meth:`mimo_lib.run.TrainedRun.calibrated`) beside the
   uncalibrated imputation, that imputation with sign, gain and delay fitted on
   the stretch, and the stretch alone (the present signals mapped to the missing
   one at one lag). Scored only after the stretch: Pearson r per window (windows
   that pass quality control), breathing rate (RESP), heart rate and R-peaks (II).
   A recording whose stretch cannot calibrate (no window passes quality
   control there) is named and left out of every row.

Means over subjects per seed, then mean ± s.d. over seeds. With ``--out`` the
first seed also draws, for the first test subject that calibrates, real RESP
beside its uncalibrated and calibrated imputation and their breathing rates
(``<out>_<subject>.png``). Protocol A::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_missing.py --params params/bidmc.yaml \\
        --set data.root=/work/shared/data/bidmc/bidmc_csv --seeds 0 1 2 --calibrate 120 \\
        --runs runs/missing --out benchmarks/results/protocol_a/missing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from mimo_lib.config import load_params
from mimo_lib.data.prepare import prepare, split_subjects
from mimo_lib.data.signals import modality_bands
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.types import Recording
from mimo_lib.evaluation.derived_respiration import METHODS as DERIVED
from mimo_lib.evaluation.evaluate import ORIGINAL_METHOD
from mimo_lib.imputation import (
    after,
    blanked_outside,
    constant_rate_errors,
    derived_respiration,
    dominant_rate_errors,
    lag_corrected,
    lag_mapped,
    median_rate,
    ppg_good_samples,
    pulse_rate_errors,
    window_correlations,
    with_originals,
)
from mimo_lib.physiology import score_reconstructions
from mimo_lib.plots.imputation import plot_calibrated_imputation
from mimo_lib.run import TrainedRun, load_run
from mimo_lib.training.trainer import train

RESP, PPG, ECG = "RESP", "PLETH", "II"
IMPUTERS = {
    RESP: [f"training.modality_dropout={{{RESP}: 1.0}}", "training.missing_weight=1.0",
           "training.missing_polarity=subject", f"training.polarity_reference={PPG}"],
    ECG: [f"training.modality_dropout={{{ECG}: 1.0}}", "training.missing_weight=1.0",
          "training.missing_delay=subject", f"training.delay_reference={PPG}", "training.missing_lag_seconds=0.2"],
}
MEASURES = {RESP: ("breathing_rate_mae_32s",), ECG: ("heart_rate_mae_8s", "r_peak_f1_50ms")}
IMPUTED = "imputed"
CALIBRATED = ("uncalibrated", "uncalibrated + sign, gain, delay", "calibration stretch only", "calibrated")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params/bidmc.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--calibrate", type=float, default=120.0, help="seconds of calibration stretch")
    parser.add_argument("--epochs", type=int, help="override training.epochs (smoke runs)")
    parser.add_argument("--runs", type=Path, help="keep the trained runs here and reuse those already trained "
                                                  "(default: a temporary folder)")
    parser.add_argument("--ppg-quality", type=float, metavar="Q",
                        help="score table 1 again over the spans where PLETH's quality index (NeuroKit2 template "
                             "match, 0-1) is at least Q everywhere")
    parser.add_argument("--out", type=Path, help="write <out>_<table>.csv per subject and seed, and <out>.md")
    return parser.parse_args(argv)


def imputer(args: argparse.Namespace, modality: str, seed: int, runs: Path) -> TrainedRun:
    """The seed's imputer of ``modality``, trained unless ``runs`` already holds it."""
    folder = runs / f"seed{seed}" / modality
    if (folder / "checkpoints" / "best.pt").is_file():
        return load_run(folder)
    overrides = [*args.overrides, *IMPUTERS[modality], f"training.seed={seed}"]
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    params = load_params(args.params, overrides)
    train(params, prepare(params, progress=False), run_dir=folder, progress=False)
    return load_run(folder)


def picked(table: pd.DataFrame, measures: tuple[str, ...]) -> pd.DataFrame:
    """Rows of :func:`score_reconstructions` for ``measures``, as ``subject, method, measure, value, n``."""
    rows = table[table["measure"].isin(measures)]
    return rows.assign(n=rows["n_scored"])[["subject", "method", "measure", "value", "n"]]


def as_rows(frame: pd.DataFrame, method: str, measure: str) -> pd.DataFrame:
    """A per-subject ``subject, value, n_scored`` frame as rows of one method and measure."""
    return frame.assign(method=method, measure=measure, n=frame["n_scored"])[["subject", "method", "measure", "value", "n"]]


def without_sensor(full: list, runs: dict[str, TrainedRun], recordings: list[Recording], constant: float,
                   ppg_quality: float | None) -> pd.DataFrame:
    """Table 1: rates from imputed RESP and II beside the real signals and the baselines, over every span and,
    with ``ppg_quality``, again over the spans where PLETH's quality index reaches it (column ``spans``)."""
    signals = {"full": full, "RESP": with_originals(runs[RESP].reconstruct(recordings, missing=[RESP]), full),
               "II": with_originals(runs[ECG].reconstruct(recordings, missing=[ECG]), full)}
    signals |= {m: derived_respiration(full, PPG, RESP, m) for m in DERIVED}
    band = modality_bands(runs[RESP].params)[RESP]
    tables = [rate_rows(signals, constant, band).assign(spans="all")]
    if ppg_quality is not None:
        good = ppg_good_samples(full, PPG, ppg_quality)
        gated = {name: blanked_outside(recons, good) for name, recons in signals.items()}
        tables.append(rate_rows(gated, constant, band).assign(spans=f"PLETH quality ≥ {ppg_quality:g}"))
    return pd.concat(tables, ignore_index=True)


def rate_rows(signals: dict[str, list], constant: float, band: tuple[float, float]) -> pd.DataFrame:
    """Table 1's rows from the recordings of :func:`without_sensor` (``full``, imputed ``RESP`` and ``II``, derived)."""
    full, imputed = signals["full"], signals[RESP]
    dominant = [as_rows(dominant_rate_errors(recons, RESP, band), f"{name}, dominant frequency", MEASURES[RESP][0])
                for name, recons in (("real RESP", [replace(r, reconstruction=r.original) for r in full]),
                                     (IMPUTED, imputed))]
    methods = {IMPUTED: imputed} | {f"PPG-derived {m.upper()}": signals[m] for m in DERIVED}
    resp = picked(score_reconstructions(methods, {RESP: "resp"}), MEASURES[RESP]).assign(modality=RESP)
    resp.loc[resp["method"] == ORIGINAL_METHOD, "method"] = "real RESP"
    constant_rows = as_rows(constant_rate_errors(full, RESP, constant), f"constant {constant:.1f}", MEASURES[RESP][0])
    ecg = picked(score_reconstructions({IMPUTED: signals[ECG]}, {ECG: "ecg"}), MEASURES[ECG])
    ecg = ecg[ecg["method"] != ORIGINAL_METHOD]
    pulse = as_rows(pulse_rate_errors(full, PPG, ECG), "PLETH pulse rate", MEASURES[ECG][0])
    return pd.concat([resp, *(rows.assign(modality=RESP) for rows in (*dominant, constant_rows)),
                      ecg.assign(modality=ECG), pulse.assign(modality=ECG)], ignore_index=True)


def calibrated(full: list, run: TrainedRun, recordings: list[Recording], target: str,
               seconds: float) -> tuple[pd.DataFrame, dict[str, str]]:
    """Table 2 for one target: the four imputations, scored after the calibration stretch; refused recordings."""
    usable, refused, adapted = [], {}, []
    for recording, complete in zip(recordings, full):
        try:
            adapted.append(run.reconstruct(recording, missing=[target], calibrate_seconds=seconds)[0])
            usable.append((recording, complete))
        except ValueError as error:
            refused[recording.subject] = str(error)
    if not usable:
        return pd.DataFrame(columns=["subject", "method", "measure", "value", "n", "modality"]), refused
    recordings, full = [r for r, _ in usable], [c for _, c in usable]
    uncalibrated = with_originals(run.reconstruct(recordings, missing=[target]), full)
    band = modality_bands(run.params)[target]
    methods = dict(zip(CALIBRATED, (
        uncalibrated, lag_corrected(uncalibrated, target, seconds), lag_mapped(full, target, seconds, band),
        with_originals(adapted, full))))
    methods = {name: after(recons, seconds, [target]) for name, recons in methods.items()}
    kinds = {RESP: {RESP: "resp"}, ECG: {ECG: "ecg"}}[target]
    scores = picked(score_reconstructions(methods, kinds), MEASURES[target])
    scores = scores[scores["method"] != ORIGINAL_METHOD]
    windows = run.windows(recordings)
    starts = {s: windows.starts[windows.subjects == s] for s in set(windows.subjects)}
    window_s = run.params.preprocessing.window_seconds
    correlations = [as_rows(window_correlations(recons, target, starts, window_s, seconds), name, "r")
                    for name, recons in methods.items()]
    return pd.concat([scores, *correlations], ignore_index=True).assign(modality=target), refused


def draw(run: TrainedRun, recordings: list[Recording], full: list, seconds: float, out: Path) -> Path | None:
    """Real, uncalibrated and calibrated RESP of the first recording that calibrates, saved beside ``out``."""
    for recording, complete in zip(recordings, full):
        try:
            calibrated = run.reconstruct(recording, missing=[RESP], calibrate_seconds=seconds)
        except ValueError:
            continue
        imputations = {"uncalibrated": with_originals(run.reconstruct(recording, missing=[RESP]), [complete])[0],
                       "calibrated": with_originals(calibrated, [complete])[0]}
        path = out.parent / f"{out.name}_{recording.subject}.png"
        plot_calibrated_imputation(imputations, RESP, seconds).savefig(path, dpi=110, bbox_inches="tight")
        return path
    return None


def run_seed(args: argparse.Namespace, seed: int, runs_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    runs = {modality: imputer(args, modality, seed, runs_dir) for modality in IMPUTERS}
    params = runs[RESP].params
    splits = split_subjects(params)
    recordings = load_recordings(params, splits["test"])
    identity = runs[RESP].reconstruct(load_recordings(params, splits["train"]), reconstructor=lambda w: w)
    full = runs[RESP].reconstruct(recordings, reconstructor=lambda w: w)
    table1 = without_sensor(full, runs, recordings, median_rate(identity, RESP), args.ppg_quality).assign(seed=seed)
    parts, refused = [], {}
    for target in IMPUTERS:
        part, failed = calibrated(full, runs[target], recordings, target, args.calibrate)
        parts.append(part)
        refused |= {f"{target} {subject}": reason for subject, reason in failed.items()}
    if args.out and seed == args.seeds[0]:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        print(f"figure: {draw(runs[RESP], recordings, full, args.calibrate, args.out)}", flush=True)
    print(f"seed {seed} done", flush=True)
    return table1, pd.concat(parts, ignore_index=True).assign(seed=seed), refused


def summary(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Mean over subjects per seed, then mean ± s.d. over seeds, per modality, method and measure."""
    per_seed = table.groupby(["modality", "measure", "method", "seed"], sort=False).agg(
        value=("value", "mean"), n=("n", "sum"), subjects=("value", "count"))
    grouped = per_seed.groupby(level=["modality", "measure", "method"], sort=False)
    result = grouped.agg(mean=("value", "mean"), sd=("value", "std"), n=("n", "mean"), subjects=("subjects", "max"))
    result["text"] = [f"{m:.2f} ± {s:.2f}" if pd.notna(s) else f"{m:.2f}" for m, s in zip(result["mean"], result["sd"])]
    wide = result["text"].unstack("measure")
    counts = result["n"].unstack("measure").add_prefix("n ").round(0).astype("Int64")
    wide = wide.join(counts).join(result["subjects"].groupby(level=["modality", "method"], sort=False).max())
    rank = {name: index for index, name in enumerate(order)}
    return wide.sort_index(key=lambda index: index.map(lambda value: rank.get(value, len(rank))))


def markdown(frame: pd.DataFrame) -> str:
    """A plain markdown table of ``frame`` with its index as leading columns."""
    frame = frame.reset_index()
    rows = [" | ".join(map(str, frame.columns)), " | ".join("---" for _ in frame.columns)]
    rows += [" | ".join("" if pd.isna(v) else str(v) for v in values) for values in frame.itertuples(index=False)]
    return "\n".join(f"| {row} |" for row in rows)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    with tempfile.TemporaryDirectory() as scratch:
        results = [run_seed(args, seed, args.runs or Path(scratch)) for seed in args.seeds]
    table1 = pd.concat([r[0] for r in results], ignore_index=True)
    table2 = pd.concat([r[1] for r in results], ignore_index=True)
    refused = {key: reason for r in results for key, reason in r[2].items()}
    order = ["real RESP", IMPUTED, *CALIBRATED]
    subjects, seeds = ", ".join(sorted(table1["subject"].unique())), ", ".join(map(str, args.seeds))
    lines = []
    for spans, part in table1.groupby("spans", sort=False):
        lines += [f"## Without the sensor, {spans} spans (test subjects {subjects}; seeds {seeds})", "",
                  markdown(summary(part, order)), ""]
    lines += [f"## Calibrated on the first {args.calibrate:g} s, scored after it", "", markdown(summary(table2, order))]
    if refused:
        lines += ["", "Recordings that could not calibrate (left out of the calibrated table):", ""]
        lines += [f"- {key}: {reason}" for key, reason in sorted(set(refused.items()))]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table1.to_csv(args.out.parent / f"{args.out.name}_without_sensor.csv", index=False)
        table2.to_csv(args.out.parent / f"{args.out.name}_calibrated.csv", index=False)
        command = " ".join(["benchmarks/bench_missing.py", *(argv if argv is not None else sys.argv[1:])])
        args.out.with_suffix(".md").write_text(f"Command: `{command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
