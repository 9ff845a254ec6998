"""Inspect a MiMo-AE: torchinfo table, parameter counts per part, tensor shapes stage by stage."""

from __future__ import annotations

import pandas as pd
import torch
from torch import Tensor, nn
from torchinfo import summary

from mimo_lib.model.mimo_ae import MiMoAE


def _example(model: MiMoAE, batch_size: int) -> Tensor:
    device = next(model.parameters()).device
    return torch.randn(batch_size, len(model.modalities), model.window_length, device=device)


class _TupleOutput(nn.Module):
    """Runs encode + decode and returns a tuple (torchinfo cannot size a dataclass output)."""

    def __init__(self, model: MiMoAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        latent, weights = self.model.encode(x)
        return self.model.decode(latent), latent, weights


def summarize(model: MiMoAE, batch_size: int = 1) -> str:
    """torchinfo table of the model for a batch of ``batch_size`` windows (run in eval mode)."""
    was_training = model.training
    model.eval()
    try:
        stats = summary(
            _TupleOutput(model),
            input_data=[_example(model, batch_size)],
            depth=4,
            col_names=("output_size", "num_params"),
            verbose=0,
        )
    finally:
        model.train(was_training)
    return str(stats)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_counts(model: MiMoAE) -> dict[str, int]:
    """Trainable numbers per part: encoders, bottleneck, fusion, decoders, and the total."""
    counts = {
        "encoders": _count(model.encoder),
        "bottleneck": _count(model.bottleneck),
        "fusion": _count(model.fusion),
        "decoders": _count(model.decoder),
    }
    counts["total"] = _count(model)
    return counts


def _trace_points(model: MiMoAE) -> list[tuple[str, nn.Module]]:
    encoder, decoder = model.encoder.branches[0], model.decoder.branches[0]
    points: list[tuple[str, nn.Module]] = [("encoder stem", encoder.stem)]
    points += [(f"encoder stage {i}", stage) for i, stage in enumerate(encoder.stages)]
    points += [("encoder compress", encoder.compress), ("bottleneck tokens", model.bottleneck)]
    points += [("fusion", model.fusion), ("decoder shared expansion", model.decoder.shared)]
    points += [("decoder expand", decoder.expand)]
    n_stages = len(decoder.stages)
    for i, stage in enumerate(decoder.stages):
        points.append((f"decoder stage {n_stages - 1 - i}", stage))
        if i < len(decoder.ups):
            points.append((f"decoder upsample to stage {n_stages - 2 - i}", decoder.ups[i]))
    points.append(("decoder head", decoder.head))
    return points


def trace_shapes(model: MiMoAE, batch_size: int = 1) -> pd.DataFrame:
    """Shapes of the tensors leaving every stage, in order, for one batch.

    Columns: ``stage``, ``shape`` and ``layout``. Branch stages are shown for all
    modalities stacked as channels (``grouped``) or for one modality's branch
    (``per modality``) in the loop variant, as signals ``[B, C, L]`` (inside the
    branches they run as one-row images ``[B, C, 1, L]``).
    """
    branch_layout = "grouped" if model.config.grouped else "per modality"
    rows: list[dict[str, object]] = []
    hooks = []
    for name, module in _trace_points(model):
        layout = branch_layout if ("encoder" in name or "decoder" in name) and "shared" not in name else "all"

        def record(_module: nn.Module, _inputs: object, output: object, name: str = name, layout: str = layout) -> None:
            tensor = output[0] if isinstance(output, tuple) else output
            if tensor.dim() == 4:  # a branch's one-row image [B, C, 1, L], shown as the signal [B, C, L]
                tensor = tensor.squeeze(2)
            rows.append({"stage": name, "shape": tuple(tensor.shape), "layout": layout})

        hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    x = _example(model, batch_size)
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    rows.insert(0, {"stage": "input", "shape": tuple(x.shape), "layout": "all"})
    fusion_at = next(i for i, row in enumerate(rows) if row["stage"] == "fusion")
    rows.insert(fusion_at + 1, {"stage": "latent", "shape": tuple(out.latent.shape), "layout": "all"})
    rows.append({"stage": "reconstruction", "shape": tuple(out.reconstruction.shape), "layout": "all"})
    return pd.DataFrame(rows)
