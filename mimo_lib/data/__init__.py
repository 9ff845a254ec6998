"""Data stage: recordings from sources -> filtered, resampled, windowed, normalised WindowSets (and fetching)."""

from mimo_lib.data import sources  # noqa: F401  (registers the built-in sources)
