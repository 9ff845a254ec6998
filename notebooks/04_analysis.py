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
# # 04 · Analysis of a trained run
#
# Scores the best checkpoint on the test subjects beside a PCA baseline of the
# same latent size, and looks at the reconstructions, their spectra, the latent
# space and the weights the fusion gives each modality.

# %% tags=["parameters"]
params_file = "params/default.yaml"
overrides = {}
run_dir = None  # default: the run folder 03_training wrote for these params
split = "test"
numeric = "HR"  # monitor numeric predicted from the latent in the downstream example
interactive = True  # show the widget explorer; batch runs (papermill) set False
calibrate_seconds = None  # calibration stretch of the calibrated imputation; None: 120 s, or a third of a shorter recording

# %%
from mimo_lib.config import load_params
from mimo_lib.data.prepare import split_subjects
from mimo_lib.data.signals import modality_kinds
from mimo_lib.data.sources import load_recordings
from mimo_lib.data.sources.numerics import cohort_numerics
from mimo_lib.evaluation.downstream import evaluate_downstream
from mimo_lib.explorer import ReconstructionExplorer
from mimo_lib.walkthrough import record_evaluation, run_folder, save
from mimo_lib.plots.reconstruction import (
    plot_fusion_weights,
    plot_latent_projection,
    plot_psd_comparison,
)
from mimo_lib.evaluation.robustness import score_imputation
from mimo_lib.model.inference import impute_each
from mimo_lib.physiology import fidelity_summary, rate_pairs, reconstructions_beside_pca, score_reconstructions
from mimo_lib.plots.physiology import plot_bland_altman, plot_peaks
from mimo_lib.reports import evaluate_run, evaluation_examples
from mimo_lib.run import load_run

# %%
params = load_params(params_file, overrides)
run_dir = run_folder(params, run_dir)
run = load_run(run_dir)
figures_dir = run_dir / "figures"
print(f"run folder {run_dir}")

# %% [markdown]
# ## Metrics
# Per-window metrics on the normalised scale (MSE, MAE, Pearson r, SNR, PRDN — key `prd`, PSD
# correlation), averaged per modality and per subject. `mimo-ae` is the model,
# `pca-<k>` the linear baseline at equal compression; an autoencoder worth
# training beats it. Tables and figures are written into the run folder.

# %%
evaluation = evaluate_run(run_dir, split=split)
record_evaluation(evaluation, run_dir)
evaluation.overall

# %%
evaluation.per_modality

# %%
evaluation.per_subject

# %% [markdown]
# ## Reconstructions
# Targets (black) with the model's and the baseline's reconstructions, for
# windows spread over the split.

# %%
windows = evaluation.windows
browser = ReconstructionExplorer(evaluation)

# %%
save(browser.static_figure(), figures_dir, f"reconstructions_per_subject_{split}")

# %% [markdown]
# The same for a few windows spread over the split, model and baseline side by side.

# %%
save(evaluation_examples(evaluation, params.tracking.n_example_windows), figures_dir, f"reconstructions_{split}")

# %% [markdown]
# Mean power spectral density per modality: a good reconstruction keeps the
# spectral peaks (heart rate, breathing rate and their harmonics).

# %%
save(plot_psd_comparison(windows.windows, browser.reconstructions, windows.modalities, windows.rate),
     figures_dir, f"psd_{split}")

# %% [markdown]
# ## Latent space
# Latent vectors projected on their first two principal components, one colour per subject.

# %%
save(plot_latent_projection(evaluation.latent, windows.subjects), figures_dir, f"latent_pca_{split}")

# %% [markdown]
# ## Fusion weights
# How much weight the fusion gives each modality per window (uniform for `concat`).

# %%
save(plot_fusion_weights(evaluation.weights, windows.modalities), figures_dir, f"fusion_weights_{split}")

# %% [markdown]
# ## Physiology: beats, breaths and rates
# Each test recording comes back whole (overlapping windows stitched by tapered
# overlap-add, each window's own scale restored) from the model and from PCA at
# the same latent size. NeuroKit2 detects R-peaks, pulse peaks and breaths on the
# original and on each reconstruction; the original's detections are the
# reference (for breaths: the manual annotations where the recordings have them,
# e.g. BIDMC). `original` is the detector's own floor against that reference;
# `n` counts what was scored / not scored (events, spans or beats).

# %%
test_recordings = load_recordings(params, split_subjects(params)[split])
kinds = modality_kinds(params)
whole = reconstructions_beside_pca(run, test_recordings)
fidelity = score_reconstructions(whole, kinds)
fidelity.to_csv(run_dir / f"fidelity_{split}.csv", index=False)
fidelity_summary(fidelity).round(3)

# %% [markdown]
# Detected events on the original (▼) and on the model's reconstruction (▲), ten
# seconds in the middle of the first test recording.

# %%
save(plot_peaks(whole["mimo-ae"][0], kinds), figures_dir, f"peaks_{split}")

