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
# # 03 · Training
#
# Trains MiMo-AE on the prepared windows with the params below (progress bar per
# epoch), keeps the best checkpoint by validation loss, and saves the resolved
# params, history and figures in the run folder.

# %% tags=["parameters"]
params_file = "params/default.yaml"
overrides = {}
run_dir = None  # default: <paths.runs>/<fusion>-<params hash>

# %%
import pandas as pd

from mimo_lib.evaluation.comparison import read_headline
from mimo_lib.config import load_params
from mimo_lib.walkthrough import record_training, run_folder, save
from mimo_lib.plots.training import plot_loss_curves
from mimo_lib.reports import example_reconstructions
from mimo_lib.data.prepare import prepare
from mimo_lib.training.trainer import train

# %%
params = load_params(params_file, overrides)
run_dir = run_folder(params, run_dir)
print(f"fusion {params.model.fusion}, {params.training.epochs} epochs, run folder {run_dir}")

# %% [markdown]
# The windows come from the cache written by `01_preprocessing` (built here when missing).

# %%
sets = prepare(params)
{split: windows.windows.shape for split, windows in sets.items()}

# %% [markdown]
# ## Train
# One bar step per epoch; the postfix shows the training and validation loss.

# %%
result = train(params, sets, run_dir=run_dir)

# %% [markdown]
# ## Loss curves
# Total loss, its time-domain (MSE) and spectral components, and the MSE per
# modality; training solid, validation dashed.

# %%
save(plot_loss_curves(result.history), run_dir / "figures", "loss_curves")

# %% [markdown]
# The best checkpoint's reconstructions of a few validation windows (target black).

# %%
examples = sets["val"] if "val" in sets else sets["train"]
save(example_reconstructions(result.model, examples, params.tracking.n_example_windows), run_dir / "figures",
     "reconstructions_val")

# %% [markdown]
# ## What the run leaves behind
# The best checkpoint, and the headline numbers recorded for the sweep comparison.

# %%
print(f"best epoch {result.best_epoch} of {len(result.history)}: {result.best_checkpoint}")
print(f"{result.train_seconds:.1f} s training, {result.windows_per_second:.0f} windows/s")

# %% [markdown]
# The same seed gives the same losses on CPU:

# %%
# NBVAL_CHECK_OUTPUT
result.history[["epoch", "train_loss", "val_loss"]].round(5)

# %%
record_training(result)
pd.Series(read_headline(run_dir))
