# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Comparing fusion strategies
#
# Compares finished runs — the runs of a sweep (`mimo sweep` or `make demo`: one
# run per fusion strategy), a list of run folders, or every run under `runs/` —
# by their test metrics and their cost in training time and parameters, beside
# the PCA baseline.

# %% tags=["parameters"]
runs_from = "runs"  # a sweep folder, a run folder, a folder of runs, or a list of run folders
figures_dir = "figures/comparison"
table_file = None  # default: comparison_<split>.csv in runs_from (when a folder), else in figures_dir
split = "test"

# %%
from pathlib import Path

from mimo_lib.evaluation import comparison
from mimo_lib.walkthrough import project_path, save
from mimo_lib.plots.comparison import plot_cost, plot_metric_boxes, plot_radar

# %%
sources = [project_path(p) for p in runs_from] if isinstance(runs_from, list) else project_path(runs_from)
figures_dir = project_path(figures_dir)
runs = comparison.load_runs(sources, split)
print(f"{len(runs.fusions)} finished run(s) in {runs_from}:")
runs.runs[["strategy", "folder"]]

# %% [markdown]
# ## Metrics per strategy and modality
# Mean ± standard deviation over the test windows. The table is written as CSV
# (numbers: `<metric>_mean`, `<metric>_std`).

# %%
table = comparison.summary_table(runs.per_window, runs.metrics)
default_table = (sources if isinstance(sources, Path) else figures_dir) / f"comparison_{split}.csv"
print(f"table: {comparison.write_table(table, project_path(table_file) if table_file else default_table)}")

# %%
comparison.format_mean_std(table, runs.metrics)

# %% [markdown]
# ## Distributions over windows
# One panel per metric; the arrows in the titles say which way is better.

# %%
save(plot_metric_boxes(runs.per_window, runs.metrics), figures_dir, f"metric_boxes_{split}")

# %% [markdown]
# ## Radar chart
# Each axis is a metric averaged over modalities, scaled from the worst (centre)
# to the best (rim) strategy.

# %%
save(plot_radar(table, runs.metrics), figures_dir, f"radar_{split}")

# %% [markdown]
# ## Cost
# Training time and number of trainable parameters per strategy.

# %%
runs.runs[["train_seconds", "n_parameters", "best_epoch", "epochs"]]

# %%
save(plot_cost(runs.runs), figures_dir, "cost")
