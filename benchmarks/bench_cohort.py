"""Time, peak memory and disk of preparing and training on synthetic cohorts of growing size.

For each cohort size (hours of recordings: subjects of ``--subject-minutes`` with
ECG, PPG, RESP and ABP at 250 Hz) the embedded synthetic cohort is written as
CSV, prepared at 125 Hz (8 s windows every 2 s, per-window z-score) and the
default model is trained for one epoch on the memory-mapped splits. On the first
size the epoch is also trained with every split read whole into memory (the
in-memory path), in alternating order, and the time to assemble one batch is
measured for both paths. Each phase runs in its own process, which reports its
own peak resident memory (``getrusage`` ``ru_maxrss``, file pages it touched
included); the prepare process also samples the size of its cache folder.
Cohorts live under ``--root`` and are deleted after their measurements.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cohort.py --hours 12 50 200 --root /data/bench
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

import numpy as np

from mimo_lib.config import Params, SyntheticConfig, load_params, parse_override
from mimo_lib.data.prepare import prepare
from mimo_lib.data.sources import available_subjects
from mimo_lib.data.sources.synthetic import subject_ids
from mimo_lib.data.types import WindowSet

# torch and the trainer are imported inside the training phases only, so the peak memory of the cohort and
# prepare processes is what `mimo prepare` needs

RESULT = "RESULT "
GB = 1e9


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[12, 50, 200], help="cohort sizes, in hours")
    parser.add_argument("--subject-minutes", type=float, default=30.0, help="length of each subject's recording")
    parser.add_argument("--root", type=Path, required=True, help="folder for the cohorts (outside the repository)")
    parser.add_argument("--memory-repeats", type=int, default=1,
                        help="epochs per path (memory-mapped, in memory) on the first size, alternating")
    parser.add_argument("--keep", action="store_true", help="keep the cohorts instead of deleting them")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra params override for every phase, e.g. model.base_width=8")
    parser.add_argument("--phase", choices=["cohort", "prepare", "train", "train-memory", "batches"],
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def cohort_params(hours: float, args: argparse.Namespace) -> Params:
    """Default params for a synthetic cohort of ``hours`` under ``<root>/<hours>h``; val and test ~1/12 each."""
    seconds = args.subject_minutes * 60
    n = max(3, round(hours * 3600 / seconds))
    held_out = max(1, round(n / 12))
    ids = subject_ids(SyntheticConfig(n_subjects=n))
    folder = args.root / f"{hours:g}h"
    overrides = {
        "data.root": str(folder / "raw"), "data.synthetic.n_subjects": n, "data.synthetic.duration_s": seconds,
        "data.synthetic.sampling_rate": 250, "data.modalities": ["ECG", "PPG", "RESP", "ABP"],
        "data.splits": {"train": ids[:n - 2 * held_out], "val": ids[n - 2 * held_out:n - held_out],
                        "test": ids[n - held_out:]},
        "preprocessing.target_rate": 125, "preprocessing.window_seconds": 8, "preprocessing.stride_seconds": 2,
        "paths.processed": str(folder / "processed"), "paths.runs": str(folder / "runs"),
        "training.epochs": 1, "training.device": "cpu", "tracking.run_name": "bench",
    }
    overrides.update(parse_override(text) for text in args.overrides)
    return load_params(overrides=overrides)


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (0 when missing; files vanishing meanwhile are skipped)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:
            continue
    return total


class FolderPeak:
    """Largest size a folder reached, sampled every ``interval`` seconds in a background thread."""

    def __init__(self, folder: Path, interval: float = 0.25) -> None:
        self.folder, self.interval, self.peak = folder, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, folder_bytes(self.folder))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, folder_bytes(self.folder))


def split_files(params: Params) -> dict[str, Path]:
    """The prepared cache's index file per split."""
    folder = params.resolve_path(params.paths.processed) / params.digest("data", "preprocessing")
    return {split: folder / f"{split}.npz" for split in params.data.splits if params.data.splits[split]}


def run_phase(phase: str, params: Params) -> dict[str, Any]:
    """One phase in this process; what it measured (its peak resident memory is added by the caller)."""
    began = time.perf_counter()
    if phase == "cohort":
        available_subjects(params)  # writes the cohort when absent
        return {"seconds": time.perf_counter() - began, "raw_bytes": folder_bytes(Path(params.data.root))}
    if phase == "prepare":
        with FolderPeak(params.resolve_path(params.paths.processed)) as disk:
            sets = prepare(params, progress=False)
        return {"seconds": time.perf_counter() - began, "windows": {s: len(w) for s, w in sets.items()},
                "cache_bytes": folder_bytes(params.resolve_path(params.paths.processed)), "cache_peak_bytes": disk.peak}
    if phase == "batches":
        return batch_seconds(params)
    from mimo_lib.training.trainer import train

    sets = prepare(params, progress=False)
    if phase == "train-memory":
        sets = {split: WindowSet.load(path, mmap=False) for split, path in split_files(params).items()}
    result = train(params, sets, progress=False)
    return {"seconds": time.perf_counter() - began, "train_seconds": result.train_seconds,
            "windows_per_second": result.windows_per_second, "train_windows": len(sets["train"]),
            "train_loss": float(result.history["train_loss"].iloc[-1])}


