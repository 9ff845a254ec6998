"""Where the trainer's batches come from: a split held on the device, or rows read from its file.

Both sources give the same float32 rows for the same indices, so a seeded run
trains on identical batches either way:

- :class:`DeviceWindows` (a split whose windows are in memory) copies the split to
  the device once and gathers every batch there;
- :class:`FileWindows` (a split memory-mapped from the prepare cache) reads each
  batch's rows from the file (:func:`mimo_lib.data.rows.read_rows`) and moves only
  them to the device, so memory holds a batch, not the split.
"""

from __future__ import annotations

import numpy as np
import torch

from mimo_lib.data.rows import backing_file, read_rows, read_span
from mimo_lib.data.types import WindowSet


class DeviceWindows:
    """A whole split as one float32 tensor on the device."""

    def __init__(self, windows: np.ndarray, device: torch.device) -> None:
        self.tensor = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)).to(device)

    def __len__(self) -> int:
        return len(self.tensor)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        """Rows ``indices`` (any order)."""
        return self.tensor[indices.to(self.tensor.device)]

    def span(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop``."""
        return self.tensor[start:stop]


class FileWindows:
    """A memory-mapped split whose rows are read from its file per batch."""

    def __init__(self, windows: np.ndarray, device: torch.device) -> None:
        self.windows, self.device = windows, device

    def __len__(self) -> int:
        return len(self.windows)

    def _tensor(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(rows.astype(np.float32, copy=False)).to(self.device)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        """Rows ``indices`` (any order)."""
        return self._tensor(read_rows(self.windows, indices.cpu().numpy()))

    def span(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop``."""
        return self._tensor(read_span(self.windows, start, stop))


def batch_source(windows: WindowSet, device: torch.device) -> DeviceWindows | FileWindows:
    """:class:`FileWindows` for a set memory-mapped from its file, else :class:`DeviceWindows`."""
    if backing_file(windows.windows) is not None:
        return FileWindows(windows.windows, device)
    return DeviceWindows(windows.windows, device)
