"""How many CPU threads a training process uses, and a hint when the cores are already busy.

Oversubscribed cores cost more than they give: two training processes at two
threads each on two cores run each step about twice as slowly as at one thread.
"""

from __future__ import annotations

import os

import torch


def training_threads(requested: int | None, processes_here: int = 1) -> int:
    """``requested`` when given; else ``OMP_NUM_THREADS`` when set; else the cores shared by the processes here."""
    if requested is not None:
        return requested
    from_env = os.environ.get("OMP_NUM_THREADS", "")
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return max(1, (os.cpu_count() or 1) // max(1, processes_here))


def busy_cores_hint(threads: int) -> str | None:
    """A one-line hint when the 1-minute load average says other work already keeps the cores busy."""
    if not hasattr(os, "getloadavg"):
        return None
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    if load + threads <= cores + 0.5:
        return None
    return (f"note: the CPU is already busy (load average {load:.1f} on {cores} cores); training with {threads} "
            f"thread(s) will be slower. Stop other work, or set training.threads to fit the cores left.")


def use_threads(threads: int) -> None:
    """Set torch's intra-op threads for this process."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
