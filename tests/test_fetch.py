"""BIDMC fetcher: checksums, tampering, resumed downloads, local copies (loopback server only)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mimo_lib.data.fetch import FetchError, fetch_bidmc, parse_sums


def _write_release(root: Path, subjects: list[str]) -> dict[str, bytes]:
    """A tiny dataset laid out like the PhysioNet release, with its SHA256SUMS.txt."""
    files: dict[str, bytes] = {}
    for subject in subjects:
        rows = "".join(f"{i / 125:.3f}, {i % 7 / 10}, {i % 5 / 10}, 0.5, 0.1, {i % 11 / 10}\n" for i in range(400))
        files[f"bidmc_csv/bidmc_{subject}_Signals.csv"] = ("Time [s], RESP, PLETH, V, AVR, II\n" + rows).encode()
        files[f"bidmc_csv/bidmc_{subject}_Fix.txt"] = f"Age: {40 + int(subject)}\n".encode()
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    sums = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    sums["bidmc01.hea"] = "0" * 64  # WFDB files are listed too; the CSV fetcher ignores them
    (root / "SHA256SUMS.txt").write_text("".join(f"{digest} {name}\n" for name, digest in sums.items()))
    return files


class _RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single ``bytes=N-`` ranges; records every request's Range header."""

    log: list[tuple[str, str | None]]
    honour_range = True

    def do_GET(self) -> None:
        self.log.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        content = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and self.honour_range:
            start = int(match.group(1))
            if start >= len(content):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
            content = content[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, bytes], type[_RangeHandler]]]:
    """A loopback HTTP server over a tiny two-subject release: (base url, folder, files, handler class)."""
    folder = tmp_path / "server"
    files = _write_release(folder, ["01", "02"])
    handler = type("Handler", (_RangeHandler,), {"log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", folder, files, handler
    server.shutdown()
    server.server_close()


def test_downloads_and_verifies_every_csv_file(served, tmp_path: Path) -> None:
    url, _, files, _ = served
    dest = tmp_path / "dest"
    paths = fetch_bidmc(dest, base_url=url, progress=False)
    assert sorted(p.relative_to(dest).as_posix() for p in paths) == sorted(files)
    for name, content in files.items():
        assert (dest / name).read_bytes() == content
    assert (dest / "SHA256SUMS.txt").is_file()
    assert not list(dest.rglob("*.part"))


def test_subjects_selects_files_and_verified_files_are_not_fetched_again(served, tmp_path: Path) -> None:
    url, _, _, handler = served
    dest = tmp_path / "dest"
    paths = fetch_bidmc(dest, subjects=["2"], base_url=url, progress=False)
    assert sorted(p.name for p in paths) == ["bidmc_02_Fix.txt", "bidmc_02_Signals.csv"]
    assert not (dest / "bidmc_csv" / "bidmc_01_Signals.csv").exists()
    handler.log.clear()
    fetch_bidmc(dest, subjects=["02"], base_url=url, progress=False)
    assert handler.log == []


def test_resumes_a_partial_download_with_a_range_request(served, tmp_path: Path) -> None:
    url, _, files, handler = served
    dest = tmp_path / "dest"
    name = "bidmc_csv/bidmc_01_Signals.csv"
    part = dest / (name + ".part")
    part.parent.mkdir(parents=True)
    half = len(files[name]) // 2
    part.write_bytes(files[name][:half])
    fetch_bidmc(dest, subjects=["01"], base_url=url, progress=False)
    assert (dest / name).read_bytes() == files[name]
    assert not part.exists()
    assert ("/" + name, f"bytes={half}-") in handler.log


def test_a_server_ignoring_range_restarts_the_file(served, tmp_path: Path) -> None:
    url, _, files, handler = served
    handler.honour_range = False
    dest = tmp_path / "dest"
    name = "bidmc_csv/bidmc_01_Fix.txt"
    part = dest / (name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"Age")
    fetch_bidmc(dest, subjects=["01"], base_url=url, progress=False)
    assert (dest / name).read_bytes() == files[name]


def test_a_tampered_download_is_rejected_by_name(served, tmp_path: Path) -> None:
    url, folder, _, _ = served
    tampered = folder / "bidmc_csv" / "bidmc_02_Signals.csv"
    tampered.write_bytes(tampered.read_bytes().replace(b"0.5", b"0.6", 1))
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match="bidmc_02_Signals.csv"):
        fetch_bidmc(dest, base_url=url, progress=False)
    assert not (dest / "bidmc_csv" / "bidmc_02_Signals.csv").exists()
    assert not list(dest.rglob("*.part"))


def test_unknown_subject_is_an_error(served, tmp_path: Path) -> None:
    url, _, _, _ = served
    with pytest.raises(FetchError, match=r"no subjects \['07'\]"):
        fetch_bidmc(tmp_path / "dest", subjects=["7"], base_url=url, progress=False)


def test_copies_from_a_local_source_with_the_same_checks(tmp_path: Path) -> None:
    source = tmp_path / "copy"
    files = _write_release(source, ["01", "02"])
    dest = tmp_path / "dest"
    paths = fetch_bidmc(dest, source=source, progress=False)
    assert sorted(p.relative_to(dest).as_posix() for p in paths) == sorted(files)
    assert all((dest / name).read_bytes() == content for name, content in files.items())

    (source / "bidmc_csv" / "bidmc_01_Fix.txt").write_text("Age: 99\n")
    (dest / "bidmc_csv" / "bidmc_01_Fix.txt").unlink()
    with pytest.raises(FetchError, match="bidmc_01_Fix.txt"):
        fetch_bidmc(dest, source=source, progress=False)


def test_a_local_file_missing_from_the_sums_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "copy"
    _write_release(source, ["01"])
    (source / "bidmc_csv" / "bidmc_01_Extra.csv").write_text("x\n")
    with pytest.raises(FetchError, match="bidmc_01_Extra.csv"):
        fetch_bidmc(tmp_path / "dest", source=source, progress=False)


def test_malformed_sums_line_is_reported() -> None:
    with pytest.raises(FetchError, match="line 2"):
        parse_sums("0" * 64 + " a.csv\nnot a checksum\n", "SHA256SUMS.txt")


def test_copies_a_real_subject_against_physionet_sums(bidmc_dir: Path, tmp_path: Path) -> None:
    paths = fetch_bidmc(tmp_path / "bidmc", source=bidmc_dir, subjects=["1"], progress=False)
    assert sorted(p.name for p in paths) == [
        "bidmc_01_Breaths.csv", "bidmc_01_Fix.txt", "bidmc_01_Numerics.csv", "bidmc_01_Signals.csv",
    ]
    assert all(p.is_file() for p in paths)
