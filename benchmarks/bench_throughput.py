"""Training and inference throughput of MiMo-AE on this machine's CPU.

Compares the grouped model (all modality branches as one grouped convolution)
with the per-modality loop, in float32 and (where the CPU has native bf16) bf16
autocast, optionally under ``torch.compile``. A training step is forward +
hybrid loss + backward + AdamW. Variants are timed in interleaved rounds, so
load from other processes hits them alike; best and median are printed.

    .venv/bin/python benchmarks/bench_throughput.py --fusion concat --window-length 240 --batch-size 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from mimo_lib.config import LossConfig, ModelConfig
from mimo_lib.model import FUSIONS, MiMoAE, build_model
from mimo_lib.training.loss import HybridLoss


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fusion", default="concat", choices=sorted(FUSIONS))
    parser.add_argument("--bottleneck", default="temporal", choices=["flat", "temporal"])
    parser.add_argument("--block", default=ModelConfig().block, choices=["basic", "light"])
    parser.add_argument("--base-width", type=int, default=16)
    parser.add_argument("--stages", type=int, nargs="+", default=[2, 2, 2])
    parser.add_argument("--window-length", type=int, default=240)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--modalities", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd variants")
    parser.add_argument("--precision", choices=["fp32", "bf16", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant per round")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    return parser.parse_args()


def bf16_supported() -> bool:
    """Whether this CPU runs bf16 matmuls natively (AVX512-BF16 or AMX)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Best measured FLOP/s of one large ``torch.mm``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * size**3 / best


def model_config(args: argparse.Namespace, grouped: bool) -> ModelConfig:
    return ModelConfig(fusion=args.fusion, bottleneck=args.bottleneck, grouped=grouped, block=args.block,
                       base_width=args.base_width, stages=args.stages)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass
class Variant:
    """One model build with its training and inference step."""

    name: str
    model: MiMoAE
    train_step: Callable[[], float]
    infer_step: Callable[[], None]
    train_times: list[float]
    infer_times: list[float]


def make_variant(args: argparse.Namespace, grouped: bool, bf16: bool, compiled: bool, names: list[str]) -> Variant:
    torch.manual_seed(0)
    cfg = model_config(args, grouped)
    model = build_model(cfg, names, args.window_length)
    loss_fn = HybridLoss(LossConfig(), names)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    forward = torch.compile(model) if compiled else model
    x = torch.randn(args.batch_size, len(names), args.window_length)

    def train_step() -> float:
        model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = forward(x)
        loss = loss_fn(out.reconstruction, x).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    def infer_step() -> None:
        model.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            forward(x)

    name = f"{'grouped' if grouped else 'loop'} {'bf16' if bf16 else 'fp32'}{' compiled' if compiled else ''}"
    return Variant(name, model, train_step, infer_step, [], [])


def train_flops_per_window(args: argparse.Namespace, names: list[str]) -> float:
    """FLOPs of forward + backward for one window (convolutions, matmuls; counted by torch).

    Counted on the per-modality loop variant, which does the same arithmetic as the
    grouped one: FlopCounterMode's formula for a grouped convolution's backward
    ignores ``groups`` and would over-count it.
    """
    cfg = model_config(args, grouped=False)
    model = build_model(cfg, names, args.window_length)
    x = torch.randn(args.batch_size, len(names), args.window_length)
    counter = FlopCounterMode(display=False)
    with counter:
        HybridLoss(LossConfig(), names)(model(x).reconstruction, x).total.backward()
    return counter.get_total_flops() / args.batch_size


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    names = [f"m{i}" for i in range(args.modalities)]
    precisions = {"fp32": [False], "bf16": [True], "both": [False, True]}[args.precision]
    if True in precisions and not bf16_supported():
        print("this CPU has no native bf16: timing fp32 only")
        precisions = [False]
    flops = train_flops_per_window(args, names)
    peaks = {False: matmul_peak(torch.float32)}
    if True in precisions:
        peaks[True] = matmul_peak(torch.bfloat16)
    print(
        f"threads {args.threads}; {args.modalities} modalities x {args.window_length} samples, "
        f"batch {args.batch_size}, fusion {args.fusion}, bottleneck {args.bottleneck}, "
        f"block {args.block}, base width {args.base_width}, stages {args.stages}"
    )
    print(f"train FLOPs per window (forward + backward): {flops / 1e6:.1f} MFLOP")
    peak_text = ", ".join(f"{'bf16' if k else 'fp32'} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items())
    print(f"torch.mm 2048^2 peak: {peak_text}")

    variants = []
    for compiled in [False, True] if args.compile else [False]:
        for bf16 in precisions:
            for grouped in (True, False):
                variant = make_variant(args, grouped, bf16, compiled, names)
                warmup = _timed(lambda v=variant: [step() for step in [v.train_step, v.infer_step] * 3])
                print(f"  built {variant.name} (warm-up incl. compile {warmup:.1f} s)")
                variants.append((variant, bf16))

    for _ in range(args.rounds):
        for variant, _ in variants:
            variant.train_times += [_timed(variant.train_step) for _ in range(args.steps)]
            variant.infer_times += [_timed(variant.infer_step) for _ in range(args.steps)]
    # Every variant has now taken the same number of steps on the same batch from the
    # same seed: equal-layout fp32 and bf16 rows should reach about the same loss.
    final_loss = {variant.name: float(variant.train_step()) for variant, _ in variants}

    rows = []
    for variant, bf16 in variants:
        best_train = args.batch_size / min(variant.train_times)
        rows.append({
            "variant": variant.name,
            "train win/s best": round(best_train),
            "train win/s median": round(args.batch_size / statistics.median(variant.train_times)),
            "infer win/s best": round(args.batch_size / min(variant.infer_times)),
            "infer win/s median": round(args.batch_size / statistics.median(variant.infer_times)),
            "fraction of mm peak": round(flops * best_train / peaks[bf16], 3),
            "loss after training": round(final_loss[variant.name], 4),
        })
    print(pd.DataFrame(rows).to_string(index=False))
    print("fraction of mm peak: train FLOP/s at the best step time over the torch.mm peak of the same precision")


if __name__ == "__main__":
    main()
