"""Data stage: recordings from sources -> filtered, resampled, windowed, normalised WindowSets (and fetching)."""
