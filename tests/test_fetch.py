"""Fetchers of BIDMC and any PhysioNet database: checksums, tampering, resumed downloads, local copies, records
with their segments (loopback server and local folders only)."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import wfdb
from helpers import PROJECT_ROOT, sine, write_multi_segment

from mimo_lib.cli import main
from mimo_lib.data.fetch import FetchError, UnverifiedWarning, fetch_bidmc, fetch_physionet, parse_sums, physionet_dest
from mimo_lib.data.sources.wfdb_source import read_wfdb_record


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


def _serve(folder: Path) -> Iterator[tuple[str, type[_RangeHandler]]]:
    """A loopback HTTP server over ``folder``: (base url, handler class holding the request log)."""
    handler = type("Handler", (_RangeHandler,), {"log": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, bytes], type[_RangeHandler]]]:
    """A loopback HTTP server over a tiny two-subject release: (base url, folder, files, handler class)."""
    folder = tmp_path / "server"
    files = _write_release(folder, ["01", "02"])
    for url, handler in _serve(folder):
        yield url, folder, files, handler


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


# Any PhysioNet database ---------------------------------------------------------------------------------------------

DATABASE = "toydb/1.0.0"
STAY = {"p00/stay.hea", "p00/stay_layout.hea", "p00/stay_1.hea", "p00/stay_1.dat", "p00/stay_2.hea", "p00/stay_2.dat"}
REC1 = {"rec1.hea", "rec1.dat", "rec1.breath"}


def _write_database(root: Path, sums: bool = True) -> set[str]:
    """A small database laid out like PhysioNet's: two records, a multi-segment one in p00/, nested RECORDS.

    Returns every file's path relative to ``root`` (``SHA256SUMS.txt`` aside).
    """
    root.mkdir(parents=True)
    for name in ["rec1", "rec2"]:
        wfdb.wrsamp(name, fs=50, units=["mV"], sig_name=["ECG"], p_signal=sine(100, 0)[:, None], fmt=["16"],
                    write_dir=str(root))
    (root / "rec1.breath").write_bytes(b"annotations")
    write_multi_segment(root / "p00", "stay", [("stay_1", {"PLETH": sine(60, 1)}), 40, ("stay_2", {"PLETH": sine(30, 2)})],
                        layout={"PLETH": "NU", "ABP": "mmHg"})
    (root / "RECORDS").write_text("rec1\nrec2\np00/\n")
    (root / "p00" / "RECORDS").write_text("stay\n")
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    if sums:
        lines = [f"{hashlib.sha256((root / name).read_bytes()).hexdigest()} {name}\n" for name in sorted(files)]
        (root / "SHA256SUMS.txt").write_text("".join(lines))
    return files


def _fetched(dest: Path, paths: list[Path]) -> set[str]:
    return {p.relative_to(dest).as_posix() for p in paths}


def test_physionet_copies_every_listed_file_of_a_local_copy(tmp_path: Path) -> None:
    files = _write_database(tmp_path / "copy")
    dest = tmp_path / "dest"
    paths = fetch_physionet(DATABASE, dest, source=tmp_path / "copy", progress=False)
    assert _fetched(dest, paths) == files
    assert all((dest / name).read_bytes() == (tmp_path / "copy" / name).read_bytes() for name in files)
    assert (dest / "SHA256SUMS.txt").is_file()
    assert not list(dest.rglob("*.part"))


def test_records_bring_only_their_files_with_layout_and_segments(tmp_path: Path) -> None:
    _write_database(tmp_path / "copy")
    dest = tmp_path / "dest"
    paths = fetch_physionet(DATABASE, dest, source=tmp_path / "copy", records=["p00/stay", "rec1"], progress=False)
    assert _fetched(dest, paths) == STAY | REC1
    assert not (dest / "rec2.hea").exists()
    pleth = read_wfdb_record(dest / "p00" / "stay", ["PLETH"]).signals["PLETH"]
    assert pleth.shape == (130,) and np.isnan(pleth[60:100]).all()


def test_an_unknown_record_is_named(tmp_path: Path) -> None:
    _write_database(tmp_path / "copy")
    with pytest.raises(FetchError, match=r"no record 'rec9': rec9\.hea is not listed in SHA256SUMS\.txt"):
        fetch_physionet(DATABASE, tmp_path / "dest", source=tmp_path / "copy", records=["rec9"], progress=False)


def test_a_tampered_segment_is_rejected_by_name(tmp_path: Path) -> None:
    _write_database(tmp_path / "copy")
    segment = tmp_path / "copy" / "p00" / "stay_2.dat"
    segment.write_bytes(segment.read_bytes()[::-1])
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=r"checksum mismatch for .*p00/stay_2\.dat"):
        fetch_physionet(DATABASE, dest, source=tmp_path / "copy", records=["p00/stay"], progress=False)
    assert not (dest / "p00" / "stay_2.dat").exists()
    assert not list(dest.rglob("*.part"))


def test_a_missing_segment_is_named(tmp_path: Path) -> None:
    _write_database(tmp_path / "copy")
    (tmp_path / "copy" / "p00" / "stay_2.hea").unlink()
    with pytest.raises(FetchError, match=r"segment 'p00/stay_2' of record 'p00/stay'.*stay_2\.hea is missing"):
        fetch_physionet(DATABASE, tmp_path / "dest", source=tmp_path / "copy", records=["p00/stay"], progress=False)


def test_a_database_without_checksums_is_refused_unless_unverified(tmp_path: Path) -> None:
    files = _write_database(tmp_path / "copy", sums=False)
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=r"has no SHA256SUMS\.txt.*--no-verify"):
        fetch_physionet(DATABASE, dest, source=tmp_path / "copy", progress=False)
    with pytest.warns(UnverifiedWarning, match="UNVERIFIED"):
        paths = fetch_physionet(DATABASE, dest, source=tmp_path / "copy", verify=False, progress=False)
    # every record RECORDS names, down into p00/: headers and signal files (annotations are not known without sums)
    assert _fetched(dest, paths) == files - {"rec1.breath"}


def test_physionet_downloads_resume_and_verified_files_are_not_fetched_again(tmp_path: Path) -> None:
    _write_database(tmp_path / "server" / "toydb" / "1.0.0")
    content = (tmp_path / "server" / "toydb" / "1.0.0" / "rec1.dat").read_bytes()
    dest = tmp_path / "dest"
    (dest / "rec1.dat.part").parent.mkdir(parents=True)
    (dest / "rec1.dat.part").write_bytes(content[:50])
    for url, handler in _serve(tmp_path / "server"):
        paths = fetch_physionet(DATABASE, dest, records=["rec1"], base_url=url, progress=False)
        assert _fetched(dest, paths) == REC1
        assert (dest / "rec1.dat").read_bytes() == content
        assert ("/toydb/1.0.0/rec1.dat", "bytes=50-") in handler.log
        handler.log.clear()
        fetch_physionet(DATABASE, dest, records=["rec1"], base_url=url, progress=False)
        assert handler.log == []


def test_a_server_without_checksums_is_refused(tmp_path: Path) -> None:
    _write_database(tmp_path / "server" / "toydb" / "1.0.0", sums=False)
    for url, _ in _serve(tmp_path / "server"):
        with pytest.raises(FetchError, match="has no SHA256SUMS.txt"):
            fetch_physionet(DATABASE, tmp_path / "dest", records=["rec1"], base_url=url, progress=False)


def test_a_database_is_named_with_its_version() -> None:
    assert physionet_dest("mimic3wdb-matched/1.0") == PROJECT_ROOT / "data" / "raw" / "mimic3wdb-matched"
    with pytest.raises(FetchError, match=r"DATABASE/VERSION.*'bidmc'"):
        physionet_dest("bidmc")


def test_cli_fetches_records_and_warns_loudly_when_unverified(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_database(tmp_path / "copy", sums=False)
    dest = tmp_path / "dest"
    command = ["data", "fetch", "physionet", DATABASE, "--source", str(tmp_path / "copy"), "--dest", str(dest),
               "--records", "rec1", "rec2"]
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 2
    assert "error: " in capsys.readouterr().err
    main([*command, "--no-verify"])
    captured = capsys.readouterr()
    assert "WARNING: toydb/1.0.0:" in captured.err and "UNVERIFIED" in captured.err
    assert f"4 files in {dest}" in captured.out


def test_real_variable_layout_record_names_its_first_missing_segment(wfdb_dir: Path, tmp_path: Path) -> None:
    """The shipped part of p000878 (layout and two of 32 segments) as a local copy of a database."""
    copy = tmp_path / "copy"
    shutil.copytree(wfdb_dir / "multi-segment" / "p000878", copy)
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.name}\n" for p in sorted(copy.iterdir())]
    (copy / "SHA256SUMS.txt").write_text("".join(sums))
    record = "p000878-2137-10-26-16-57"
    with pytest.raises(FetchError, match=rf"segment '3269321_0003' of record '{record}'"):
        fetch_physionet("mimic3wdb-matched/1.0", tmp_path / "dest", source=copy, records=[record], progress=False)
    paths = fetch_physionet("mimic3wdb-matched/1.0", tmp_path / "dest", source=copy, progress=False)
    assert len(paths) == 6


def test_cli_bidmc_shortcut_copies_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _write_release(tmp_path / "copy", ["01"])
    main(["data", "fetch", "bidmc", "--source", str(tmp_path / "copy"), "--dest", str(tmp_path / "dest")])
    assert f"{len(files)} files verified in {tmp_path / 'dest'}" in capsys.readouterr().out
