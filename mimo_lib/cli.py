"""mimo: prepare recordings, train, evaluate and compare MiMo-AE runs, reuse a trained run, fetch data.

Every subcommand takes ``--params FILE`` and any number of ``--set key=value``
overrides, resolved by :func:`mimo_lib.config.load_params` exactly as the
notebooks and papermill runs resolve them.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mimo_lib import __version__
from mimo_lib.config import load_params, locate

if TYPE_CHECKING:
    from mimo_lib.data.types import WindowSet
    from mimo_lib.grid import Axis
    from mimo_lib.run import TrainedRun

Handler = Callable[[argparse.Namespace], None]


def _add_params_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=None, help="params YAML (default: params/default.yaml only)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one parameter, e.g. --set training.epochs=2 (repeatable)",
    )


def _print_table(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}")
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.precision", 3):
        print(table.to_string())


def _prepare(args: argparse.Namespace) -> None:
    from mimo_lib.data.prepare import drop_report, prepare

    params = load_params(args.params, args.overrides)
    sets = prepare(params, force=args.force)
    for split, windowset in sets.items():
        print(f"{split}: {windowset.windows.shape} windows (N, M, T) at {windowset.rate:g} Hz")
    _print_table("windows kept and dropped per subject", drop_report(sets))


def _train(args: argparse.Namespace) -> None:
    from mimo_lib.data.prepare import prepare
    from mimo_lib.reports import evaluate_run, evaluation_figures, save_figures, save_training_figures
    from mimo_lib.training.distributed import topology_from_env
    from mimo_lib.training.trainer import train

    params = load_params(args.params, args.overrides)
    is_main = topology_from_env().is_main
    sets = prepare(params, progress=is_main)  # cache writes are atomic: concurrent ranks agree
    result = train(params, sets)
    if not is_main:
        return  # under torchrun, rank 0 reports and evaluates
    save_training_figures(result, sets, params.tracking.n_example_windows)
    print(f"run folder: {result.run_dir}  (best epoch {result.best_epoch}, {result.train_seconds:.1f} s)")
    if not args.no_evaluate:
        evaluation = evaluate_run(result.run_dir, split=args.split, sets=sets)
        save_figures(evaluation_figures(evaluation, params.tracking.n_example_windows), result.run_dir / "figures")
        _print_table(f"{args.split} metrics per modality", evaluation.per_modality)


def _evaluate(args: argparse.Namespace) -> None:
    from mimo_lib.reports import evaluate_recordings, evaluate_run, evaluation_figures, save_figures

    if args.input is None:
        evaluation = evaluate_run(args.run, split=args.split or "test", checkpoint=args.checkpoint)
    else:
        evaluation = evaluate_recordings(args.run, args.input, checkpoint=args.checkpoint, **_reading(args))
    save_figures(evaluation_figures(evaluation), args.run / "figures")
    _print_table(f"{evaluation.split} metrics per modality", evaluation.per_modality)
    _print_table(f"{evaluation.split} metrics overall", evaluation.overall)
    print(f"-> {', '.join(str(path) for path in evaluation.files)}")


def sweep_axes(args: argparse.Namespace) -> list[Axis]:
    """The grid axes of ``--fusion`` and ``--grid``; all three fusion strategies when neither is given."""
    from mimo_lib.grid import DEFAULT_FUSIONS, fusion_axis, parse_axis

    axes = [parse_axis(text) for text in args.grid]
    if args.fusion or not axes:
        axes.insert(0, fusion_axis(args.fusion or DEFAULT_FUSIONS))
    return axes


def _sweep(args: argparse.Namespace) -> None:
    from mimo_lib.sweep import run_sweep

    if args.scheduler and args.jobs:
        raise ValueError("--jobs sets the worker processes started here; with --scheduler the cluster's workers run")
    params_file = args.params or Path("params/default.yaml")
    load_params(params_file, args.overrides)  # fail here, before any notebook starts
    summary = run_sweep(params_file, sweep_axes(args), overrides=args.overrides, name=args.name,
                        jobs=args.jobs or 1, executor=args.executor, scheduler=args.scheduler)
    if summary.skipped:
        print(f"skipped {len(summary.skipped)} run(s) already finished with the same params: "
              + ", ".join(summary.skipped))
    if summary.rerun:
        print(f"ran again {len(summary.rerun)} run(s): "
              + ", ".join(f"{name} ({why})" for name, why in summary.rerun.items()))
    _print_table("per strategy: mean ± s.d. [95 % interval] over seeds", summary.table)
    _print_table("paired differences over seeds (strategy − versus) [95 % interval]", summary.differences)
    print("\nfigures:")
    for path in summary.figures:
        print(f"  {path}")
    if summary.failures:
        for failure in summary.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        raise SystemExit(1)


def _fetch(fetch: Callable[[], list[Path]]) -> list[Path]:
    """Run ``fetch``; an unverified download is announced loudly."""
    from mimo_lib.data.fetch import UnverifiedWarning

    show = warnings.showwarning

    def loud(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if issubclass(category, UnverifiedWarning):
            print(f"\nWARNING: {message}\n", file=sys.stderr)
        else:
            show(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UnverifiedWarning)
        warnings.showwarning = loud
        return fetch()


def _fetch_bidmc(args: argparse.Namespace) -> None:
    from mimo_lib.data.fetch import BIDMC_DEST, fetch_bidmc

    paths = _fetch(lambda: fetch_bidmc(args.dest, source=args.source))
    print(f"{len(paths)} files verified in {args.dest or BIDMC_DEST}")


def _fetch_physionet(args: argparse.Namespace) -> None:
    from mimo_lib.data.fetch import fetch_physionet, physionet_dest

    paths = _fetch(lambda: fetch_physionet(
        args.database, args.dest, source=args.source, records=args.records, verify=not args.no_verify
    ))
    print(f"{len(paths)} files in {args.dest or physionet_dest(args.database)}")


def _reading(args: argparse.Namespace) -> dict[str, Any]:
    """``mapping`` and ``storage`` of :meth:`mimo_lib.run.TrainedRun.read_recordings` from ``--map`` and ``--input-params``."""
    from mimo_lib.data.renaming import parse_mapping
    from mimo_lib.run import STORAGE_KEYS

    storage = None
    if getattr(args, "input_params", None) is not None:
        data = load_params(args.input_params).data
        storage = {key: getattr(data, key) for key in STORAGE_KEYS}
    return {"mapping": parse_mapping(args.map), "storage": storage}


def _run_windows(args: argparse.Namespace) -> tuple[TrainedRun, WindowSet]:
    """The run and the windows named by ``--input`` (recordings) or ``--split``."""
    from mimo_lib.run import load_run

    run = load_run(args.run, args.checkpoint)
    if args.input is not None:
        windows = run.windows(args.input, getattr(args, "missing", []), **_reading(args))
        for subject, counts in windows.dropped.items():
            if sum(counts.values()):
                print(f"{subject}: dropped windows {counts}")
    else:
        windows = run.split(args.split)
    return run, windows


def _encode(args: argparse.Namespace) -> None:
    if args.bits is not None and args.ratio is not None:
        raise ValueError("give --bits or --ratio, not both (--ratio chooses the bits)")
    if args.depth_per_dimension and args.bits is None:
        raise ValueError("--depth-per-dimension spreads the bits of --bits B; --ratio always does")
    run, windows = _run_windows(args)
    if args.bits is not None or args.ratio is not None:
        from mimo_lib.coding import compress, compress_to_ratio
        from mimo_lib.data.sources import sample_bits

        option = "--bits" if args.bits is not None else "--ratio"
        if args.out.suffix != ".npz":
            raise ValueError(f"{option} writes a code file: end --out in .npz, got {args.out}")
        if args.ratio is not None:
            resolution = sample_bits(run.params)
            code = compress_to_ratio(run, windows, args.ratio, [resolution[m] for m in run.modalities])
            uncoded = len(code.code) * run.model.window_length * sum(resolution.values())
            depth = f"{code.code.mean_bits:.2f} bits on average, {uncoded / code.code.n_bits:.2f}x against {resolution}"
        else:
            if not args.depth_per_dimension and args.bits != int(args.bits):
                raise ValueError(f"--bits {args.bits:g} is not a whole number of bits; a mean over the latent numbers "
                                 "needs --depth-per-dimension")
            code = compress(run, windows, args.bits if args.depth_per_dimension else int(args.bits),
                            per_dimension=args.depth_per_dimension)
            depth = f"{code.code.mean_bits:.2f} bits on average" if args.depth_per_dimension else f"{args.bits:g} bits each"
        code.save(args.out)
        print(f"{len(code.code)} windows, {run.model.latent_dim} latent numbers of {depth}: "
              f"{code.code.n_bits / len(code.code):.1f} bits per window, {code.bits_per_second:.1f} bit/s -> {args.out}")
        return
    frame = run.encode(windows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    print(f"{len(frame)} latent vectors of {run.model.latent_dim} numbers -> {args.out}")


def _decode(args: argparse.Namespace) -> None:
    import numpy as np

    from mimo_lib.coding import CodeFile, code_frame, is_code_file
    from mimo_lib.data.renaming import check_mapping, parse_mapping, recorded_names
    from mimo_lib.run import load_run

    run = load_run(args.run, args.checkpoint)
    if is_code_file(args.input):
        frame = code_frame(run, CodeFile.load(args.input))
    else:
        frame = pd.read_parquet(args.input)
    absent = [column for column in ("subject", "start") if column not in frame.columns]
    if absent:
        raise ValueError(f"{args.input}: no column(s) {absent}; expected a file written by `mimo encode`")
    windows = run.decode(frame)
    names = recorded_names(run.modalities, check_mapping(parse_mapping(args.map), run.modalities))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, windows=windows, subjects=frame["subject"].to_numpy(str),
             starts=frame["start"].to_numpy(float), modalities=np.array(names))
    print(f"{windows.shape} reconstructed windows (N, M, T) -> {args.out}")


def _impute(args: argparse.Namespace) -> None:
    import numpy as np

    run, windows = _run_windows(args)
    if args.calibrate is None:
        imputed = run.impute(windows, args.missing)
    elif args.input is None:
        raise ValueError("--calibrate needs --input: recordings whose first seconds hold the missing sensors")
    else:
        imputed = run.impute(args.input, args.missing, calibrate_seconds=args.calibrate, **_reading(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, windows=imputed, observed=windows.windows, subjects=np.asarray(windows.subjects).astype(str),
             starts=np.asarray(windows.starts, dtype=float), modalities=np.array(run.modalities),
             missing=np.array(args.missing), calibrate_seconds=np.array(args.calibrate or 0.0))
    calibration = "" if args.calibrate is None else f", calibrated on the first {args.calibrate:g} s of each recording"
    print(f"{', '.join(args.missing)} imputed for {len(imputed)} windows (normalised scale{calibration}) -> {args.out}")


def _reconstruct(args: argparse.Namespace) -> None:
    from mimo_lib.coding import CodeFile, is_code_file, reconstruct_code
    from mimo_lib.data.renaming import recorded_names
    from mimo_lib.reconstruction import write_reconstructions
    from mimo_lib.run import load_run

    run = load_run(args.run, args.checkpoint)
    if is_code_file(args.input):
        if args.missing:
            raise ValueError("--missing applies to recordings; a code file is decoded as it was coded")
        reconstructions = reconstruct_code(run, CodeFile.load(args.input), str(args.input))
    else:
        reading = _reading(args)
        reconstructions = run.reconstruct(args.input, args.missing, **reading)
        reconstructions = [r.with_names(recorded_names(r.modalities, reading["mapping"])) for r in reconstructions]
    paths = write_reconstructions(reconstructions, args.out, args.format, run.params.data.time_column or "time")
    rows = [{"subject": r.subject, "samples": r.length, "windows": r.windows,
             **{f"uncovered {m}": n for m, n in r.uncovered.items()}} for r in reconstructions]
    _print_table(f"recordings reconstructed at {run.params.preprocessing.target_rate:g} Hz "
                 "(uncovered samples are NaN: dropped by quality control, or the tail)", pd.DataFrame(rows))
    print(f"-> {paths[0] if len(paths) == 1 else paths[0].parent}")


def _fidelity(args: argparse.Namespace) -> None:
    from mimo_lib.data.prepare import split_subjects
    from mimo_lib.data.sources import load_recordings
    from mimo_lib.physiology import fidelity_beside_pca, fidelity_summary
    from mimo_lib.run import load_run

    run = load_run(args.run, args.checkpoint)
    if args.input is not None:
        recordings, name = run.read_recordings(args.input, **_reading(args)), args.input.stem
    else:
        subjects = split_subjects(run.params).get(args.split)
        if not subjects:
            raise ValueError(f"the run's params define no {args.split!r} split")
        recordings, name = load_recordings(run.params, subjects), args.split
    table = fidelity_beside_pca(run, recordings)
    out = args.out or run.run_dir / f"fidelity_{name}.csv"
    table.to_csv(out, index=False)
    _print_table(f"physiological fidelity, mean over {table['subject'].nunique()} recordings "
                 "(n: events, spans or beats scored / not scored)", fidelity_summary(table))
    print(f"-> {out}")


def _robustness(args: argparse.Namespace) -> None:
    from mimo_lib.run import load_run

    for path in load_run(args.run, args.checkpoint).write_robustness(args.split, seed=args.seed):
        _print_table(path.stem, pd.read_csv(path))


def _add_reading_options(parser: argparse.ArgumentParser, storage: bool = True) -> None:
    """``--map`` (and ``--input-params``): recordings from other devices."""
    parser.add_argument("--map", action="append", default=[], metavar="NAME=MODALITY",
                        help="the recordings' signal NAME is the run's MODALITY, e.g. --map RSP=RESP (repeatable)")
    if storage:
        parser.add_argument("--input-params", type=locate, default=None, metavar="FILE",
                            help="params YAML whose data section says how the --input files are stored "
                                 "(source, file_glob, subject_pattern, time_column, sampling_rate, bits_per_sample)")


def _add_run_input(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--run", type=locate, required=True, help="run folder written by `mimo train`")
    parser.add_argument("--checkpoint", default="best.pt", help="checkpoint file in <run>/checkpoints")
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--input", type=locate, help="folder or file of recordings (.csv, WFDB .hea), read with the "
                                                     "run's data params unless --input-params")
    source.add_argument("--split", help="a prepared split of the run's own data (train, val, test)")
    _add_reading_options(parser)


EXAMPLES = {
    "prepare": "mimo prepare --params params/default.yaml",
    "train": "mimo train --params params/default.yaml --set training.epochs=5",
    "evaluate": "mimo evaluate --run runs/demo/fusion=concat --split test",
    "evaluate --input": "mimo evaluate --run runs/bidmc/fusion=concat --input data/raw/neurokit/bio_resting_5min_100hz.csv "
                        "--input-params params/neurokit.yaml --map RSP=RESP --map PPG=PLETH --map ECG=II",
    "sweep": "mimo sweep --params params/default.yaml --grid model.fusion=concat,gated --grid training.seed=0,1,2",
    "encode": "mimo encode --run runs/demo/fusion=concat --input data/raw/synthetic --out latents.parquet",
    "decode": "mimo decode --run runs/demo/fusion=concat --input latents.parquet --out windows.npz",
    "encode --bits": "mimo encode --run runs/demo/fusion=concat --input data/raw/synthetic --bits 8 --out code.npz",
    "impute": "mimo impute --run runs/demo/fusion=concat --missing RESP --input data/raw/synthetic --calibrate 30 --out imputed.npz",
    "reconstruct": "mimo reconstruct --run runs/demo/fusion=concat --input data/raw/synthetic --out reconstructed --format csv",
    "fidelity": "mimo fidelity --run runs/demo/fusion=concat --split test",
    "robustness": "mimo robustness --run runs/demo/fusion=concat",
    "data": "mimo data fetch physionet bidmc/1.0.0 --records bidmc01",
}


def _with_examples(parser: argparse.ArgumentParser, commands: argparse._SubParsersAction) -> None:
    """An example under every command's help, and all of them under ``mimo --help``."""
    for name, command in commands.choices.items():
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        command.epilog = f"example:\n  {EXAMPLES[name]}"
    parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES.values())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mimo`` command."""
    parser = argparse.ArgumentParser(prog="mimo", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mimo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prepare = commands.add_parser("prepare", help="recordings -> filtered, windowed, normalised .npz per split")
    _add_params_options(prepare)
    prepare.add_argument("--force", action="store_true", help="rebuild even when the cached windows match")
    prepare.set_defaults(handler=_prepare)

    train = commands.add_parser("train", help="train MiMo-AE, then evaluate the best checkpoint")
    _add_params_options(train)
    train.add_argument("--split", default="test", help="split to evaluate after training")
    train.add_argument("--no-evaluate", action="store_true", help="skip the evaluation after training")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="metrics of a trained run beside the PCA baseline")
    _add_run_input(evaluate, required=False)
    evaluate.set_defaults(handler=_evaluate)

    sweep = commands.add_parser(
        "sweep", help="run the training and analysis notebooks once per grid point (fusion, seed, ...), then compare")
    _add_params_options(sweep)
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="a params key and its values, one run per combination (repeatable), "
                            "e.g. --grid training.seed=0,1,2")
    sweep.add_argument("--fusion", nargs="+", default=None, metavar="STRATEGY",
                       help="shortcut for --grid model.fusion=...: names in params/fusion/ or YAML files "
                            "(default without --grid: concat gated attention)")
    sweep.add_argument("--name", default=None, help="sweep name (folder under runs/); rerunning it skips finished runs")
    sweep.add_argument("--executor", choices=["local", "dask"], default="local",
                       help="local: here or a process pool; dask: a Dask cluster (local unless --scheduler)")
    sweep.add_argument("--jobs", type=int, default=None,
                       help="worker processes started here (default 1); each run gets cores / jobs threads")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://host:8786 (with --executor dask)")
    sweep.set_defaults(handler=_sweep)

    encode = commands.add_parser("encode", help="one latent vector per window -> parquet, or a code file with --bits")
    _add_run_input(encode)
    encode.add_argument("--out", type=Path, required=True, help="output .parquet (.npz with --bits)")
    encode.add_argument("--bits", type=float, default=None,
                        help="write a code file: each latent number on BITS bits (2-12 uniformly quantised, "
                             "16 float16, 32 float32) plus each window's mean and std per modality as float16")
    encode.add_argument("--ratio", type=float, default=None,
                        help="write a code file within this compression ratio against the run's recordings' "
                             "resolution (data.bits_per_sample or the WFDB headers), a depth per latent number")
    encode.add_argument("--depth-per-dimension", action="store_true",
                        help="with --bits B (2-12, fractional allowed): B x latent size bits per window, spread over "
                             "the latent numbers (2-12 each) where the decoder's output is most sensitive")
    encode.set_defaults(handler=_encode)

    decode = commands.add_parser("decode", help="latent vectors or a code file (from `mimo encode`) -> windows in recording units")
    decode.add_argument("--run", type=locate, required=True, help="run folder written by `mimo train`")
    decode.add_argument("--checkpoint", default="best.pt", help="checkpoint file in <run>/checkpoints")
    decode.add_argument("--input", type=locate, required=True,
                        help=".parquet or code file (.npz, --bits) written by `mimo encode`")
    decode.add_argument("--out", type=Path, required=True, help="output .npz (windows, subjects, starts, modalities)")
    _add_reading_options(decode, storage=False)
    decode.set_defaults(handler=_decode)

    impute = commands.add_parser("impute", help="reconstruct missing modalities from the present ones -> npz")
    _add_run_input(impute)
    impute.add_argument("--missing", action="append", required=True, metavar="MODALITY",
                        help="a modality absent at the input (repeatable)")
    impute.add_argument("--calibrate", type=float, default=None, metavar="SECONDS",
                        help="adapt the model to each recording on its first SECONDS, where the missing sensors "
                             "were still worn (needs --input)")
    impute.add_argument("--out", type=Path, required=True, help="output .npz")
    impute.set_defaults(handler=_impute)

    reconstruct = commands.add_parser(
        "reconstruct", help="whole recordings back, stitched from overlapping windows -> CSV or WFDB")
    reconstruct.add_argument("--run", type=locate, required=True, help="run folder written by `mimo train`")
    reconstruct.add_argument("--checkpoint", default="best.pt", help="checkpoint file in <run>/checkpoints")
    reconstruct.add_argument("--input", type=locate, required=True,
                             help="folder or file of recordings, or a code file (.npz) written by `mimo encode --bits`")
    reconstruct.add_argument("--out", type=Path, required=True,
                             help="a .csv or .hea file (one recording) or a folder (one file per recording)")
    reconstruct.add_argument("--format", choices=["csv", "wfdb"], default=None,
                             help="output format when --out is a folder (default: from the suffix)")
    reconstruct.add_argument("--missing", action="append", default=[], metavar="MODALITY",
                             help="a modality absent at the input, imputed from the others (repeatable)")
    _add_reading_options(reconstruct)
    reconstruct.set_defaults(handler=_reconstruct)

    fidelity = commands.add_parser(
        "fidelity", help="beats, breaths, rates and pulse arrival of whole reconstructed recordings, beside PCA")
    _add_run_input(fidelity)
    fidelity.add_argument("--out", type=Path, default=None, help="long table (default: <run>/fidelity_<split>.csv)")
    fidelity.set_defaults(handler=_fidelity)

    robustness = commands.add_parser(
        "robustness", help="write imputation_<split>[_subjects].csv and denoising_<split>.csv into a run folder")
    robustness.add_argument("--run", type=locate, required=True, help="run folder written by `mimo train`")
    robustness.add_argument("--checkpoint", default="best.pt", help="checkpoint file in <run>/checkpoints")
    robustness.add_argument("--split", default="test")
    robustness.add_argument("--seed", type=int, default=0, help="seed of the input corruptions")
    robustness.set_defaults(handler=_robustness)

    data = commands.add_parser("data", help="datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    fetch = data_commands.add_parser("fetch", help="download and verify a public dataset")
    datasets = fetch.add_subparsers(dest="dataset", required=True)
    bidmc = datasets.add_parser("bidmc", help="the BIDMC PPG and Respiration CSV release")
    bidmc.add_argument("--dest", type=Path, default=None, help="target folder (default: data/raw/bidmc in the project)")
    bidmc.add_argument("--source", type=Path, default=None, help="copy from a local folder instead of PhysioNet")
    bidmc.set_defaults(handler=_fetch_bidmc)
    physionet = datasets.add_parser("physionet", help="any PhysioNet database, checked against its SHA256SUMS.txt")
    physionet.add_argument("database", metavar="DATABASE/VERSION", help="e.g. bidmc/1.0.0 or mimic3wdb-matched/1.0")
    physionet.add_argument("--records", nargs="+", default=None, metavar="R",
                           help="only these records (as RECORDS names them), with their segments and annotations")
    physionet.add_argument("--source", type=Path, default=None,
                           help="copy from a local folder laid out like the database instead of PhysioNet")
    physionet.add_argument("--dest", type=Path, default=None,
                           help="target folder (default: data/raw/<database> in the project)")
    physionet.add_argument("--no-verify", action="store_true",
                           help="fetch a database that has no SHA256SUMS.txt, unchecked (listed checksums still apply)")
    physionet.set_defaults(handler=_fetch_physionet)
    _with_examples(parser, commands)
    return parser


def one_line(error: BaseException) -> str:
    """An error as one line: its kind unless it is a plain ValueError/ParamsError, and its message."""
    message = ""
    for line in (line.strip() for line in str(error).splitlines() if line.strip()):
        message += (" " if not message or message.endswith(":") else "; ") + line
    message = message.strip() or repr(error)
    plain = isinstance(error, ValueError) and type(error).__module__.startswith(("builtins", "mimo_lib"))
    return message if plain else f"{type(error).__name__}: {message}"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mimo`` console script: errors print as one line (exit 2) unless ``--debug``."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
