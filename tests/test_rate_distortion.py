"""Rate–distortion rows of the transform codecs: budgets kept, bits split across modalities no worse than evenly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import sine_windows

from mimo_lib.evaluation.allocation import allocated_rows, pareto_front
from mimo_lib.evaluation.rate_distortion import Target, ratio_budgets, transform_rows


@pytest.fixture(scope="module")
def target():
    return Target(sine_windows(12, seed=0), [12, 10])


def test_transform_codecs_stay_within_each_budget(target):
    budgets = ratio_budgets(target, [5, 10])
    assert budgets == [64 * 22 / 5, 64 * 22 / 10]
    rows = pd.DataFrame(transform_rows(target, budgets, coefficient_bits=[4, 6]))
    means = rows[rows["modality"] == "mean"]
    assert list(means["method"]) == ["wavelet", "wavelet", "dct", "dct"]
    assert np.all(means["bits_per_window"].to_numpy() <= np.tile(budgets, 2))
    np.testing.assert_allclose(means["cr"], 64 * 22 / means["bits_per_window"])
    ecg = rows[rows["modality"] == "ECG"]
    np.testing.assert_allclose(ecg["cr"], 64 * 12 / ecg["bits_per_window"])


def test_pareto_front_keeps_the_cheapest_split_per_prd_sum():
    a = [(8, 50.0, ("a8",)), (16, 20.0, ("a16",))]
    b = [(8, 30.0, ("b8",)), (16, 29.0, ("b16",))]
    front = pareto_front([a, b])
    assert [(bits, prd, codecs) for bits, prd, codecs in front] == [
        (16, 80.0, ("a8", "b8")), (24, 50.0, ("a16", "b8")), (32, 49.0, ("a16", "b16"))]


def test_split_budget_is_no_worse_than_an_even_split(target):
    budgets = ratio_budgets(target, [6])
    even = transform_rows(target, budgets, transforms=["dct"], coefficient_bits=[5])[-1]
    shares = [*np.geomspace(48, budgets[0], 8), budgets[0] / 2]
    split = allocated_rows(target, budgets, "dct", shares, coefficient_bits=[5])
    assert split[-1]["method"] == "dct-alloc" and split[-1]["bits_per_window"] <= budgets[0]
    assert split[-1]["prd"] <= even["prd"] + 1e-9
    assert [row["bits"] for row in split[:-1]] == [5, 5]


def test_a_depth_per_dimension_fills_each_ratio_without_passing_it(tmp_path):
    from helpers import smoke_run

    from mimo_lib.evaluation.rate_distortion import depth_rows
    from mimo_lib.run import load_run

    run = load_run(smoke_run(tmp_path))
    test = run.split("test")
    target = Target(test, [12] * len(test.modalities))
    # 4,800 bits per window uncoded; 128 go to the scale, about 47 to the table: 9, 4 and 1 bits per latent number
    ratios = [15, 20, 25]  # the last is too few for 2 bits each: not coded
    rows = pd.DataFrame(depth_rows(run.model, target, ratios))
    means = rows[rows["modality"] == "mean"]
    assert list(means["budget"]) == ratio_budgets(target, ratios[:2])
    # whole bytes per window and the table of 16 x (two float32 ranges + a 4-bit depth) shared by the windows
    assert np.all(means["bits_per_window"] <= means["budget"])
    assert np.all(means["bits_per_window"] > means["budget"] - 8)
    assert list(means["bits"]) == [9, 4]
