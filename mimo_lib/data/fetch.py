"""Download (or copy) public datasets into ``data/raw/`` and verify their checksums.

:func:`fetch_bidmc` gets the CSV release of the BIDMC PPG and Respiration
Dataset from PhysioNet, one file at a time into a ``.part`` file that a later
call resumes (HTTP ``Range``), and checks every file against PhysioNet's
``SHA256SUMS.txt`` before giving it its final name.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from mimo_lib.config import PROJECT_ROOT

BIDMC_URL = "https://physionet.org/files/bidmc/1.0.0/"
BIDMC_DEST = PROJECT_ROOT / "data" / "raw" / "bidmc"
SUMS_FILE = "SHA256SUMS.txt"
# Files of the CSV release, e.g. bidmc_csv/bidmc_07_Signals.csv; group `subject` is "07".
_BIDMC_CSV = re.compile(r"bidmc_csv/bidmc_(?P<subject>\d{2})_[A-Za-z]+\.(?:csv|txt)")
_CHUNK = 1 << 16


class FetchError(RuntimeError):
    """A dataset file that could not be fetched or does not match its checksum."""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def parse_sums(text: str, origin: str) -> dict[str, str]:
    """``{relative path: sha256}`` from ``sha256sum``-style lines (``<hash> [*]<path>``)."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *]?(.+)", line.strip())
        if match is None:
            raise FetchError(f"{origin} line {number} is not '<sha256> <path>': {line!r}")
        sums[match.group(2)] = match.group(1).lower()
    return sums


def download(url: str, part: Path, progress: bool = True, timeout: float = 60.0) -> None:
    """Download ``url`` into ``part``, continuing from the bytes already there.

    Sends ``Range: bytes=<size>-`` when ``part`` exists; a server that answers
    with the whole file (200) restarts it from the beginning.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            part.unlink()  # the partial file is longer than the file itself: start again
            return download(url, part, progress, timeout)
        raise FetchError(f"download of {url} failed: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise FetchError(f"cannot reach {url}: {error.reason}") from error
    with response:
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise FetchError(f"{url}: asked for bytes from {offset}, server sent range {content_range!r}")
            mode = "ab"
        else:
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length else None
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as handle, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=part.name.removesuffix(".part"),
            leave=False, disable=not progress,
        ) as bar:
            while chunk := response.read(_CHUNK):
                handle.write(chunk)
                bar.update(len(chunk))
    return None


def _subject_id(subject: str | int) -> str:
    text = str(subject).strip()
    if not text.isdigit():
        raise FetchError(f"BIDMC subject ids are numbers such as '01' or '7', got {subject!r}")
    return f"{int(text):02d}"


def _commit(part: Path, target: Path, expected: str, label: str) -> None:
    """Give ``part`` its final name if its checksum is ``expected``; otherwise delete it and fail."""
    actual = sha256(part)
    if actual != expected:
        part.unlink()
        raise FetchError(
            f"checksum mismatch for {label}: SHA256SUMS.txt says {expected}, the file has {actual}; "
            "it was deleted, fetch again (or check the source copy)"
        )
    part.replace(target)


def _select(sums: dict[str, str], subjects: list[str] | None, source: Path | None) -> list[str]:
    """Relative paths to fetch: the CSV release from the sums, or what the local copy holds."""
    released = {name: match.group("subject") for name in sums if (match := _BIDMC_CSV.fullmatch(name))}
    if not released:
        raise FetchError(f"{SUMS_FILE} lists no bidmc_csv/ files")
    if source is not None:
        present = sorted(p.relative_to(source).as_posix() for p in (source / "bidmc_csv").glob("*") if p.is_file())
        unlisted = [name for name in present if name not in sums]
        if unlisted:
            raise FetchError(f"{source}: {unlisted} are not listed in {source / SUMS_FILE}, cannot verify them")
        if subjects is None:
            return [name for name in present if name in released]
    if subjects is None:
        return sorted(released)
    wanted = [_subject_id(subject) for subject in subjects]
    known = sorted(set(released.values()))
    unknown = [subject for subject in wanted if subject not in known]
    if unknown:
        raise FetchError(f"BIDMC has no subjects {unknown}; {SUMS_FILE} lists subjects {known[0]}–{known[-1]}")
    return sorted(name for name, subject in released.items() if subject in wanted)


def fetch_bidmc(
    dest: Path | None = None,
    source: Path | None = None,
    subjects: list[str] | None = None,
    progress: bool = True,
    base_url: str = BIDMC_URL,
) -> list[Path]:
    """Fetch the BIDMC CSV release into ``dest`` (default ``data/raw/bidmc``) and verify it.

    Downloads ``SHA256SUMS.txt`` and the files under ``bidmc_csv/`` from
    ``base_url`` (PhysioNet), or copies them from a local copy ``source`` (a
    folder holding ``SHA256SUMS.txt`` and ``bidmc_csv/``; without ``subjects``
    every subject it holds). Files already in ``dest`` that verify are kept, as
    is a downloaded ``SHA256SUMS.txt``; partial downloads resume. Returns the
    verified ``bidmc_csv/`` files.
    """
    dest = Path(dest) if dest is not None else BIDMC_DEST
    dest.mkdir(parents=True, exist_ok=True)
    sums_path = dest / SUMS_FILE
    if source is not None:
        source = Path(source)
        if not (source / SUMS_FILE).is_file():
            raise FetchError(f"{source} has no {SUMS_FILE}; a local copy needs PhysioNet's checksums beside bidmc_csv/")
        shutil.copyfile(source / SUMS_FILE, sums_path)
    elif not sums_path.is_file():
        part = sums_path.with_name(SUMS_FILE + ".part")
        part.unlink(missing_ok=True)
        download(base_url + SUMS_FILE, part, progress)
        part.replace(sums_path)
    sums = parse_sums(sums_path.read_text(), str(sums_path))

    names = _select(sums, subjects, source)
    (dest / "bidmc_csv").mkdir(exist_ok=True)
    for name in tqdm(names, desc="BIDMC", unit="file", disable=not progress):
        target = dest / name
        if target.is_file() and sha256(target) == sums[name]:
            continue
        part = target.with_name(target.name + ".part")
        if source is not None:
            origin = source / name
            if not origin.is_file():
                raise FetchError(f"{origin} is missing from the local copy {source}")
            shutil.copyfile(origin, part)
            _commit(part, target, sums[name], str(origin))
            continue
        if not (part.is_file() and sha256(part) == sums[name]):
            download(base_url + name, part, progress)
        _commit(part, target, sums[name], name)
    return [dest / name for name in names]
