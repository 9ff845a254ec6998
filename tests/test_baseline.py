"""PCA baseline: exact at full rank, optimal-ish below, fitted on training windows only."""

import numpy as np
import pytest

from mimo_lib.evaluation.baselines import PCABaseline


def _windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2, 8)).astype(np.float32)


def test_full_rank_reconstructs_any_window_exactly():
    train, test = _windows(50), _windows(7, seed=1)
    pca = PCABaseline(16).fit(train)
    np.testing.assert_allclose(pca.reconstruct(test), test, atol=1e-5)
    np.testing.assert_allclose(pca.reconstruct(train), train, atol=1e-5)


def test_codes_have_the_requested_size_and_round_trip():
    train = _windows(40)
    pca = PCABaseline(3).fit(train)
    codes = pca.encode(train)
    assert codes.shape == (40, 3)
    np.testing.assert_allclose(pca.decode(codes), pca.reconstruct(train))


def test_low_rank_data_is_recovered_with_its_rank():
    rng = np.random.default_rng(3)
    basis = rng.standard_normal((2, 16))
    data = (rng.standard_normal((30, 2)) @ basis).reshape(30, 2, 8) + 5.0
    pca = PCABaseline(2).fit(data)
    np.testing.assert_allclose(pca.reconstruct(data), data, atol=1e-4)
    assert pca.explained_variance_ratio_.sum() == pytest.approx(1.0)


def test_more_components_never_reconstruct_worse():
    train, test = _windows(60), _windows(20, seed=4)
    errors = [np.mean((PCABaseline(k).fit(train).reconstruct(train) - train) ** 2) for k in (1, 4, 8)]
    assert errors[0] >= errors[1] >= errors[2]
    assert PCABaseline(4).fit(train).reconstruct(test).shape == test.shape


def test_bad_use_is_reported():
    with pytest.raises(ValueError, match="exceeds"):
        PCABaseline(20).fit(_windows(10))
    with pytest.raises(RuntimeError, match="not fitted"):
        PCABaseline(2).reconstruct(_windows(3))
    with pytest.raises(ValueError, match=r"\(N, 2, 8\)"):
        PCABaseline(2).fit(_windows(10)).reconstruct(np.zeros((3, 2, 9)))


@pytest.mark.parametrize("n", [12, 40])  # fewer windows than values per window (thin SVD), and more (scatter matrix)
def test_fit_matches_a_direct_svd_and_reads_memory_mapped_windows(tmp_path, n):
    train = _windows(n, seed=5) * np.linspace(0.5, 3, 8, dtype=np.float32)
    flat = train.reshape(n, -1).astype(np.float64)
    _, _, vt = np.linalg.svd(flat - flat.mean(axis=0), full_matrices=False)
    reference = (flat - flat.mean(axis=0)) @ vt[:5].T @ vt[:5] + flat.mean(axis=0)
    pca = PCABaseline(5).fit(train)
    np.testing.assert_allclose(pca.reconstruct(train).reshape(n, -1), reference, atol=1e-5)
    np.save(tmp_path / "train.npy", train)
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    from_disk = PCABaseline(5).fit(mapped)
    np.testing.assert_allclose(from_disk.reconstruct(mapped), pca.reconstruct(train), atol=1e-6)
    np.testing.assert_allclose(np.abs(from_disk.encode(mapped)), np.abs(pca.encode(train)), atol=1e-6)
