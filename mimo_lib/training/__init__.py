"""Training stage: the training loop, its batches, augmentations, schedule, loss, checkpoints, processes and tracking."""
