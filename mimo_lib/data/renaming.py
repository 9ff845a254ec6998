"""Recordings from other devices: their signal names mapped onto a run's modalities.

A mapping goes from the name a signal has in the recordings to the modality a
run knows it as, e.g. ``{"RSP": "RESP", "PPG": "PLETH", "ECG": "II"}`` for a
lab recording given to a model trained on BIDMC. Names the mapping leaves out
are read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mimo_lib.data.types import Recording


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["RSP=RESP", "PPG=PLETH"]`` (command-line ``--map`` values) as ``{"RSP": "RESP", "PPG": "PLETH"}``."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, modality = item.partition("=")
        if not sep or not name.strip() or not modality.strip():
            raise ValueError(f"--map {item!r}: expected NAME=MODALITY, e.g. --map RSP=RESP")
        if name.strip() in mapping:
            raise ValueError(f"--map {item!r}: {name.strip()!r} is already mapped to {mapping[name.strip()]!r}")
        mapping[name.strip()] = modality.strip()
    return mapping


def check_mapping(mapping: Mapping[str, str] | None, modalities: Sequence[str]) -> dict[str, str]:
    """``mapping`` checked against the run's ``modalities``: each target is one of them, and once only."""
    mapping = dict(mapping or {})
    unknown = sorted({modality for modality in mapping.values() if modality not in modalities})
    if unknown:
        raise ValueError(f"mapping targets {unknown} are not modalities of the run; its modalities are {list(modalities)}")
    for modality in modalities:
        sources = [name for name, target in mapping.items() if target == modality]
        if len(sources) > 1:
            raise ValueError(f"modality {modality!r} is mapped from more than one name: {sources}")
    return mapping


def recorded_names(modalities: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """The name each of ``modalities`` has in the recordings."""
    inverse = {modality: name for name, modality in mapping.items()}
    return [inverse.get(modality, modality) for modality in modalities]


def renamed(recording: Recording, mapping: Mapping[str, str]) -> Recording:
    """``recording`` with its signals named as the run's modalities."""
    if not mapping:
        return recording
    return Recording(
        recording.subject,
        {mapping.get(name, name): values for name, values in recording.signals.items()},
        {mapping.get(name, name): rate for name, rate in recording.rates.items()},
        origin=recording.origin,
        units={mapping.get(name, name): unit for name, unit in recording.units.items()},
    )
