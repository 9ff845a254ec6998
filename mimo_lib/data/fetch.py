"""Download (or copy) PhysioNet databases into ``data/raw/`` and verify their checksums.

:func:`fetch_physionet` gets any PhysioNet database, ``DATABASE/VERSION``:
every file its ``SHA256SUMS.txt`` lists, or the files of chosen records
(header, signal and annotation files and, for a multi-segment record, its
layout and segments). :func:`fetch_bidmc` gets the CSV release of the BIDMC
PPG and Respiration Dataset. Each file comes into a ``.part`` file that a later
call resumes (HTTP ``Range``) and gets its final name once its checksum
matches; files already in place that verify are not fetched again.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import wfdb
from tqdm.auto import tqdm

from mimo_lib.config import project_path

PHYSIONET_URL = "https://physionet.org/files/"
BIDMC_URL = PHYSIONET_URL + "bidmc/1.0.0/"
BIDMC_DEST = project_path("data/raw/bidmc")
SUMS_FILE = "SHA256SUMS.txt"
RECORDS_FILE = "RECORDS"
# PhysioNet names a database by its slug and version, e.g. mimic3wdb-matched/1.0.
_DATABASE = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*)/(?P<version>\d+(?:\.\d+)*)")
# Files of the CSV release, e.g. bidmc_csv/bidmc_07_Signals.csv; group `subject` is "07".
_BIDMC_CSV = re.compile(r"bidmc_csv/bidmc_(?P<subject>\d{2})_[A-Za-z]+\.(?:csv|txt)")
_CHUNK = 1 << 16


class FetchError(RuntimeError):
    """A dataset file that could not be fetched or does not match its checksum."""


class FileAbsent(FetchError):
    """A file that the server or the local copy does not have."""


class UnverifiedWarning(UserWarning):
    """Files fetched without a checksum to check them against."""


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
    with the whole file (200) restarts it from the beginning. A file the server
    does not have (404) raises :class:`FileAbsent`.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            part.unlink()  # the partial file is longer than the file itself: start again
            return download(url, part, progress, timeout)
        failure = FileAbsent if error.code == 404 else FetchError
        raise failure(f"download of {url} failed: HTTP {error.code} {error.reason}") from error
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


@dataclass(frozen=True)
class _Origin:
    """Where a dataset's files come from: a URL ending in ``/`` or a local copy's folder."""

    url: str = ""
    folder: Path | None = None

    def __str__(self) -> str:
        return str(self.folder) if self.folder is not None else self.url

    def label(self, name: str) -> str:
        """The file ``name`` (a path relative to the dataset) as this origin calls it."""
        return str(self.folder / name) if self.folder is not None else self.url + name

    def get(self, name: str, part: Path, progress: bool) -> None:
        """Copy or download the file ``name`` into ``part`` (a download resumes what ``part`` holds)."""
        if self.folder is None:
            download(self.url + name, part, progress)
            return
        if not (self.folder / name).is_file():
            raise FileAbsent(f"{self.folder / name} is missing from the local copy {self.folder}")
        part.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.folder / name, part)


def _commit(part: Path, target: Path, expected: str, label: str) -> None:
    """Give ``part`` its final name if its checksum is ``expected``; otherwise delete it and fail."""
    actual = sha256(part)
    if actual != expected:
        part.unlink()
        raise FetchError(
            f"checksum mismatch for {label}: {SUMS_FILE} says {expected}, the file has {actual}; "
            "it was deleted, fetch again (or check the source copy)"
        )
    part.replace(target)


def _sums(origin: _Origin, dest: Path, progress: bool) -> dict[str, str] | None:
    """The origin's ``SHA256SUMS.txt`` (a downloaded one already in ``dest`` is kept), None where it has none."""
    path = dest / SUMS_FILE
    if origin.folder is not None or not path.is_file():
        part = path.with_name(SUMS_FILE + ".part")
        part.unlink(missing_ok=True)
        try:
            origin.get(SUMS_FILE, part, progress)
        except FileAbsent:
            return None
        part.replace(path)
    return parse_sums(path.read_text(), str(path))


