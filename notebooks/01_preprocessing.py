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
# # 01 · Preprocessing
#
# From recordings to windows: load the cohort the params name, look at the raw
# signals, the band-pass filters and what they do to one window, then the
# windows kept and dropped per subject and split, and the values the model sees
# after normalisation. The prepared windows are cached for the next notebooks.

# %% tags=["parameters"]
params_file = "params/default.yaml"
overrides = {}
figures_dir = None  # default: <paths.figures>/01_preprocessing

# %%
import pandas as pd

from mimo_lib.config import load_params
from mimo_lib.walkthrough import figures_folder, save
from mimo_lib.plots.signals import (
    plot_filter_responses,
    plot_filtering,
    plot_raw_signals,
    plot_value_distribution,
    plot_window_counts,
)
from mimo_lib.data.prepare import drop_report, prepare
from mimo_lib.data.signals import modality_bands, modality_kinds
from mimo_lib.data.sources import load_recordings

# %%
params = load_params(params_file, overrides)
figures_dir = figures_folder(params, figures_dir, "01_preprocessing")
print(f"source {params.data.source!r} in {params.data.root}, modalities {params.data.modalities}")

# %% [markdown]
# ## The cohort
# One recording per subject; each modality keeps its own sampling rate until resampling.

# %%
recordings = load_recordings(params)
pd.DataFrame({r.subject: {m: f"{r.duration(m):.0f} s @ {r.rates[m]:g} Hz" for m in r.modalities}
              for r in recordings}).T

# %% [markdown]
# The first seconds of every modality, as loaded, for the first subjects.

# %%
save(plot_raw_signals(recordings), figures_dir, "raw_signals")

# %% [markdown]
# ## Filters
# Each modality gets a zero-phase Butterworth band-pass chosen by its kind
# (overridable in `preprocessing.bands`); the responses are drawn at the target rate.

# %%
modality_kinds(params), modality_bands(params)

# %%
save(plot_filter_responses(params), figures_dir, "filter_responses")

# %% [markdown]
# One window of the first subject before and after filtering (resampled to the target rate).

# %%
save(plot_filtering(recordings[0], params), figures_dir, "filtering")

# %% [markdown]
# ## Windows
# Windows of `preprocessing.window_seconds` every `stride_seconds`; windows with long
# gaps, flat segments or clipping are dropped and counted per reason.

# %%
sets = prepare(params)

# %% [markdown]
# Windows per split as (windows, modalities, samples):

# %%
# NBVAL_CHECK_OUTPUT
{split: windows.windows.shape for split, windows in sets.items()}

# %%
report = drop_report(sets)
report

# %%
save(plot_window_counts(report), figures_dir, "window_counts")

# %% [markdown]
# ## Normalised values
# With per-window z-scoring every window has mean 0 and unit variance per modality;
# the histograms show the shape of each modality's values per split.

# %%
save(plot_value_distribution(sets), figures_dir, "value_distribution")
