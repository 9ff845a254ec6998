"""The comparison over seeds: strategies from run params, per-seed scores, intervals, paired differences, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from mimo_lib.config import load_params, save_params
from mimo_lib.evaluation import comparison
from mimo_lib.plots.comparison import plot_cost, plot_differences, plot_metric_boxes, plot_radar, plot_seeds, radar_scores

T_975_DF2 = 4.302653  # two-sided 95 % quantile of Student's t with 2 degrees of freedom (from a t table)


def _fake_run(folder, name, mse_values, fusion="concat", seed=0, train_seconds=10.0, n_parameters=1000, **params):
    """A finished run: params, headline numbers, two modalities with known per-window metrics (PCA at 10 ×)."""
    rows = []
    for window, mse in enumerate(mse_values):
        for method, scale in (("mimo-ae", 1.0), ("pca-8", 10.0)):
            common = {"subject": "S11", "window": window, "method": method}
            rows.append({**common, "modality": "ECG", "mse": scale * mse, "pearson": 1 - mse})
            rows.append({**common, "modality": "PPG", "mse": scale * 2 * mse, "pearson": np.nan})
    run_dir = folder / name
    run_dir.mkdir(parents=True)
    save_params(load_params(overrides={"model.fusion": fusion, "training.seed": seed, **params}),
                run_dir / comparison.PARAMS_FILE)
    pd.DataFrame(rows).to_csv(run_dir / comparison.per_window_file("test"), index=False)
    comparison.record_headline(run_dir, train_seconds=train_seconds, n_parameters=np.int64(n_parameters))
    return run_dir


@pytest.fixture
def sweep(tmp_path):
    """concat over seeds 0, 1, 2 (window means 0.3, 0.6, 0.9), gated over seeds 0, 1; one failed run."""
    _fake_run(tmp_path, "fusion=concat,seed=0", [0.2, 0.4])
    _fake_run(tmp_path, "fusion=concat,seed=1", [0.5, 0.7], seed=1)
    _fake_run(tmp_path, "fusion=concat,seed=2", [0.8, 1.0], seed=2)
    _fake_run(tmp_path, "fusion=gated,seed=0", [0.1, 0.3], "gated", train_seconds=12.0, n_parameters=1200)
    _fake_run(tmp_path, "fusion=gated,seed=1", [0.2, 0.2], "gated", seed=1, train_seconds=14.0, n_parameters=1200)
    (tmp_path / "fusion=attention,seed=0").mkdir()  # failed run: no params, headline or metrics
    return tmp_path


def test_find_runs_keeps_finished_runs_only(sweep):
    assert list(comparison.find_runs(sweep)) == [
        "fusion=concat,seed=0", "fusion=concat,seed=1", "fusion=concat,seed=2", "fusion=gated,seed=0",
        "fusion=gated,seed=1"]


def test_strategy_is_the_fusion_and_what_else_differs_besides_the_seed(tmp_path):
    _fake_run(tmp_path, "a", [0.1], "concat", 0, **{"model.latent_dim": 16, "paths.runs": "elsewhere"})
    _fake_run(tmp_path, "b", [0.1], "concat", 1, **{"model.latent_dim": 32, "training.threads": 2})
    _fake_run(tmp_path, "c", [0.1], "gated", 0, **{"model.latent_dim": 32, "tracking.run_name": "c"})
    runs = comparison.load_runs(tmp_path)
    assert runs.runs["strategy"].to_dict() == {"a": "fusion=concat,latent_dim=16", "b": "fusion=concat,latent_dim=32",
                                               "c": "fusion=gated,latent_dim=32"}
    assert runs.runs["seed"].to_dict() == {"a": 0, "b": 1, "c": 0}
    assert set(runs.per_window["strategy"]) == {*runs.runs["strategy"], "pca-8"}


def test_scores_are_window_means_per_strategy_seed_and_modality(sweep):
    runs = comparison.load_runs(sweep)
    scores = comparison.run_scores(runs.per_window, runs.metrics)
    concat = scores.xs(("fusion=concat", "ECG"), level=["strategy", "modality"])["mse"]
    assert concat.to_numpy() == pytest.approx([0.3, 0.6, 0.9])
    pca = scores.xs(("pca-8", "ECG"), level=["strategy", "modality"])["mse"].droplevel("data")
    # the baseline is scored in every run: per seed, the runs holding that seed are averaged
    assert pca.to_dict() == pytest.approx({0: (3.0 + 2.0) / 2, 1: (6.0 + 2.0) / 2, 2: 9.0})


def test_summary_table_is_mean_sd_and_t_interval_over_seeds(sweep):
    runs = comparison.load_runs(sweep)
    table = comparison.summary_table(comparison.run_scores(runs.per_window, runs.metrics), runs.metrics)
    assert list(table.index) == [("fusion=concat", "ECG"), ("fusion=concat", "PPG"), ("fusion=gated", "ECG"),
                                 ("fusion=gated", "PPG"), ("pca-8", "ECG"), ("pca-8", "PPG")]
    row = table.loc[("fusion=concat", "ECG")]
    half = T_975_DF2 * 0.3 / np.sqrt(3)  # seeds 0.3, 0.6, 0.9: mean 0.6, s.d. 0.3
    assert (row["mse_mean"], row["mse_sd"], row["n_seeds"]) == pytest.approx((0.6, 0.3, 3))
    assert (row["mse_low"], row["mse_high"]) == pytest.approx((0.6 - half, 0.6 + half), rel=1e-6)
    assert table.loc[("fusion=gated", "ECG"), "pearson_mean"] == pytest.approx(1 - 0.2)
    assert np.isnan(table.loc[("fusion=gated", "PPG"), "pearson_mean"])


def test_paired_differences_match_a_hand_computation():
    index = pd.MultiIndex.from_tuples(
        [(strategy, seed, data, "ECG") for strategy, data in (("A", "d"), ("B", "d"), ("pca", "d"), ("other", "e"))
         for seed in (0, 1, 2)], names=["strategy", "seed", "data", "modality"])
    scores = pd.DataFrame({"mse": [1.0, 2.0, 3.0, 0.5, 1.0, 2.1, 1.9, 1.9, 1.9, 0.0, 0.0, 0.0]}, index=index)
    pairs = comparison.paired_differences(scores, ["mse"])
    # "other" ran on other data (windows): it pairs with nothing
    assert list(pairs.index) == [("A", "B", "ECG"), ("A", "pca", "ECG"), ("B", "pca", "ECG")]
    a_b = pairs.loc[("A", "B", "ECG")]  # differences 0.5, 1.0, 0.9: mean 0.8, variance 0.07
    half = T_975_DF2 * np.sqrt(0.07) / np.sqrt(3)
    assert (a_b["mse_diff"], a_b["mse_sd"], a_b["n_seeds"]) == pytest.approx((0.8, np.sqrt(0.07), 3))
    assert (a_b["mse_low"], a_b["mse_high"]) == pytest.approx((0.8 - half, 0.8 + half), rel=1e-6)
    assert a_b["mse_resolved"]
    a_pca = pairs.loc[("A", "pca", "ECG")]  # differences -0.9, 0.1, 1.1: mean 0.1, s.d. 1
    assert (a_pca["mse_low"], a_pca["mse_high"]) == pytest.approx((0.1 - T_975_DF2 / np.sqrt(3),
                                                                   0.1 + T_975_DF2 / np.sqrt(3)), rel=1e-6)
    assert not a_pca["mse_resolved"]
    shown = comparison.format_differences(pairs, ["mse"])
    assert shown.loc[("A", "B", "ECG"), "mse"] == "+0.800 [0.143, 1.46]"
    assert shown.loc[("A", "pca", "ECG"), "mse"] == "+0.100 [-2.38, 2.58] not resolved"


def test_pairs_use_the_seeds_both_strategies_have(sweep):
    runs = comparison.load_runs(sweep)
    pairs = comparison.paired_differences(comparison.run_scores(runs.per_window, runs.metrics), runs.metrics)
    concat_gated = pairs.loc[("fusion=concat", "fusion=gated", "ECG")]
    # seeds 0 and 1: concat 0.3, 0.6; gated 0.2, 0.2
    assert (concat_gated["n_seeds"], concat_gated["mse_diff"]) == pytest.approx((2, (0.1 + 0.4) / 2))
    assert pairs.index.unique("versus").tolist() == ["fusion=gated", "pca-8"]


def test_formatted_summary_reads_mean_sd_and_interval(sweep):
    runs = comparison.load_runs(sweep)
    shown = comparison.format_summary(
        comparison.summary_table(comparison.run_scores(runs.per_window, runs.metrics), runs.metrics), runs.metrics)
    assert shown.loc[("fusion=concat", "ECG"), "mse"] == "0.600 ± 0.300 [-0.145, 1.35]"
    assert shown.loc[("fusion=concat", "ECG"), "seeds"] == 3


def test_one_seed_gives_no_interval_and_leaves_differences_unresolved(tmp_path):
    _fake_run(tmp_path, "concat", [0.2])
    _fake_run(tmp_path, "gated", [0.1], "gated")
    runs = comparison.load_runs(tmp_path)
    scores = comparison.run_scores(runs.per_window, runs.metrics)
    summary = comparison.format_summary(comparison.summary_table(scores, runs.metrics), runs.metrics)
    assert summary.loc[("fusion=concat", "ECG"), "mse"] == "0.200"
    pairs = comparison.format_differences(comparison.paired_differences(scores, runs.metrics), runs.metrics)
    assert pairs.loc[("fusion=concat", "fusion=gated", "ECG"), "mse"] == "+0.100 not resolved"


def test_tables_round_trip_through_csv(sweep, tmp_path):
    runs = comparison.load_runs(sweep)
    scores = comparison.run_scores(runs.per_window, runs.metrics)
    table = comparison.summary_table(scores, runs.metrics)
    path = comparison.write_table(table, tmp_path / "out" / "comparison.csv")
    pd.testing.assert_frame_equal(pd.read_csv(path, index_col=["strategy", "modality"]), table, check_dtype=False)
    pairs = comparison.paired_differences(scores, runs.metrics)
    pairs_path = comparison.write_table(pairs, comparison.differences_file(path))
    assert pairs_path.name == "comparison_differences.csv"
    read = pd.read_csv(pairs_path, index_col=["strategy", "versus", "modality"])
    pd.testing.assert_frame_equal(read, pairs, check_dtype=False)


def test_headline_numbers_are_read_per_run(sweep):
    runs = comparison.load_runs(sweep)
    assert runs.runs.loc["fusion=gated,seed=1", "train_seconds"] == 14.0
    assert runs.runs.loc["fusion=concat,seed=0", "n_parameters"] == 1000


def test_runs_come_from_a_run_a_folder_of_runs_or_a_list(tmp_path):
    concat = _fake_run(tmp_path / "demo", "concat", [0.1])
    gated = _fake_run(tmp_path / "other", "gated", [0.2], "gated")
    (tmp_path / "demo" / "unfinished").mkdir()
    assert comparison.find_runs(concat) == {"concat": concat}
    assert comparison.find_runs(tmp_path) == {"demo/concat": concat, "other/gated": gated}
    assert comparison.find_runs([concat, gated]) == {"concat": concat, "gated": gated}
    with pytest.raises(FileNotFoundError, match="unfinished is not a finished run folder: it needs params.yaml"):
        comparison.find_runs([concat, tmp_path / "demo" / "unfinished"])
    runs = comparison.load_runs([concat, gated])
    assert runs.runs.loc["gated", "folder"] == str(gated)


def test_sweep_without_finished_runs_names_the_folder(tmp_path):
    (tmp_path / "concat").mkdir()
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        comparison.load_runs(tmp_path)


def test_per_window_file_without_modality_column_is_named(tmp_path):
    run_dir = _fake_run(tmp_path, "concat", [0.1])
    pd.DataFrame({"method": ["mimo-ae"], "mse": [0.1]}).to_csv(run_dir / comparison.per_window_file("test"))
    with pytest.raises(ValueError, match=r"metrics_test_windows.csv: columns \['modality'\] are missing"):
        comparison.load_runs(tmp_path)


def test_comparison_figures_show_every_strategy_and_each_seed(sweep):
    runs = comparison.load_runs(sweep)
    scores = comparison.run_scores(runs.per_window, runs.metrics)
    table = comparison.summary_table(scores, runs.metrics)
    strategies = ["fusion=concat", "fusion=gated", "pca-8"]
    boxes = plot_metric_boxes(runs.per_window, runs.metrics)
    assert len(boxes.axes) == 2
    assert [t.get_text() for t in boxes.axes[0].get_legend().get_texts()] == strategies
    seeds = plot_seeds(scores, table, runs.metrics)
    points = [len(c.get_offsets()) for c in seeds.axes[0].collections if isinstance(c, PathCollection)]
    assert points == [3, 3, 2, 2, 3, 3]  # per strategy and modality, one dot per seed
    radar = plot_radar(table, scores, runs.metrics)
    # Fixed scales, not worst-to-best: every strategy and the baseline are drawn where their values put them.
    polygons = {line.get_label(): np.round(line.get_ydata(), 6).tolist() for line in radar.axes[0].lines}
    means = radar_scores(table, runs.metrics)
    assert set(polygons) == set(strategies)
    for name, row in means.iterrows():
        assert polygons[name] == np.round([*row, row.iloc[0]], 6).tolist()
    assert means.loc["fusion=gated", "mse"] == pytest.approx(1 - table.xs("fusion=gated", level="strategy")["mse_mean"].mean())
    assert means.loc["pca-8", "mse"] == 0.0, "an MSE above 1 is no better than the window mean: the centre"
    assert len(radar.axes[0].collections) == 3 + 2 + 3  # a dot per seed and metric
    differences = plot_differences(comparison.paired_differences(scores, runs.metrics), runs.metrics)
    assert differences.axes[0].get_yticklabels()[0].get_text() == "fusion=concat − fusion=gated: ECG"
    cost = plot_cost(runs.runs)
    assert [p.get_height() for p in cost.axes[1].patches] == [1000, 1200]
    assert [len(c.get_offsets()) for c in cost.axes[0].collections] == [3, 2]


def _fidelity_file(run_dir, f1_by_subject: dict[str, float]) -> None:
    """A fidelity table (as 04 writes it): R-peak F1 per recording for the model, PCA and the original."""
    rows = [{"subject": subject, "method": method, "modality": "ECG", "measure": "r_peak_f1_50ms",
             "reference": "original", "unit": "fraction", "value": value, "n_scored": 10, "n_not_scored": 0}
            for subject, f1 in f1_by_subject.items()
            for method, value in (("original", 1.0), ("mimo-ae", f1), ("pca-8", f1 / 2))]
    pd.DataFrame(rows).to_csv(run_dir / comparison.fidelity_file("test"), index=False)


def test_fidelity_measures_compare_per_strategy_over_seeds(sweep):
    _fidelity_file(sweep / "fusion=concat,seed=0", {"S11": 0.9, "S12": 0.7})
    _fidelity_file(sweep / "fusion=concat,seed=1", {"S11": 0.9, "S12": 0.9})
    _fidelity_file(sweep / "fusion=gated,seed=0", {"S11": 0.6, "S12": 0.6})
    _fidelity_file(sweep / "fusion=gated,seed=1", {"S11": 0.7, "S12": 0.5})  # concat,seed=2 has none: left out
    runs = comparison.load_runs(sweep)
    scores = comparison.fidelity_scores(runs)
    measure = "ECG r_peak_f1_50ms (fraction)"
    assert list(scores.index.unique("strategy")) == ["fusion=concat", "fusion=gated", "pca-8", "original"]
    concat = scores.xs(("fusion=concat", measure), level=["strategy", "measure"])["value"].droplevel("data")
    assert concat.to_dict() == pytest.approx({0: 0.8, 1: 0.9})  # mean over recordings, per seed
    table = comparison.summary_table(scores, ["value"])
    assert table.loc[("fusion=gated", measure), "value_mean"] == pytest.approx(0.6)
    assert table.loc[("original", measure), ["value_mean", "value_sd"]].tolist() == pytest.approx([1.0, 0.0])
    pairs = comparison.paired_differences(scores, ["value"])
    concat_gated = pairs.loc[("fusion=concat", "fusion=gated", measure)]  # differences 0.2, 0.3 over seeds 0, 1
    assert (concat_gated["value_diff"], concat_gated["n_seeds"]) == pytest.approx((0.25, 2))


def test_runs_without_fidelity_tables_give_empty_scores(sweep):
    assert comparison.fidelity_scores(comparison.load_runs(sweep)).empty
