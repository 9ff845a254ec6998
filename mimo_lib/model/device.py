"""Pick the torch device a run uses."""

from __future__ import annotations

import torch

_NAMES = ("auto", "cpu", "cuda", "mps")


def select_device(name: str = "auto") -> torch.device:
    """``"auto"`` gives CUDA, then Apple MPS, then CPU; other names are checked for availability."""
    if name not in _NAMES:
        raise ValueError(f"device must be one of {list(_NAMES)}, got {name!r}")
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("training.device is 'cuda' but no CUDA device is available (use 'auto' or 'cpu')")
    if name == "mps" and not mps_ok:
        raise ValueError("training.device is 'mps' but Apple MPS is not available (use 'auto' or 'cpu')")
    return torch.device(name)


def bf16_autocast_available(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CUDA, or a CPU with native bf16 (AVX512-BF16 / AMX)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
