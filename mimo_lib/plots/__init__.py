"""Figures shown by the notebooks; each function returns a matplotlib Figure.

:func:`save_figure` writes a figure under the figures folder so notebooks and
batch runs leave the same files behind.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def save_figure(figure: Figure, folder: str | Path, name: str, dpi: int = 120) -> Path:
    """Save ``figure`` as ``folder/name.png`` (folders created) and return the path."""
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
