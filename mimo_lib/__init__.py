"""MiMo-AE: a multimodal autoencoder workbook for physiological signals.

The package is organised by stage, each importing only from those before it:
``config`` (the shared root) -> ``data`` -> ``model`` -> ``training`` ->
``evaluation`` -> the workbook layer (``cli``, ``sweep`` with its ``grid`` and
``executors``, ``run``, ``coding``, ``reports``, ``plots``, ``explorer``, notebook helpers).
Importing the package registers the built-in recording sources and fusion
strategies, so params naming them validate.
"""

from mimo_lib import data, model  # noqa: F401  (registers the built-in sources and fusions)
from mimo_lib.config import Params, ParamsError, load_params
from mimo_lib.data.types import Recording, WindowSet

__all__ = ["Params", "ParamsError", "Recording", "WindowSet", "load_params"]
__version__ = "0.1.0"
