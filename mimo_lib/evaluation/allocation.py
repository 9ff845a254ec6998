"""Transform codecs with the bits split unevenly across modalities: per budget, the split with the lowest mean PRDN.

Each modality is coded on its own (:class:`~mimo_lib.evaluation.codecs.transform.TransformCodec`),
so a split's mean PRDN is the mean of each modality's PRDN at its share. Every
modality is scored at every share in a grid of bits per window (at its best
coefficient depth); the shares that fit a budget with the lowest PRDN sum lie on
the Pareto front of (bits, PRDN sum) built one modality at a time. The chosen
codecs then code the windows again and are scored as a whole
(:meth:`~mimo_lib.evaluation.rate_distortion.Target.score`). Shares and depths
are chosen on the scored windows, which favours these baselines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimo_lib.evaluation.codecs.transform import TransformCodec, decode_modalities, encode_modalities
from mimo_lib.evaluation.metrics import reconstruction_metrics
from mimo_lib.evaluation.rate_distortion import COEFFICIENT_BITS, Target

Option = tuple[int, float, tuple[TransformCodec, ...]]  # record bits per window, PRDN sum, codec per modality


def modality_options(target: Target, transform: str, shares: Sequence[float],
                     coefficient_bits: Sequence[int] = COEFFICIENT_BITS, wavelet: str = "bior4.4") -> list[list[Option]]:
    """Per modality: each distinct record size reachable within ``shares``, with the lowest-PRDN codec of that size."""
    options = []
    for index in range(len(target.windows.modalities)):
        signal = target.original[:, index]
        best: dict[int, tuple[float, TransformCodec]] = {}
        scored: set[tuple[int, int]] = set()
        for share in shares:
            for depth in coefficient_bits:
                codec = TransformCodec.within(transform, target.windows.window_length, share, depth, wavelet)
                if codec is None or (codec.keep, depth) in scored:
                    continue
                scored.add((codec.keep, depth))
                decoded = codec.decode(codec.encode(signal))
                prd = float(np.nanmean(reconstruction_metrics(signal[:, None], decoded[:, None])["prd"]))
                if codec.record_bits not in best or prd < best[codec.record_bits][0]:
                    best[codec.record_bits] = (prd, codec)
        options.append([(bits, prd, (codec,)) for bits, (prd, codec) in sorted(best.items())])
    return options


def pareto_front(options: list[list[Option]]) -> list[Option]:
    """Splits over all modalities whose PRDN sum no split with fewer or equal bits beats, by increasing bits."""
    front: list[Option] = [(0, 0.0, ())]
    for choices in options:
        merged = sorted((bits + b, prd + p, codecs + c) for bits, prd, codecs in front for b, p, c in choices)
        front = []
        for option in merged:
            if not front or option[1] < front[-1][1]:
                front.append(option)
    return front


def allocated_rows(target: Target, budgets: Sequence[float], transform: str, shares: Sequence[float],
                   coefficient_bits: Sequence[int] = COEFFICIENT_BITS, wavelet: str = "bior4.4") -> list[dict]:
    """``<transform>-alloc`` rows: each budget's best split, coded and scored; per-modality rows name their codec."""
    front = pareto_front(modality_options(target, transform, shares, coefficient_bits, wavelet))
    rows = []
    for budget in budgets:
        fitting = [option for option in front if option[0] <= budget]
        if not fitting:
            continue
        codecs = list(fitting[-1][2])
        records = encode_modalities(codecs, target.original)
        sizes = [8 * part.size for part in records]
        scored = target.score(decode_modalities(codecs, records), sum(sizes), sizes, method=f"{transform}-alloc",
                              budget=budget)
        for row, codec in zip(scored, codecs):
            row.update(bits=codec.bits, keep=codec.keep)
        rows += scored
    return rows
