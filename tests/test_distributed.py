"""Two CPU processes (gloo, DistributedDataParallel) train like one process with the same global batch."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers import sine_windows, tiny_params

from mimo_lib.training.checkpoint import load_checkpoint
from mimo_lib.training.distributed import Topology, global_batches, shard, topology_from_env
from mimo_lib.training.trainer import train

PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo is not available"
)

SPAWN_TIMEOUT_S = 300  # a stuck rendezvous fails the test instead of holding the suite

# batch 11 over 2 ranks gives slices of 6 and 5 and a last batch of 9 (5 + 4): uneven on purpose;
# fp32: the comparison checks the distributed arithmetic, not bf16 rounding of differently sliced batches.
# 4 latent steps and the basic block: with the tiny model's 2 steps, one process on 1 vs 2 threads already
# differs by 4.7e-3 in the epoch losses (rounding amplified by training), with the light block by 8e-4; with
# 4 steps and the basic block by 2e-7, so a tight bound means something.
OVERRIDES = {
    "training.bf16": False, "training.epochs": 2, "training.batch_size": 11, "training.random_crop": True,
    "training.modality_dropout": 0.3, "model.latent_steps": 4, "model.block": "basic",
    "training.corruption.probability": 0.5, "training.scheduler": "cosine", "training.checkpoint_every": 1,
}


def _sets():
    return {"train": sine_windows(64, 0), "val": sine_windows(15, 1, "V")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, tmp_path) -> None:
    """What torchrun does for each process: set the rendezvous variables, then run the ordinary entry point."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    result = train(tiny_params(tmp_path, **OVERRIDES), _sets(), run_dir=tmp_path / f"rank{rank}", progress=False)
    assert not dist.is_initialized(), "train() leaves no process group behind"
    result.history.to_csv(tmp_path / f"history_rank{rank}.csv", index=False)
    torch.save(result.model.state_dict(), tmp_path / f"weights_rank{rank}.pt")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One single-process run and one two-process run of the same params."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    single = train(tiny_params(tmp_path, **OVERRIDES), _sets(), run_dir=tmp_path / "single", progress=False)
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        processes = mp.spawn(_worker, args=(2, _free_port(), tmp_path), nprocs=2, join=False)
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        while not processes.join(timeout=5):  # raises as soon as a rank fails
            if time.monotonic() > deadline:
                for process in processes.processes:
                    process.terminate()
                pytest.fail(f"the two training processes did not finish within {SPAWN_TIMEOUT_S} s")
    finally:
        os.environ.pop("OMP_NUM_THREADS")
    return single, tmp_path


def test_two_processes_match_one_process(runs):
    single, tmp_path = runs
    history = pd.read_csv(tmp_path / "rank0" / "history.csv")
    expected = single.history.drop(columns="seconds")
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), expected, check_dtype=False, rtol=1e-4)
    # Adam turns float-rounding differences in near-zero gradients into visible weight changes; on this model
    # one process with 1 vs 2 threads already differs by ~2e-3 after two epochs, so the bound widens per epoch
    for epoch, atol in ((1, 1e-4), (2, 1e-3)):
        name = f"checkpoints/epoch_{epoch:03d}.pt"
        weights = load_checkpoint(tmp_path / "rank0" / name)["model_state"]
        expected_weights = load_checkpoint(single.run_dir / name)["model_state"]
        for key, value in expected_weights.items():
            assert torch.allclose(weights[key].double(), value.double(), rtol=1e-4, atol=atol), (epoch, key)


def test_every_rank_logs_the_reduced_metrics_but_only_rank_0_writes(runs):
    _, tmp_path = runs
    first = pd.read_csv(tmp_path / "history_rank0.csv")
    second = pd.read_csv(tmp_path / "history_rank1.csv")
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))
    assert not (tmp_path / "rank1").exists()
    assert (tmp_path / "rank0" / "checkpoints" / "best.pt").is_file()
    # rank 0 returns the best checkpoint's weights as a plain model
    best = load_checkpoint(tmp_path / "rank0" / "checkpoints" / "best.pt")["model_state"]
    returned = torch.load(tmp_path / "weights_rank0.pt", weights_only=True)
    for key, value in best.items():
        assert torch.equal(returned[key], value), key


def test_shard_splits_a_batch_into_disjoint_contiguous_slices():
    batch = torch.arange(11)
    parts = [shard(batch, Topology(rank, 2, rank)) for rank in range(2)]
    assert [part.tolist() for part in parts] == [list(range(6)), list(range(6, 11))]
    assert torch.equal(shard(batch, Topology()), batch)


def test_global_batches_leave_out_a_last_batch_smaller_than_the_world():
    order = torch.arange(23)
    assert [len(b) for b in global_batches(order, 11, Topology(0, 2, 0))] == [11, 11]  # 1 window < 2 ranks
    assert [len(b) for b in global_batches(order, 11, Topology())] == [11, 11, 1]
    assert torch.equal(torch.cat(global_batches(order, 10, Topology(1, 3, 1))), order)  # last batch of 3 kept


def test_topology_reads_torchrun_variables(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert topology_from_env() == Topology(3, 4, 1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match="RANK=4 is outside WORLD_SIZE=4"):
        topology_from_env()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not an integer"):
        topology_from_env()


@pytest.mark.slow
def test_mimo_train_under_torchrun_writes_one_run_and_reports_once(tmp_path):
    sets = [f"--set={key}={value}" for key, value in {
        "data.root": tmp_path / "raw", "paths.processed": tmp_path / "processed", "paths.runs": tmp_path / "runs",
        "training.device": "cpu", "training.epochs": 1}.items()]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
               "-m", "mimo_lib.cli", "train", "--params", str(PROJECT_ROOT / "params" / "smoke.yaml"), *sets,
               "--no-evaluate"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run folder:") == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert len(pd.read_csv(run_dir / "history.csv")) == 1
    assert (run_dir / "checkpoints" / "best.pt").is_file()