# %% [markdown]
# Bland–Altman: per span, the rate from the reconstruction minus the reference
# rate, against their mean (heart and pulse rate over 8 s, breathing rate over 32 s).

# %%
pairs = rate_pairs(whole["mimo-ae"], kinds)
if pairs.empty:
    print("no span had a rate on both sides (recordings too short, or no detections)")
else:
    save(plot_bland_altman(pairs), figures_dir, f"rates_bland_altman_{split}")

# %% [markdown]
# ## Missing sensors
# Each modality once absent at the input, reconstructed from the others
# (imputed), next to its reconstruction with all present: Pearson r per subject.
# A cross-modal relation that holds for some subjects only shows as an r that
# changes sign between them. Models trained with `training.modality_dropout`
# impute; others were never asked to.

# %%
if len(windows.modalities) > 1:
    imputed = impute_each(run.model, windows)
    imputation = score_imputation(windows, evaluation.reconstruction, imputed, by_subject=True)
    imputation.to_csv(run_dir / f"imputation_{split}_subjects.csv", index=False)
    display(imputation.pivot_table(index=["modality", "condition"], columns="subject", values="pearson").round(2))
    reconstructions = {"all present": evaluation.reconstruction, "absent at input": imputed}
    save(browser.static_figure(reconstructions), figures_dir, f"imputation_{split}")

# %% [markdown]
# ## A sensor lost after the first minutes: calibrated imputation
# Respiration recorded only during a calibration stretch at the start of the
# first test recording. Uncalibrated, the model imputes it from the other
# sensors as it would for anybody; calibrated, its fusion and decoders are first
# fine-tuned on that stretch with respiration masked at the input (the encoders
# stay as trained). Above: a minute after the stretch, real and imputed (each
# z-scored; an inverted imputation shows as such). Below: breathing rate per 32 s
# span of each, beside the annotated breaths where the recording has them.

# %%
from mimo_lib.imputation import with_originals
from mimo_lib.plots.imputation import plot_calibrated_imputation

resp = next((name for name, kind in kinds.items() if kind == "resp"), None)
if resp is None or len(run.modalities) < 2:
    print("no respiration beside other sensors: nothing to impute")
else:
    recording = test_recordings[0]
    seconds = calibrate_seconds or min(120.0, recording.duration(resp) / 3)
    full = run.reconstruct([recording], reconstructor=lambda w: w)
    try:
        imputations = {"uncalibrated": run.reconstruct([recording], missing=[resp]),
                       "calibrated": run.reconstruct([recording], missing=[resp], calibrate_seconds=seconds)}
    except ValueError as error:  # a calibration stretch that cannot calibrate names the subject and why
        print(error)
    else:
        imputations = {label: with_originals(recons, full)[0] for label, recons in imputations.items()}
        save(plot_calibrated_imputation(imputations, resp, seconds), figures_dir, f"calibrated_imputation_{split}")

# %% [markdown]
# ## Does the latent carry the physiology?
# A linear probe (ridge, its penalty chosen by cross-validation with folds
# grouped by subject) fitted on the training subjects' windows predicts the
# bedside monitor's value (heart rate by default, averaged over each window) for
# the test subjects: from the MiMo-AE latent, from PCA codes of the same size,
# and from the rates NeuroKit2 detects in each raw window. The latent is worth
# reusing when it predicts at least as well as PCA.

# %%
numerics = cohort_numerics(params)
if numerics is None:
    print("no monitor numerics come with these recordings")
else:
    display(evaluate_downstream(run.model, run.split("train"), windows, numerics, numeric, kinds))

# %% [markdown]
# ## Explorer
# Pick a subject, one of its windows and a modality. The panel needs a live
# kernel with widgets; the per-subject figure above is the same view without them.

# %%
if interactive:
    display(browser.widget)

# %% [markdown]
# ## Compression in bits
# The latent as a real code: each number on 4 to 32 bits plus each window's mean
# and standard deviation per modality (float16), its size counted in bytes against
# the recording's own resolution (`data.bits_per_sample`, or the WFDB headers).
# At each fixed ratio the latent is also coded with a depth per dimension, more
# bits where the decoder's output is most sensitive (`mimo encode --depth-per-dimension`).
# PCA of the same size is coded the same way; wavelet and DCT codecs code each
# modality within the same bits per window and at fixed ratios, on the same
# windows. Lower and further right is better; the table is written into the run
# folder (`benchmarks/bench_compression.py` compares several runs).

# %%
from mimo_lib.data.sources import sample_bits
from mimo_lib.evaluation.rate_distortion import Target, rate_distortion
from mimo_lib.plots.compression import plot_rate_distortion

resolution = sample_bits(params)
compression = rate_distortion(run.model, run.split("train"), Target(windows, [resolution[m] for m in windows.modalities]))
compression.to_csv(run_dir / f"compression_{split}.csv", index=False)
save(plot_rate_distortion(compression), figures_dir, f"rate_distortion_{split}")
compression[compression["modality"] == "mean"].round(2)
