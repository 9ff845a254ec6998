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
# # 02 · The MiMo-AE model
#
# One 1D-ResNet encoder per modality, a fusion module into one shared latent, and
# one decoder per modality. This notebook builds the model the params describe,
# shows its layers and where its parameters sit, and follows a batch through it.

# %% tags=["parameters"]
params_file = "params/default.yaml"
overrides = {}
fusions = ["concat", "gated", "attention"]

# %%
import pandas as pd

from mimo_lib.config import load_params
from mimo_lib.model import build_model, parameter_counts, summarize, trace_shapes
from mimo_lib.data.prepare import window_samples

# %% [markdown]
# The model is sized by the params: modalities, window length (in samples at the
# target rate) and the `model` section.

# %%
params = load_params(params_file, overrides)
window_length, _ = window_samples(params)
print(f"modalities {params.data.modalities}, windows of {window_length} samples, "
      f"latent {params.model.latent_dim} ({params.model.bottleneck})")

# %%
model = build_model(params.model, params.data.modalities, window_length)

# %% [markdown]
# ## Layers
# The table lists every layer with its output size for one window and its parameter count.

# %%
print(summarize(model))

# %% [markdown]
# ## Parameters per part
# Encoders and decoders hold most of the weights; the fusion module is small.

# %%
# NBVAL_CHECK_OUTPUT
parameter_counts(model)

# %% [markdown]
# ## Tensor shapes, stage by stage
# A batch of one window flows through the encoders, the bottleneck tokens, the
# fusion into the shared latent, and back through the decoders to a
# reconstruction as long as the input, for each fusion strategy.

# %%
models = {fusion: build_model(params.model.model_copy(update={"fusion": fusion}), params.data.modalities,
                              window_length) for fusion in fusions}

# %%
# NBVAL_CHECK_OUTPUT
print(pd.concat({fusion: trace_shapes(m) for fusion, m in models.items()}, names=["fusion", "step"]).to_string())
