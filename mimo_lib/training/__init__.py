"""Training stage: the training loop, its augmentations, schedule, loss, checkpoints, processes and tracking."""
