"""Codes with an exact size in bits: quantised latents, wavelet and DCT codecs, and their compression ratios.

- :mod:`~mimo_lib.evaluation.codecs.bits`: bit fields packed into whole bytes, subsets of positions as one rank;
- :mod:`~mimo_lib.evaluation.codecs.quantize`: uniform quantisers and float16/float32 formats;
- :mod:`~mimo_lib.evaluation.codecs.latent`: latent vectors plus each window's scale, one record per window;
- :mod:`~mimo_lib.evaluation.codecs.transform`: the largest wavelet or DCT coefficients per window and signal;
- :mod:`~mimo_lib.evaluation.codecs.rate`: compression ratio, bits per second and quality score beside PRDN.
"""

from mimo_lib.evaluation.codecs.latent import LatentCode, encode_latent
from mimo_lib.evaluation.codecs.quantize import UniformQuantizer, check_bits
from mimo_lib.evaluation.codecs.rate import score_code
from mimo_lib.evaluation.codecs.transform import TransformCodec

__all__ = ["LatentCode", "TransformCodec", "UniformQuantizer", "check_bits", "encode_latent", "score_code"]
