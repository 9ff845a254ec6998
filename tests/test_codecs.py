"""Codes with an exact size: bit fields, subset ranks, quantisers, latent and transform codecs, compression ratios."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from scipy import fft

from mimo_lib.evaluation.codecs.bits import (
    SubsetRank,
    bits_int,
    bits_uint,
    int_bits,
    pack_records,
    subset_bits,
    uint_bits,
    unpack_records,
)
from mimo_lib.evaluation.codecs.latent import LatentCode, encode_latent
from mimo_lib.evaluation.codecs.quantize import UniformQuantizer, allocate_depths, check_bits
from mimo_lib.evaluation.codecs.rate import score_code
from mimo_lib.evaluation.codecs.transform import TransformCodec


def test_fields_pack_into_whole_bytes_and_back():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2**5, (7, 3))
    wide = [int(v) << 70 | 12345 for v in rng.integers(1, 1000, 7)]
    records = pack_records([uint_bits(small, 5), int_bits(wide, 81)])
    assert records.shape == (7, math.ceil((15 + 81) / 8))
    first, second = unpack_records(records, [15, 81])
    np.testing.assert_array_equal(bits_uint(first.reshape(7, 3, 5)), small)
    assert bits_int(second) == wide


def test_fields_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="does not fit in 4 bits"):
        uint_bits(np.array([16]), 4)
    with pytest.raises(ValueError, match="does not fit in 3 unsigned bits"):
        int_bits([8], 3)


def test_subset_ranks_number_every_subset_once():
    n, k = 7, 3
    coder = SubsetRank(n)
    subsets = np.array(list(combinations(range(n), k)))
    ranks = coder.rank(subsets[:, ::-1])  # any order within a row
    assert sorted(ranks) == list(range(math.comb(n, k)))
    np.testing.assert_array_equal(coder.unrank(ranks, k), subsets)
    assert subset_bits(n, k) == 6  # C(7, 3) = 35 ranks need 6 bits
    assert subset_bits(1000, 0) == subset_bits(1000, 1000) == 0


def test_quantise_then_dequantise_is_within_half_a_step():
    rng = np.random.default_rng(1)
    values = rng.normal(0, [1.0, 5.0, 0.1], (500, 3))
    for bits in (2, 4, 8, 12):
        quantizer = UniformQuantizer.fit(values, bits)
        error = np.abs(quantizer.dequantize(quantizer.quantize(values)) - values)
        assert np.all(error <= quantizer.step / 2 * (1 + 1e-5) + 1e-6)
        assert quantizer.quantize(values).max() == 2**bits - 1


def test_quantiser_clips_outside_its_range_and_keeps_a_constant_dimension():
    quantizer = UniformQuantizer(np.array([0.0, 2.0]), np.array([1.0, 2.0]), 4)
    np.testing.assert_allclose(quantizer.dequantize(quantizer.quantize(np.array([[-3.0, 2.0], [9.0, 2.0]]))),
                               [[0.0, 2.0], [1.0, 2.0]])


@pytest.mark.parametrize("bits", [1, 13, 24])
def test_bits_outside_the_formats_are_refused(bits):
    with pytest.raises(ValueError, match="16 \\(float16\\) or 32 \\(float32\\)"):
        check_bits(bits)


@pytest.mark.parametrize(("bits", "record_bytes", "table_bits"), [(5, 19, 640), (16, 32, 0), (32, 52, 0)])
def test_latent_code_size_is_exact(bits, record_bytes, table_bits):
    rng = np.random.default_rng(2)
    latent, mean, std = rng.normal(size=(4, 10)), rng.normal(size=(4, 3)), rng.uniform(0.5, 2, (4, 3))
    code = encode_latent(latent, mean, std, bits)
    # 10 numbers of `bits` bits + 3 modalities x (mean, std) x 16 bits, in whole bytes; ranges: 2 float32 per number
    assert code.records.shape == (4, record_bytes)
    assert code.n_bits == 8 * 4 * record_bytes + table_bits
    values, mean16, std16 = code.decode()
    np.testing.assert_array_equal(mean16, mean.astype(np.float16))
    np.testing.assert_array_equal(std16, std.astype(np.float16))
    if code.quantizer is not None:
        assert np.all(np.abs(values - latent) <= code.quantizer.step / 2 * (1 + 1e-5) + 1e-6)
    else:
        np.testing.assert_allclose(values, latent, rtol=1e-3)


def test_latent_code_with_a_calibrated_quantiser_and_a_bad_scale():
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(5, 4))
    quantizer = UniformQuantizer.fit(rng.normal(size=(100, 4)), 6)
    code = encode_latent(latent, np.zeros((5, 1)), np.ones((5, 1)), 6, quantizer)
    assert code.quantizer is quantizer and code.table_bits == 4 * 64
    with pytest.raises(ValueError, match="not finite as float16"):
        encode_latent(latent, np.full((5, 1), 1e6), np.ones((5, 1)), 6)
    with pytest.raises(ValueError, match="records must be"):
        LatentCode(code.records[:, :-1], 6, 4, 1, quantizer)


def test_depths_go_where_the_weight_is_and_spend_the_budget_exactly():
    # a dimension 16 times heavier earns two more bits (each bit cuts the error about fourfold); weightless stays at 2
    np.testing.assert_array_equal(allocate_depths(np.array([1.0, 16.0, 256.0, 0.0]), 20), [4, 6, 8, 2])
    assert allocate_depths(np.random.default_rng(4).uniform(0, 5, 37), 200).sum() == 200
    with pytest.raises(ValueError, match="7 bits cannot give 4 dimensions 2-12 bits each"):
        allocate_depths(np.ones(4), 7)
    with pytest.raises(ValueError, match="cannot give 4 dimensions"):
        allocate_depths(np.ones(4), 49)


def test_latent_code_with_a_depth_per_dimension_is_exact_and_within_half_a_step():
    rng = np.random.default_rng(5)
    latent, mean, std = rng.normal(0, [1, 3, 0.2, 2, 1], (6, 5)), rng.normal(size=(6, 2)), np.ones((6, 2))
    depths = np.array([2, 7, 12, 5, 3])
    code = encode_latent(latent, mean, std, depths)
    # 29 latent bits + 2 modalities x (mean, std) x 16 bits = 93 bits -> 12 bytes; table: ranges and a 4-bit depth each
    assert code.bits is None and code.records.shape == (6, 12) and code.mean_bits == 29 / 5
    assert code.n_bits == 8 * 6 * 12 + 5 * (64 + 4)
    values = code.decode()[0]
    np.testing.assert_array_equal(code.quantizer.depths, depths)
    assert np.all(np.abs(values - latent) <= code.quantizer.step / 2 * (1 + 1e-5) + 1e-6)
    assert np.abs(values - latent)[:, 2].max() < np.abs(values - latent)[:, 0].max()
    with pytest.raises(ValueError, match="per-dimension depths must be 5 integers of 1-12 bits"):
        encode_latent(latent, mean, std, np.array([2, 7, 13, 5, 3]))


def test_dct_codec_size_and_a_sparse_signal_back_exactly():
    length, n = 64, 3
    basis = fft.idct(np.eye(length)[[0, 5]], norm="ortho", axis=-1)
    signal = 2.5 + np.array([[3.0], [-1.0], [0.5]]) * basis[1]  # a mean plus one DCT coefficient
    codec = TransformCodec("dct", length, keep=5, bits=6)
    # mean + scale (2 x 16 bits), rank of 5 positions among 64 (ceil(log2 C(64, 5)) = 23 bits), 5 x 6 bits = 85 bits
    assert codec.rank_bits == 23 and codec.payload_bits == 85 and codec.record_bits == 88
    records = codec.encode(signal)
    assert records.shape == (n, 11)
    decoded = codec.decode(records)
    # the one coefficient is the scale itself, so only float16 rounding of the mean and the scale remains
    np.testing.assert_allclose(decoded, signal, atol=2e-3 * np.abs(signal).max())


@pytest.mark.parametrize("transform", ["wavelet", "dct"])
@pytest.mark.parametrize("length", [64, 100, 1000])
def test_all_coefficients_in_float32_give_the_signal_back(transform, length):
    signal = np.cumsum(np.random.default_rng(4).normal(size=(3, length)), axis=1) + 7.0
    codec = TransformCodec(transform, length, keep=TransformCodec(transform, length, 0, 32).n_coefficients, bits=32)
    assert codec.rank_bits == 0
    records = codec.encode(signal)
    assert records.shape == (3, (32 + 32 * codec.n_coefficients) // 8)
    np.testing.assert_allclose(codec.decode(records), signal, atol=1e-5 * np.abs(signal).max())


def test_quantised_coefficients_err_by_at_most_half_a_step():
    signal = np.random.default_rng(5).normal(size=(4, 128))
    for bits in (3, 8):
        codec = TransformCodec("wavelet", 128, keep=128, bits=bits, wavelet="sym4")  # orthogonal
        coefficients = codec.forward(signal - signal.mean(axis=1, keepdims=True).astype(np.float16))
        step = np.abs(coefficients).max(axis=1) / (2 ** (bits - 1) - 1)
        error = codec.forward(codec.decode(codec.encode(signal)) - signal)  # orthonormal: coefficient errors
        assert np.all(np.abs(error).max(axis=1) <= step / 2 * 1.01 + 1e-3)


def test_codec_within_a_budget_keeps_the_most_coefficients_that_fit():
    codec = TransformCodec.within("wavelet", 1000, 600, 6)
    assert codec.record_bits <= 600
    bigger = TransformCodec("wavelet", 1000, codec.keep + 1, 6)
    assert bigger.record_bits > 600
    assert TransformCodec.within("dct", 1000, 24, 6) is None  # not even the mean and the scale fit


def test_unknown_transform_or_wavelet_is_refused():
    with pytest.raises(ValueError, match="unknown transform"):
        TransformCodec("fft", 64, 4, 8)
    with pytest.raises(ValueError, match="unknown discrete wavelet"):
        TransformCodec("wavelet", 64, 4, 8, wavelet="morl")


def test_compression_ratio_counts_the_recordings_own_bits():
    rng = np.random.default_rng(6)
    original = rng.normal(size=(2, 2, 10))
    reconstruction = original + 0.1 * rng.normal(size=original.shape)
    rows = score_code(original, reconstruction, code_bits=88, sample_bits=[12, 10], rate=5.0, modalities=["A", "B"],
                      modality_bits=[48, 40], method="x")
    a, b, total = rows
    assert (a["modality"], b["modality"], total["modality"]) == ("A", "B", "mean")
    assert a["cr"] == pytest.approx(2 * 10 * 12 / 48) and b["cr"] == pytest.approx(2 * 10 * 10 / 40)
    assert total["cr"] == pytest.approx(2 * 10 * 22 / 88)
    assert a["cr_total"] == b["cr_total"] == total["cr"]
    assert total["bits_per_window"] == 44 and total["bits_per_second"] == pytest.approx(88 / 4.0)
    assert total["qs"] == pytest.approx(total["cr"] / total["prd"])
    assert total["prd"] == pytest.approx((a["prd"] + b["prd"]) / 2) and total["method"] == "x"
