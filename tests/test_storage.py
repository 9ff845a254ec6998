"""Prepared windows on disk: atomic files, streamed .npy arrays, row readers, memory-mapped WindowSets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import sine_windows

from mimo_lib.data.rows import backing_file, read_rows, read_span, row_chunks
from mimo_lib.data.storage import atomic_file, open_npy, remove_temporary_files, write_npy
from mimo_lib.data.types import WindowSet, windows_path
from mimo_lib.training.batches import DeviceWindows, FileWindows, batch_source
from mimo_lib.training.distributed import Topology, global_batches, shard, shard_bounds


@pytest.fixture
def saved(tmp_path):
    """Sine windows in memory and the same windows saved and memory-mapped back."""
    memory = sine_windows(50, 0)
    memory.save(tmp_path / "train.npz")
    return memory, WindowSet.load(tmp_path / "train.npz")


def test_atomic_file_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]
    with atomic_file(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"


def test_temporary_files_of_killed_writers_are_removed(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".S01.npz.x1.tmp").write_bytes(b"half")
    (tmp_path / "sub" / "S02.npz").write_bytes(b"done")
    remove_temporary_files(tmp_path)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["S02.npz"]


def test_npy_written_in_chunks_reads_back_whole(tmp_path):
    array = np.arange(7 * 2 * 3, dtype=np.float32).reshape(7, 2, 3)
    path = write_npy(tmp_path / "x.npy", array.shape, [array[:3], array[3:3], array[3:]])
    np.testing.assert_array_equal(np.load(path), array)
    mapped = open_npy(path)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    with pytest.raises(ValueError, match="6 rows written for an array of 7"):
        write_npy(tmp_path / "y.npy", array.shape, [array[:6]])
    with pytest.raises(ValueError, match=r"rows shaped \(2, 4\)"):
        write_npy(tmp_path / "y.npy", array.shape, [np.zeros((7, 2, 4))])
    assert not (tmp_path / "y.npy").exists()


def test_windowset_saves_windows_beside_its_index_and_maps_them_back(tmp_path, saved):
    memory, mapped = saved
    assert windows_path(tmp_path / "train.npz") == tmp_path / "train.windows.npy"
    assert isinstance(mapped.windows, np.memmap) and backing_file(mapped.windows) is not None
    np.testing.assert_array_equal(mapped.windows, memory.windows)
    np.testing.assert_array_equal(mapped.subjects, memory.subjects)
    np.testing.assert_array_equal(mapped.normalization["std"], memory.normalization["std"])
    whole = WindowSet.load(tmp_path / "train.npz", mmap=False)
    assert not isinstance(whole.windows, np.memmap)
    np.testing.assert_array_equal(whole.windows, memory.windows)
    (tmp_path / "train.windows.npy").unlink()
    with pytest.raises(ValueError, match=r"cannot read prepared windows from .*train\.npz.*train\.windows\.npy"):
        WindowSet.load(tmp_path / "train.npz")


def test_single_file_sets_still_load(tmp_path):
    memory = sine_windows(5, 0)
    np.savez(tmp_path / "old.npz", windows=memory.windows, subjects=memory.subjects, starts=memory.starts,
             norm_mean=memory.normalization["mean"], norm_std=memory.normalization["std"],
             meta=np.array('{"modalities": ["ECG", "PPG"], "rate": 25.0, "provenance": "", "dropped": {}, '
                           '"normalization_method": "window"}'))
    np.testing.assert_array_equal(WindowSet.load(tmp_path / "old.npz").windows, memory.windows)


def test_row_readers_match_indexing_on_files_and_in_memory(saved):
    memory, mapped = saved
    indices = np.array([7, 3, 4, 5, 49, 0, 3, 48])
    for windows in (memory.windows, mapped.windows):
        np.testing.assert_array_equal(read_rows(windows, indices), memory.windows[indices])
        np.testing.assert_array_equal(read_span(windows, 45, 60), memory.windows[45:])
        assert read_rows(windows, np.array([], dtype=int)).shape == (0, *memory.windows.shape[1:])
        chunks = list(row_chunks(windows, rows=16))
        assert [len(c) for c in chunks] == [16, 16, 16, 2]
        np.testing.assert_array_equal(np.concatenate(chunks), memory.windows)
        with pytest.raises(IndexError, match=r"\[0, 50\)"):
            read_rows(windows, np.array([50]))
    rows = read_rows(mapped.windows, indices)
    assert rows.flags.writeable and not isinstance(rows, np.memmap)
    assert backing_file(mapped.windows[1:]) is None  # a view of part of the file is indexed as an array
    np.testing.assert_array_equal(read_rows(mapped.windows[1:], np.array([0, 2])), memory.windows[[1, 3]])


def test_disk_backed_batches_equal_in_memory_batches_for_the_same_seed(saved):
    memory, mapped = saved
    in_memory, on_disk = batch_source(memory, torch.device("cpu")), batch_source(mapped, torch.device("cpu"))
    assert isinstance(in_memory, DeviceWindows) and isinstance(on_disk, FileWindows)
    assert len(in_memory) == len(on_disk) == 50
    orders = [torch.randperm(50, generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    for first, second in zip(global_batches(orders[0], 16, Topology()), global_batches(orders[1], 16, Topology()),
                             strict=True):
        a, b = in_memory.take(first), on_disk.take(second)
        assert a.dtype == b.dtype == torch.float32
        assert torch.equal(a, b)
    assert torch.equal(in_memory.span(40, 56), on_disk.span(40, 56))


@pytest.mark.parametrize(("count", "world"), [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_shard_bounds_split_like_tensor_split(count, world):
    items = torch.arange(count)
    for rank in range(world):
        topology = Topology(rank, world)
        start, stop = shard_bounds(count, topology)
        assert torch.equal(items[start:stop], torch.tensor_split(items, world)[rank])
        assert torch.equal(shard(items, topology), items[start:stop])
