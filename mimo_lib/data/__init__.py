"""Data stage: recordings from sources -> filtered, resampled, windowed, normalised WindowSets (and fetching),
stored on disk and read back a batch at a time; how one prepared signal follows another (coupling)."""

from mimo_lib.data import sources  # noqa: F401  (registers the built-in sources)
