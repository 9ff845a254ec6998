"""The MiMo-AE model: encoders, fusion, bottleneck, decoders, and tools to inspect them."""

from mimo_lib.model.fusion import FUSIONS, Fusion, get_fusion, register_fusion
from mimo_lib.model.mimo_ae import AEOutput, MiMoAE, build_model
from mimo_lib.model.summary import parameter_counts, summarize, trace_shapes

__all__ = [
    "FUSIONS",
    "AEOutput",
    "Fusion",
    "MiMoAE",
    "build_model",
    "get_fusion",
    "parameter_counts",
    "register_fusion",
    "summarize",
    "trace_shapes",
]