def batch_seconds(params: Params, batches: int = 300) -> dict[str, Any]:
    """Mean seconds to assemble one training batch from memory and from the memory-mapped file."""
    import torch

    from mimo_lib.training.batches import batch_source

    mapped = prepare(params, progress=False)["train"]
    whole = WindowSet.load(split_files(params)["train"], mmap=False)
    order = torch.randperm(len(mapped), generator=torch.Generator().manual_seed(0))
    indices = torch.split(order, params.training.batch_size)[:batches]
    timings = {}
    for name, windows in (("memory", whole), ("disk", mapped)):
        source = batch_source(windows, torch.device("cpu"))
        began = time.perf_counter()
        for batch in indices:
            source.take(batch)
        timings[f"{name}_batch_seconds"] = (time.perf_counter() - began) / len(indices)
    return timings


def child(phase: str, hours: float, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``phase`` in a fresh process; its result with the process's peak resident memory."""
    command = [sys.executable, __file__, "--phase", phase, "--hours", f"{hours:g}", "--root", str(args.root),
               "--subject-minutes", f"{args.subject_minutes:g}", *(f"--set={o}" for o in args.overrides)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} at {hours:g} h failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith(RESULT))
    return json.loads(line[len(RESULT):])


def measure(hours: float, args: argparse.Namespace, compare: bool) -> dict[str, Any]:
    """Every phase at one cohort size, printed as it finishes."""
    row: dict[str, Any] = {"hours": hours, "subjects": cohort_params(hours, args).data.synthetic.n_subjects}
    for phase in ("cohort", "prepare", "train"):
        row[phase] = child(phase, hours, args)
        print(f"  {hours:g} h {phase}: {json.dumps(row[phase])}", flush=True)
    if compare:
        disk, memory = [row["train"]], []
        for repeat in range(args.memory_repeats):
            memory.append(child("train-memory", hours, args))
            print(f"  {hours:g} h train in memory: {json.dumps(memory[-1])}", flush=True)
            if repeat + 1 < args.memory_repeats:
                disk.append(child("train", hours, args))
                print(f"  {hours:g} h train: {json.dumps(disk[-1])}", flush=True)
        row["train_runs"], row["memory_runs"] = disk, memory
        row["batches"] = child("batches", hours, args)
        print(f"  {hours:g} h batch assembly: {json.dumps(row['batches'])}", flush=True)
    return row


def print_tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    first = rows[0]
    print(f"\n## Cohorts of {args.subject_minutes:g}-minute subjects, 4 signals at 250 Hz -> 125 Hz, 8 s windows "
          "every 2 s; default model, one epoch, batch 32\n")
    print("| cohort | subjects | windows train / val / test | raw CSV GB | prepared GB (peak while preparing) "
          "| write cohort s | prepare s | prepare peak RSS GB | train epoch s | train windows/s | train peak RSS GB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        prep, tr = row["prepare"], row["train"]
        windows = " / ".join(str(prep["windows"].get(s, 0)) for s in ("train", "val", "test"))
        print(f"| {row['hours']:g} h | {row['subjects']} | {windows} | {row['cohort']['raw_bytes'] / GB:.2f} "
              f"| {prep['cache_bytes'] / GB:.2f} ({prep['cache_peak_bytes'] / GB:.2f}) | {row['cohort']['seconds']:.0f} "
              f"| {prep['seconds']:.0f} | {prep['peak_rss'] / GB:.2f} | {tr['train_seconds']:.0f} "
              f"| {tr['windows_per_second']:.1f} | {tr['peak_rss'] / GB:.2f} |")
    for row in rows[1:]:
        print(f"\n{row['hours']:g} h against {first['hours']:g} h: prepare peak "
              f"{row['prepare']['peak_rss'] / first['prepare']['peak_rss']:.2f}x, training peak "
              f"{row['train']['peak_rss'] / first['train']['peak_rss']:.2f}x")
    if "memory_runs" in first:
        disk = [run["windows_per_second"] for run in first["train_runs"]]
        memory = [run["windows_per_second"] for run in first["memory_runs"]]
        batches = first["batches"]
        print(f"\nTraining at {first['hours']:g} h, memory-mapped vs in memory: windows/s "
              f"{', '.join(f'{v:.1f}' for v in disk)} vs {', '.join(f'{v:.1f}' for v in memory)} "
              f"(ratio of medians {np.median(disk) / np.median(memory):.3f}); peak RSS "
              f"{first['train']['peak_rss'] / GB:.2f} vs {first['memory_runs'][0]['peak_rss'] / GB:.2f} GB; "
              f"one batch assembled in {batches['disk_batch_seconds'] * 1e3:.2f} ms from the file vs "
              f"{batches['memory_batch_seconds'] * 1e3:.2f} ms in memory")


def main() -> None:
    args = parse_args()
    if args.phase:
        (hours,) = args.hours
        result = run_phase(args.phase, cohort_params(hours, args))
        result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(RESULT + json.dumps(result))
        return
    rows = []
    for index, hours in enumerate(args.hours):
        print(f"{hours:g} h cohort under {args.root / f'{hours:g}h'}", flush=True)
        try:
            rows.append(measure(hours, args, compare=index == 0))
        finally:
            if not args.keep:
                shutil.rmtree(args.root / f"{hours:g}h", ignore_errors=True)
    print_tables(rows, args)


if __name__ == "__main__":
    main()