def _same_stem(sums: dict[str, str], record: str) -> list[str]:
    """The files ``sums`` lists as ``<record>.<extension>`` (header, signals, annotations)."""
    return [name for name in sums if name.startswith(f"{record}.") and "/" not in name[len(record) + 1 :]]


@dataclass
class _Fetcher:
    """Fetches files of one dataset into ``dest``; with ``sums``, each must be listed there and match its checksum."""

    origin: _Origin
    dest: Path
    sums: dict[str, str] | None
    progress: bool

    def file(self, name: str) -> Path:
        """The file ``name`` in ``dest``: kept when already there and verified, fetched otherwise."""
        if self.sums is not None and name not in self.sums:
            raise FetchError(f"{self.origin.label(name)} is not listed in {SUMS_FILE}; cannot verify it")
        expected = self.sums[name] if self.sums is not None else None
        target = self.dest / name
        if target.is_file() and (expected is None or sha256(target) == expected):
            return target
        part = target.with_name(target.name + ".part")
        resumed = self.origin.folder is None and expected is not None and part.is_file() and sha256(part) == expected
        if not resumed:
            self.origin.get(name, part, self.progress)
        if expected is None:
            part.replace(target)
        else:
            _commit(part, target, expected, self.origin.label(name))
        return target

    def record(self, name: str, of: str = "") -> list[str]:
        """Every file of WFDB record ``name`` (a path without extension), its header fetched to find them.

        A multi-segment record brings its layout and segments; with checksums,
        every listed ``<name>.<ext>`` file (annotations among them) comes too.
        ``of`` names the record a segment belongs to, for errors.
        """
        header = f"{name}.hea"
        which = f"segment {name!r} of record {of!r}" if of else f"record {name!r}"
        if self.sums is not None and header not in self.sums:
            raise FetchError(f"{self.origin} has no {which}: {header} is not listed in {SUMS_FILE}")
        try:
            record = wfdb.rdheader(str(self.file(header))[: -len(".hea")])
        except FileAbsent as error:
            raise FetchError(f"{self.origin} has no {which}: {error}") from error
        folder = posixpath.dirname(name)
        names = [header]
        if isinstance(record, wfdb.MultiRecord):
            for segment in (posixpath.join(folder, s) for s in record.seg_name if s != "~"):
                names += self.record(segment, of or name)
        else:
            names += [posixpath.join(folder, file) for file in record.file_name or [] if file != "~"]
        names += _same_stem(self.sums or {}, name)
        return list(dict.fromkeys(names))

    def listed_files(self, folder: str = "") -> list[str]:
        """``RECORDS`` in ``folder`` and every file of the records it names, descending into sub-folders (``p00/``)."""
        index = posixpath.join(folder, RECORDS_FILE)
        names = [index]
        for line in self.file(index).read_text().split():
            entry = posixpath.join(folder, line)
            names += self.listed_files(entry.rstrip("/")) if line.endswith("/") else self.record(entry)
        return names


def _database(database: str) -> tuple[str, str]:
    match = _DATABASE.fullmatch(database.strip("/"))
    if match is None:
        raise FetchError(f"a PhysioNet database is named DATABASE/VERSION, e.g. 'bidmc/1.0.0'; got {database!r}")
    return match.group("name"), match.group("version")


def physionet_dest(database: str) -> Path:
    """Where ``DATABASE/VERSION`` goes by default: ``data/raw/<database>`` in the project."""
    return project_path(Path("data") / "raw" / _database(database)[0])


def _local_files(folder: Path, sums: dict[str, str]) -> list[str]:
    """The files of a local copy (its checksum file aside); each one must be listed in ``sums``."""
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != SUMS_FILE)
    unlisted = [name for name in present if name not in sums]
    if unlisted:
        raise FetchError(f"{folder}: {unlisted} are not listed in {folder / SUMS_FILE}, cannot verify them")
    return present


