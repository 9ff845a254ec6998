"""The fusion comparison: per-strategy tables from run folders, and their figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mimo_lib.evaluation import comparison
from mimo_lib.plots.comparison import plot_cost, plot_metric_boxes, plot_radar, radar_scores


def _fake_run(folder, fusion, mse_values, train_seconds=10.0, n_parameters=1000):
    """A finished run: two modalities with known per-window metrics."""
    rows = []
    for window, mse in enumerate(mse_values):
        for method, scale in (("mimo-ae", 1.0), ("pca-8", 10.0)):
            common = {"subject": "S11", "window": window, "method": method}
            rows.append({**common, "modality": "ECG", "mse": scale * mse, "pearson": 1 - mse})
            rows.append({**common, "modality": "PPG", "mse": scale * 2 * mse, "pearson": np.nan})
    run_dir = folder / fusion
    run_dir.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(run_dir / comparison.per_window_file("test"), index=False)
    comparison.record_headline(run_dir, train_seconds=train_seconds, n_parameters=np.int64(n_parameters))
    return run_dir


@pytest.fixture
def sweep(tmp_path):
    _fake_run(tmp_path, "gated", [0.1, 0.3], train_seconds=12.0, n_parameters=1200)
    _fake_run(tmp_path, "concat", [0.2, 0.4, 0.6])
    (tmp_path / "attention").mkdir()  # failed run: no headline, no metrics
    return tmp_path


def test_find_runs_keeps_finished_runs_only(sweep):
    assert list(comparison.find_runs(sweep)) == ["concat", "gated"]


def test_summary_table_is_mean_and_std_per_fusion_and_modality(sweep):
    runs = comparison.load_runs(sweep)
    assert runs.metrics == ["mse", "pearson"]
    table = comparison.summary_table(runs.per_window, runs.metrics)
    assert list(table.index) == [("concat", "ECG"), ("concat", "PPG"), ("gated", "ECG"), ("gated", "PPG"),
                                 ("pca-8", "ECG"), ("pca-8", "PPG")]
    assert table.loc[("pca-8", "ECG"), "mse_mean"] == pytest.approx(4.0)  # baseline taken once, from concat
    assert table.loc[("concat", "ECG"), "mse_mean"] == pytest.approx(0.4)
    assert table.loc[("concat", "ECG"), "mse_std"] == pytest.approx(0.2)  # sample std of 0.2, 0.4, 0.6
    assert table.loc[("gated", "PPG"), "mse_mean"] == pytest.approx(0.4)
    assert table.loc[("gated", "ECG"), "pearson_mean"] == pytest.approx(0.8)
    assert np.isnan(table.loc[("gated", "PPG"), "pearson_mean"])
    assert table.loc[("concat", "PPG"), "n_windows"] == 3


def test_formatted_table_reads_mean_plus_minus_std(sweep):
    runs = comparison.load_runs(sweep)
    shown = comparison.format_mean_std(comparison.summary_table(runs.per_window, runs.metrics), runs.metrics)
    assert shown.loc[("concat", "ECG"), "mse"] == "0.400 ± 0.200"


def test_table_round_trips_through_csv(sweep, tmp_path):
    runs = comparison.load_runs(sweep)
    table = comparison.summary_table(runs.per_window, runs.metrics)
    path = comparison.write_table(table, tmp_path / "out" / "comparison.csv")
    read = pd.read_csv(path, index_col=["fusion", "modality"])
    pd.testing.assert_frame_equal(read, table, check_dtype=False)


def test_headline_numbers_are_read_per_run(sweep):
    runs = comparison.load_runs(sweep)
    assert runs.fusions == ["concat", "gated"]
    assert runs.runs.loc["gated", "n_parameters"] == 1200
    assert runs.runs.loc["concat", "train_seconds"] == 10.0


def test_runs_come_from_a_run_a_folder_of_runs_or_a_list(tmp_path):
    concat = _fake_run(tmp_path / "demo", "concat", [0.1])
    gated = _fake_run(tmp_path / "other", "gated", [0.2])
    (tmp_path / "demo" / "unfinished").mkdir()
    assert comparison.find_runs(concat) == {"concat": concat}
    assert comparison.find_runs(tmp_path) == {"demo/concat": concat, "other/gated": gated}
    assert comparison.find_runs([concat, gated]) == {"concat": concat, "gated": gated}
    with pytest.raises(FileNotFoundError, match="unfinished is not a finished run folder"):
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


def test_comparison_figures_have_one_series_per_fusion(sweep):
    runs = comparison.load_runs(sweep)
    table = comparison.summary_table(runs.per_window, runs.metrics)
    boxes = plot_metric_boxes(runs.per_window, runs.metrics)
    assert len(boxes.axes) == 2
    assert [t.get_text() for t in boxes.axes[0].get_legend().get_texts()] == ["concat", "gated", "pca-8"]
    radar = plot_radar(table, runs.metrics)
    # Fixed scales, not worst-to-best: every strategy and the baseline are drawn where their values put them.
    polygons = {line.get_label(): np.round(line.get_ydata(), 6).tolist() for line in radar.axes[0].lines}
    scores = radar_scores(table, runs.metrics)
    assert set(polygons) == {"concat", "gated", "pca-8"}
    for name, row in scores.iterrows():
        assert polygons[name] == np.round([*row, row.iloc[0]], 6).tolist()
    expected_mse = 1 - table.xs("gated", level="fusion")["mse_mean"].mean()
    assert scores.loc["gated", "mse"] == pytest.approx(expected_mse)
    assert scores.loc["pca-8", "mse"] == 0.0, "an MSE above 1 is no better than the window mean: the centre"
    assert scores.loc["pca-8", "pearson"] == pytest.approx(scores.loc["concat", "pearson"])
    cost = plot_cost(runs.runs)
    assert [p.get_height() for p in cost.axes[1].patches] == [1000, 1200]
