"""Evaluation stage: metrics, baselines, evaluation against PCA, robustness, probes and comparisons."""
