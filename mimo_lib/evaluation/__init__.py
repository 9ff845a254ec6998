"""Evaluation stage: metrics, baselines, evaluation against PCA, robustness, coupling, probes and comparisons."""
