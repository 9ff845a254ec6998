"""Stitching overlapping windows back into whole recordings."""

from __future__ import annotations

import numpy as np
import pytest

from mimo_lib.data.stitching import count_uncovered, stitch, taper_weights, window_starts_to_samples

RATE = 125.0


def cut(signals: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """``(N, M, window)`` copies of ``(M, n)`` signals starting at ``starts``."""
    return np.stack([signals[:, s : s + window] for s in starts])


@pytest.mark.parametrize("taper", ["hann", "boxcar"])
def test_stitching_cut_windows_gives_back_the_signal_where_covered(taper):
    rng = np.random.default_rng(0)
    signals = rng.normal(size=(2, 1000))
    window = 100
    # overlapping run, a gap (500..549 uncovered), a lone window, then an uncovered tail (900..999)
    starts = np.array([0, 50, 100, 150, 200, 250, 300, 350, 400, 550, 650, 750, 800])
    stitched = stitch(cut(signals, starts, window), starts, 1000, taper=taper)
    covered = np.zeros(1000, dtype=bool)
    for s in starts:
        covered[s : s + window] = True
    assert stitched.shape == (2, 1000) and stitched.dtype == np.float64
    np.testing.assert_allclose(stitched[:, covered], signals[:, covered], rtol=0, atol=1e-12)
    assert np.isnan(stitched[:, ~covered]).all()
    np.testing.assert_array_equal(count_uncovered(stitched), [50 + 100, 50 + 100])


def test_nan_inside_a_window_is_not_coverage():
    signals = np.arange(40.0)[None]
    windows = cut(signals, np.array([0, 10]), 20)
    windows[0, 0, 12] = np.nan  # sample 12 is still covered by the second window
    windows[0, 0, 3] = np.nan  # sample 3 is covered by the first window only
    stitched = stitch(windows, np.array([0, 10]), 40)
    assert stitched[0, 12] == pytest.approx(12.0)
    assert np.isnan(stitched[0, 3])
    assert count_uncovered(stitched)[0] == 1 + 10


def test_hann_taper_is_strictly_positive_and_sums_to_one_at_half_overlap():
    weights = taper_weights(1000)
    assert weights.min() > 0
    np.testing.assert_allclose(weights[:500] + weights[500:], 1.0)


def edge_heavy_error(n_windows: int, window: int, rng: np.random.Generator, rate: float) -> np.ndarray:
    """White error whose size grows towards both window edges (1x mid-window, 5x at the edge)."""
    distance_s = np.minimum(np.arange(window), np.arange(window)[::-1]) / rate
    profile = 1.0 + 4.0 * np.exp(-distance_s / 0.3)
    return rng.normal(size=(n_windows, 1, window)) * profile


def band_rms(error: np.ndarray, centres: np.ndarray, half_width: int) -> float:
    """RMS of ``error`` over ``centres ± half_width`` samples."""
    index = (centres[:, None] + np.arange(-half_width, half_width + 1)).ravel()
    return float(np.sqrt(np.mean(error[index] ** 2)))


@pytest.mark.parametrize("stride_s", [4.0, 6.0])
def test_tapered_stitching_has_no_join_artefact_but_untapered_joins_do(stride_s):
    rng = np.random.default_rng(1)
    window, stride, n_samples = int(8.0 * RATE), int(stride_s * RATE), int(480 * RATE)
    truth = np.sin(2 * np.pi * 0.25 * np.arange(n_samples) / RATE)[None]
    half_width = int(0.25 * RATE)

    starts = np.arange(0, n_samples - window + 1, stride)
    error = edge_heavy_error(len(starts), window, rng, RATE)
    windows = cut(truth, starts, window) + error
    # Mid-window error: each window's own error around its centre, before stitching.
    centre = np.arange(window // 2 - half_width, window // 2 + half_width + 1)
    mid = float(np.sqrt(np.mean(error[:, 0, centre] ** 2)))
    # Joins: every place inside the recording where a window starts or ends.
    joins = np.union1d(starts[1:], starts[:-1] + window)

    tapered = stitch(windows, starts, n_samples)[0] - truth[0]
    averaged = stitch(windows, starts, n_samples, taper="boxcar")[0] - truth[0]
    # Concatenation: non-overlapping windows laid end to end, the same error model.
    blocks = np.arange(0, n_samples - window + 1, window)
    laid = cut(truth, blocks, window) + edge_heavy_error(len(blocks), window, rng, RATE)
    concatenated = stitch(laid, blocks, n_samples)[0] - truth[0]

    assert band_rms(tapered, joins, half_width) <= 1.1 * mid
    assert band_rms(averaged, joins, half_width) > 1.3 * mid
    assert band_rms(concatenated, blocks[1:], half_width) > 1.5 * mid


def test_window_starts_to_samples_rounds_and_rejects_fractions():
    np.testing.assert_array_equal(window_starts_to_samples([0.0, 4.0, 8.000000001], 125.0), [0, 500, 1000])
    assert window_starts_to_samples(np.array([0.0, 4.0]), 125.0).dtype == np.int64
    with pytest.raises(ValueError, match="not a whole sample"):
        window_starts_to_samples([0.0, 0.01], 125.0)
    with pytest.raises(ValueError, match="rate"):
        window_starts_to_samples([0.0], 0.0)


def test_stitch_rejects_bad_shapes_and_starts():
    windows = np.zeros((3, 2, 10))
    with pytest.raises(ValueError, match=r"\(N, M, T\)"):
        stitch(np.zeros((3, 10)), np.arange(3), 30)
    with pytest.raises(ValueError, match="one per window"):
        stitch(windows, np.arange(2), 30)
    with pytest.raises(TypeError, match="integer sample offsets"):
        stitch(windows, np.array([0.0, 10.0, 20.0]), 30)
    with pytest.raises(ValueError, match="window 2 .* outside the recording"):
        stitch(windows, np.array([0, 10, 25]), 30)
    with pytest.raises(ValueError, match="unknown taper"):
        stitch(windows, np.array([0, 10, 20]), 30, taper="tukey")
    with pytest.raises(ValueError, match="strictly positive"):
        stitch(windows, np.array([0, 10, 20]), 30, taper=np.r_[0.0, np.ones(9)])
