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
# run per grid point, e.g. per fusion strategy and seed), a list of run folders,
# or every run under `runs/` — by their test metrics and their cost in training
# time and parameters, beside the PCA baseline. A run's strategy is its fusion
# and whatever else differs between the runs' params (the seed aside); the seed
# is the unit of replication, so every interval below is over seeds.

# %% tags=["parameters"]
runs_from = "runs"  # a sweep folder, a run folder, a folder of runs, or a list of run folders
figures_dir = "figures/comparison"
table_file = None  # default: comparison_<split>.csv in runs_from (when a folder), else in figures_dir
split = "test"

# %%
from pathlib import Path

from mimo_lib.evaluation import comparison
from mimo_lib.plots.comparison import plot_cost, plot_differences, plot_metric_boxes, plot_radar, plot_seeds
from mimo_lib.walkthrough import project_path, save

# %%
sources = [project_path(p) for p in runs_from] if isinstance(runs_from, list) else project_path(runs_from)
figures_dir = project_path(figures_dir)
runs = comparison.load_runs(sources, split)
print(f"{len(runs.runs)} finished run(s) in {runs_from}:")
runs.runs[["strategy", "seed", "folder"]]

# %% [markdown]
# ## Metrics per strategy and modality
# Each run's mean over the test windows is one value per seed; the table gives
# mean ± standard deviation over seeds and the 95 % t interval of the mean
# (none with one seed). The numbers are written as CSV (`<metric>_mean`, `_sd`,
# `_low`, `_high`, `n_seeds`).

# %%
scores = comparison.run_scores(runs.per_window, runs.metrics)
table = comparison.summary_table(scores, runs.metrics)
table_path = project_path(table_file) if table_file else (
    (sources if isinstance(sources, Path) else figures_dir) / f"comparison_{split}.csv")
comparison.write_table(table, table_path)
comparison.format_summary(table, runs.metrics)

# %% [markdown]
# ## Paired differences between strategies
# Strategy minus versus, seed by seed on the same test windows, averaged over the
# seeds both have, with the 95 % t interval of that mean; where the interval
# covers zero the difference is not resolved by these seeds. Written beside the
# table as `comparison_<split>_differences.csv`.

# %%
pairs = comparison.paired_differences(scores, runs.metrics)
comparison.write_table(pairs, comparison.differences_file(table_path))
comparison.format_differences(pairs, runs.metrics)

# %% [markdown]
# ## Physiological fidelity per strategy
# Beats, breaths and rates of the whole test recordings, from each run's
# `fidelity_<split>.csv` (04's physiology section): per measure the mean over
# recordings is one value per seed; the table gives mean ± s.d. [95 % interval]
# over seeds per strategy, beside PCA and the original signal's own score (the
# detectors' floor against the reference). Errors (bpm, ms, breaths/min) are
# better low, F1, sensitivity and PPV high. Written as `comparison_<split>_fidelity.csv`.

# %%
fidelity = comparison.fidelity_scores(runs, split)
fidelity_table = comparison.summary_table(fidelity, ["value"])
if fidelity.empty:
    print(f"no run holds {comparison.fidelity_file(split)} (written by 04_analysis)")
else:
    comparison.write_table(fidelity_table, table_path.with_name(f"{table_path.stem}_fidelity.csv"))
comparison.format_measures(fidelity_table)

# %% [markdown]
# Paired differences of the fidelity measures (strategy − versus, same seeds, same
# recordings), the original's floor left out.

# %%
fidelity_pairs = comparison.paired_differences(fidelity, ["value"])
comparison.format_differences(fidelity_pairs, ["value"]).drop(index="original", level="versus", errors="ignore")

# %% [markdown]
# ## Seeds
# One point per seed, the mean over seeds with its interval in black; the arrows
# in the titles say which way is better.

# %%
save(plot_seeds(scores, table, runs.metrics), figures_dir, f"seeds_{split}")

# %% [markdown]
# The paired differences with their intervals: filled where resolved, hollow
# where the interval covers zero.

# %%
if len(pairs):
    save(plot_differences(pairs, runs.metrics), figures_dir, f"differences_{split}")

# %% [markdown]
# ## Distributions over windows
# Every test window of every seed, pooled per strategy.

# %%
save(plot_metric_boxes(runs.per_window, runs.metrics), figures_dir, f"metric_boxes_{split}")

# %% [markdown]
# ## Radar chart
# Each axis is a metric averaged over modalities on a fixed scale, from no
# better than the window mean (centre) to perfect (rim); a polygon per strategy
# at its mean over seeds, a dot per seed.

# %%
save(plot_radar(table, scores, runs.metrics), figures_dir, f"radar_{split}")

# %% [markdown]
# ## Cost
# Training time and number of trainable parameters per strategy, one dot per run.

# %%
runs.runs[["strategy", "seed", "train_seconds", "n_parameters", "best_epoch", "epochs"]]

# %%
save(plot_cost(runs.runs), figures_dir, "cost")
