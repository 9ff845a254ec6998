"""Checkpoints: weights plus everything needed to rebuild, resume and interpret a model.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it
loads with ``torch.load(path, weights_only=True)`` (no pickled code). Writes are
atomic: a temporary file in the same folder is renamed over the target.

Keys: ``format``, ``version``, ``epoch`` (completed epochs), ``model_state``,
``optimizer_state``, ``scheduler_state``, ``params_yaml`` (the resolved params),
``modalities``, ``window_length``, ``latent_dim``, ``normalization``,
``history`` (list of per-epoch rows), ``rng_state`` and ``extra`` (trainer state
such as early-stopping counters).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from mimo_lib.config import Params
from mimo_lib.model import MiMoAE, build_model

FORMAT = "mimo-ae-checkpoint"
VERSION = 1
REQUIRED_KEYS = ("format", "version", "epoch", "model_state", "params_yaml", "modalities", "window_length")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable or does not fit its model."""


def to_plain(value: Any) -> Any:
    """Recursively turn numpy arrays and scalars into tensors / Python numbers for weights-only loading."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def capture_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """The torch (CPU, CUDA), numpy and optional data-order generator states."""
    state = np.random.get_state(legacy=False)
    numpy_state = {
        "bit_generator": state["bit_generator"],
        "key": torch.from_numpy(state["state"]["key"].astype(np.int64)),
        "pos": int(state["state"]["pos"]),
        "has_gauss": int(state["has_gauss"]),
        "gauss": float(state["gauss"]),
    }
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": numpy_state}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        rng["generator"] = generator.get_state()
    return rng


def restore_rng_state(rng: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Undo :func:`capture_rng_state`."""
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    numpy_state = rng["numpy"]
    np.random.set_state({
        "bit_generator": numpy_state["bit_generator"],
        "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": numpy_state["pos"]},
        "has_gauss": numpy_state["has_gauss"],
        "gauss": numpy_state["gauss"],
    })
    if generator is not None and "generator" in rng:
        generator.set_state(rng["generator"])


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    epoch: int,
    params: Params,
    modalities: list[str],
    window_length: int,
    normalization: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    rng_state: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path.

    ``rng_state`` defaults to the current global RNG states (:func:`capture_rng_state`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "scheduler_state": scheduler.state_dict() if scheduler is not None else None,
        "params_yaml": yaml.safe_dump(params.to_dict(), sort_keys=False),
        "modalities": list(modalities),
        "window_length": int(window_length),
        "latent_dim": int(getattr(model, "latent_dim", params.model.latent_dim)),
        "normalization": to_plain(normalization or {}),
        "history": to_plain(history or []),
        "rng_state": rng_state if rng_state is not None else capture_rng_state(),
        "extra": to_plain(extra or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(content, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights only, no code execution)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
        raise CheckpointError(f"cannot read checkpoint {path} (truncated, corrupt or not a torch file): {error}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a MiMo-AE checkpoint (no format={FORMAT!r} marker)")
    missing = [key for key in REQUIRED_KEYS if key not in content]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks required key(s) {missing}")
    return content


def params_from_checkpoint(content: dict[str, Any]) -> Params:
    """The resolved params stored in a checkpoint."""
    return Params.model_validate(yaml.safe_load(content["params_yaml"]))


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[MiMoAE, Params, dict[str, Any]]:
    """Rebuild the model from a checkpoint's params and load its weights (eval mode).

    Returns ``(model, params, checkpoint)``.
    """
    content = load_checkpoint(path)
    params = params_from_checkpoint(content)
    model = build_model(params.model, list(content["modalities"]), int(content["window_length"]))
    expected = model.state_dict()
    state = content["model_state"]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        details = []
        if missing:
            details.append(f"missing {missing[:8]}{' …' if len(missing) > 8 else ''}")
        if unexpected:
            details.append(f"unexpected {unexpected[:8]}{' …' if len(unexpected) > 8 else ''}")
        if mismatched:
            shapes = [f"{k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in mismatched[:8]]
            details.append(f"shape mismatch {shapes}")
        raise CheckpointError(
            f"weights in {path} do not match the model built from its params: " + "; ".join(details)
        )
    model.load_state_dict(state)
    return model.to(device).eval(), params, content