def _wanted(fetcher: _Fetcher, records: list[str] | None) -> list[str]:
    """The files to fetch: those of ``records``, else the whole database (or the whole local copy)."""
    if records is not None:
        return list(dict.fromkeys(name for record in records for name in fetcher.record(record.strip("/"))))
    if fetcher.sums is None:
        return list(dict.fromkeys(fetcher.listed_files()))
    if fetcher.origin.folder is not None:
        return _local_files(fetcher.origin.folder, fetcher.sums)
    return sorted(fetcher.sums)


def fetch_physionet(
    database: str,
    dest: Path | None = None,
    source: Path | None = None,
    records: list[str] | None = None,
    verify: bool = True,
    progress: bool = True,
    base_url: str = PHYSIONET_URL,
) -> list[Path]:
    """Fetch the PhysioNet database ``DATABASE/VERSION`` (e.g. ``bidmc/1.0.0``) into ``dest`` and verify it.

    Downloads from ``base_url`` (PhysioNet) or copies from a local copy
    ``source`` laid out like the database. ``records`` (paths as ``RECORDS``
    names them, without extension) fetches only their files; without it, every
    file ``SHA256SUMS.txt`` lists (from a local copy: every file it holds). A
    database without ``SHA256SUMS.txt`` is refused unless ``verify`` is False;
    its records (``records``, else all that ``RECORDS`` names) then come
    unchecked, headers and signal files only, with an :class:`UnverifiedWarning`.
    ``dest`` defaults to ``data/raw/<database>`` in the project. Returns the
    fetched files.
    """
    name, version = _database(database)
    dest = Path(dest) if dest is not None else physionet_dest(database)
    origin = _Origin(folder=Path(source)) if source is not None else _Origin(url=f"{base_url}{name}/{version}/")
    dest.mkdir(parents=True, exist_ok=True)
    sums = _sums(origin, dest, progress)
    if sums is None and verify:
        raise FetchError(
            f"{origin} has no {SUMS_FILE}, so its files cannot be verified; "
            "fetch them unchecked with --no-verify (verify=False) only if you trust the source"
        )
    if sums is None:
        warnings.warn(
            f"{database}: {origin} has no {SUMS_FILE}; files are fetched UNVERIFIED, "
            "a damaged or altered file will not be noticed",
            UnverifiedWarning,
            stacklevel=2,
        )
    fetcher = _Fetcher(origin, dest, sums, progress)
    names = _wanted(fetcher, records)
    return [fetcher.file(name) for name in tqdm(names, desc=name, unit="file", disable=not progress)]


def _subject_id(subject: str | int) -> str:
    text = str(subject).strip()
    if not text.isdigit():
        raise FetchError(f"BIDMC subject ids are numbers such as '01' or '7', got {subject!r}")
    return f"{int(text):02d}"


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
    """Fetch the BIDMC CSV release into ``dest`` (default ``data/raw/bidmc`` in the project) and verify it.

    Downloads ``SHA256SUMS.txt`` and the files under ``bidmc_csv/`` from
    ``base_url`` (PhysioNet), or copies them from a local copy ``source`` (a
    folder holding ``SHA256SUMS.txt`` and ``bidmc_csv/``; without ``subjects``
    every subject it holds). Files already in ``dest`` that verify are kept, as
    is a downloaded ``SHA256SUMS.txt``; partial downloads resume. Returns the
    verified ``bidmc_csv/`` files.
    """
    dest = Path(dest) if dest is not None else BIDMC_DEST
    origin = _Origin(folder=Path(source)) if source is not None else _Origin(url=base_url)
    dest.mkdir(parents=True, exist_ok=True)
    sums = _sums(origin, dest, progress)
    if sums is None:
        raise FetchError(f"{origin} has no {SUMS_FILE}; a copy of BIDMC needs PhysioNet's checksums beside bidmc_csv/")
    fetcher = _Fetcher(origin, dest, sums, progress)
    names = _select(sums, subjects, origin.folder)
    return [fetcher.file(name) for name in tqdm(names, desc="BIDMC", unit="file", disable=not progress)]
