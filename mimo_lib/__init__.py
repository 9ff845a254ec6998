"""MiMo-AE: a multimodal autoencoder workbook for physiological signals."""

from mimo_lib.config import Params, ParamsError, load_params
from mimo_lib.types import Recording, WindowSet

__all__ = ["Params", "ParamsError", "Recording", "WindowSet", "load_params"]
__version__ = "0.1.0"
