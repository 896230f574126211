"""Source folders nobody controls: no single file, folder or full disk stops a build or an update.

Each case of issue 23 runs the real indexer on a real folder: odd names, odd
front matter, pipes, links, unreadable folders and files, mixed encodings,
old line ends, a full disk, Ctrl-C. The good files beside each bad one are
always indexed, and what is passed over is named with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import run_build, run_update
from search_web.engine import SearchRequest
from search_web.whoosh_engine import SearchIndex
from tests.conftest import REPO, run_indexer, write_news_records

GOOD = '---\ntitle: "Good record {n}"\nexcerpt: "chips and sanctions {n}"\nsourceUrl: https://example.org/{n}\n---\n'


def good_files(folder: Path, count: int = 3, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(start, start + count):
        (folder / f"good{n}.md").write_text(GOOD.format(n=n), "utf-8")


def titles(index_dir: Path, q: str = "") -> list[str]:
    index = SearchIndex(index_dir)
    try:
        return sorted(h["title"] for h in index.search(SearchRequest(q=q, per_page=50, collapse=False)).hits)
    finally:
        index.close()


def summary_of(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "summary.json"
    result = run_indexer(*args, "--summary-json", str(out))
    return result, json.loads(out.read_text("utf-8")) if out.exists() else {}


def skipped(summary: dict) -> dict[str, str]:
    return {item["path"]: item["reason"] for item in summary["skipped"]}


def test_a_file_name_that_is_not_utf8_is_indexed_under_a_name_of_text(tmp_path):
    source = tmp_path / "odd"
    good_files(source)
    (source / os.fsdecode(b"bad\xff.md")).write_bytes(
        b"# Oddly named report\n\nA report about chips and export rules.\n"
    )
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert summary["documents_indexed"] == 4
    assert "Oddly named report" in titles(tmp_path / "ix")
    index = SearchIndex(tmp_path / "ix")
    hit = index.search(SearchRequest(q="oddly")).hits[0]
    index.close()
    assert hit["source"] == "bad\\xff.md"


@pytest.mark.parametrize("odd", ["\x7f", "\x85", "\x9f", "\x01"])
@pytest.mark.parametrize("mark", ["&", "*", "!"])
def test_a_control_character_in_front_matter_never_stops_the_build(tmp_path, mark, odd):
    source = tmp_path / "odd"
    good_files(source)
    (source / "quirk.md").write_text(f'---\ntitle: "AT{mark}T{odd} merger"\n---\nBody.\n', "utf-8")
    result, _ = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    found = titles(tmp_path / "ix")
    assert len(found) == 4 and f"AT{mark}T merger" in found  # the control character dropped, the record kept


def test_a_named_pipe_in_a_source_folder_never_hangs_the_build(tmp_path):
    source = tmp_path / "odd"
    good_files(source)
    os.mkfifo(source / "pipe.md")
    started = time.monotonic()
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert time.monotonic() - started < 60
    assert result.returncode == 0, result.stderr
    assert summary["documents_indexed"] == 3
    assert skipped(summary) == {"pipe.md": "not a regular file (a named pipe): not read"}
    assert run_indexer("update", str(source), "--index", str(tmp_path / "ix")).returncode == 0  # not busy


def test_a_link_to_a_file_outside_the_source_folder_is_never_indexed_or_served(tmp_path, client_for):
    source = tmp_path / "odd"
    good_files(source)
    (source / "passwd.txt").symlink_to("/etc/passwd")
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert skipped(summary)["passwd.txt"] == "a link to a file outside the source folder: not read (--follow-symlinks)"
    client = client_for(tmp_path / "ix")
    assert client.get("/api/search?q=root").get_json()["total"] == 0
    served = subprocess.run(
        [sys.executable, "-m", "search_web", "--index", str(tmp_path / "ix"), "query", "root"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "root:x" not in served.stdout and "\n0 results" in served.stdout
    followed, summary = summary_of(
        tmp_path, "build", str(source), "--index", str(tmp_path / "ix2"), "--follow-symlinks"
    )
    assert followed.returncode == 0 and summary["documents_indexed"] == 4  # asked for: read


def built_share(tmp_path: Path) -> tuple[Path, Path]:
    """A share of three records and a folder ``locked`` of three more, built as a plain reader."""
    source, index = tmp_path / "share", tmp_path / "ix"
    good_files(source)
    good_files(source / "locked", start=10)
    assert run_as_plain_reader("build", str(source), "--index", str(index)).returncode == 0
    assert len(titles(index)) == 6
    return source, index


@contextlib.contextmanager
def unreadable(path: Path) -> Iterator[None]:
    """``path`` with no permission at all while inside, as it was after."""
    mode = path.stat().st_mode
    path.chmod(0)
    try:
        yield
    finally:
        path.chmod(mode)


def test_an_unreadable_folder_keeps_its_documents_until_it_is_readable_or_gone(tmp_path):
    source, index = built_share(tmp_path)
    with unreadable(source / "locked"):
        for command in ("update", "build"):
            result = run_as_plain_reader(command, str(source), "--index", str(index))
            assert result.returncode == 0, result.stderr
            assert "locked: cannot read folder: Permission denied" in result.stdout
            assert "0 deleted" in result.stdout or command == "build"
            assert len(titles(index)) == 6, command
    for name in os.listdir(source / "locked"):
        (source / "locked" / name).unlink()
    (source / "locked").rmdir()
    result = run_as_plain_reader("update", str(source), "--index", str(index))
    assert result.returncode == 0 and "3 removed" in result.stdout
    assert len(titles(index)) == 3


def test_an_unreadable_file_keeps_its_documents(tmp_path):
    source = tmp_path / "share"
    good_files(source)
    index = tmp_path / "ix"
    assert run_as_plain_reader("build", str(source), "--index", str(index)).returncode == 0
    with unreadable(source / "good1.md"):
        result = run_as_plain_reader("update", str(source), "--index", str(index))
    assert result.returncode == 0, result.stderr
    assert "good1.md: cannot read file: Permission denied; its documents are kept" in result.stdout
    assert len(titles(index)) == 3


def run_as_plain_reader(*args: str) -> subprocess.CompletedProcess:
    """``python -m indexer`` in a process that honours file permissions (as root: without the
    capabilities that let root read everything)."""
    prefix = [] if os.geteuid() else ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "indexer", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_a_stray_latin1_byte_in_utf8_text_keeps_every_other_accent(tmp_path):
    source = tmp_path / "odd"
    good_files(source)
    report = "Zürich and Genève\n\nZürich, Genève and Bern hold the banks; the café is near the lake.\n"
    (source / "mixed.txt").write_bytes(report.encode("utf-8").replace("café".encode(), b"caf\xe9"))
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0 and summary["skipped"] == [], summary
    index = SearchIndex(tmp_path / "ix")
    doc = index.document(index.search(SearchRequest(q="zürich")).hits[0]["id"])
    index.close()
    assert doc["title"] == "Zürich and Genève"
    assert "Zürich, Genève and Bern" in doc["body"] and "café" in doc["body"] and "Ã" not in doc["body"]


def test_old_mac_line_ends_are_line_ends(tmp_path):
    source = tmp_path / "odd"
    source.mkdir()
    (source / "cr.md").write_bytes(b'---\rtitle: "CR only"\rexcerpt: "Old Mac file"\r---\rBody line.\r')
    (source / "cr.txt").write_bytes(b"A report from a Mac\r\rIts body, on old line ends.\r")
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0 and summary["skipped"] == [], summary
    assert titles(tmp_path / "ix") == ["A report from a Mac", "CR only"]


def test_invisible_direction_controls_are_dropped_from_titles(tmp_path):
    source = tmp_path / "odd"
    source.mkdir()
    (source / "bidi.md").write_text('---\ntitle: "Report \u202eexe.txt\u202c \u2066x\u2069"\n---\nBody.\n', "utf-8")
    assert run_indexer("build", str(source), "--index", str(tmp_path / "ix")).returncode == 0
    assert titles(tmp_path / "ix") == ["Report exe.txt x"]


def mounted_small_disk(folder: Path, size: str) -> bool:
    """Mount a small tmpfs at ``folder`` (root only); False when this system does not allow it."""
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    return result.returncode == 0


def test_a_full_disk_says_so_with_its_own_exit_status_and_keeps_the_live_index(tmp_path):
    """A real full disk: a 4 MB tmpfs filled up (as root); elsewhere the nearest real thing, a
    file size limit the writes run into (EFBIG instead of ENOSPC, the same path)."""
    disk = tmp_path / "disk"
    full = mounted_small_disk(disk, "4m")
    try:
        source = tmp_path / "src"
        write_news_records(source, 5)
        index = disk / "ix"
        assert run_indexer("build", str(source), "--index", str(index)).returncode == 0
        if full:
            (disk / "filler").write_bytes(b"\0" * (disk_free(disk) - 4096))
        (source / "big.txt").write_text("A big report\n\n" + "chips and export controls " * 40_000, "utf-8")
        cause = "no space left on the device" if full else "a file grew past the size this system allows"
        for command in ("update", "build"):
            result = run_writing_into_a_full_disk(full, command, str(source), "--index", str(index))
            assert result.returncode == 5, (command, result.stdout, result.stderr)
            assert result.stderr.startswith(f"error: {cause} while writing"), result.stderr
            assert "the live index was left as it was" in result.stderr and "Traceback" not in result.stderr
            assert len(titles(index)) == 5
    finally:
        if full:
            subprocess.run(["umount", str(disk)], check=False)


def run_writing_into_a_full_disk(full: bool, *args: str) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    return subprocess.run(
        [sys.executable, "-m", "indexer", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=None if full else limit_file_size,
    )


def disk_free(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def test_ctrl_c_stops_a_build_with_one_line_and_keeps_the_live_index(tmp_path):
    source = tmp_path / "src"
    write_news_records(source, 4)
    index = tmp_path / "ix"
    assert run_indexer("build", str(source), "--index", str(index)).returncode == 0
    from benchmarks.generate import Generator

    Generator(seed=2, report_share=0.2).write(3000, source / "many")
    build = subprocess.Popen(
        [sys.executable, "-m", "indexer", "build", str(source), "--index", str(index)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    build.send_signal(signal.SIGINT)
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted; the live index was left as it was"
    assert "Traceback" not in stderr
    assert len(titles(index)) == 4


def test_a_build_over_bad_files_finishes_and_keeps_the_good(tmp_path):
    """Everything above in one folder, as a downloads folder holds it."""
    source = tmp_path / "downloads"
    good_files(source, 5)
    (source / os.fsdecode(b"\xffname.md")).write_bytes(b"# Report\n\nText about chips.\n")
    (source / "quirk.md").write_text('---\ntitle: "AT&T\x7f merger"\n---\nBody.\n', "utf-8")
    os.mkfifo(source / "pipe.md")
    (source / "passwd.txt").symlink_to("/etc/passwd")
    (source / "sub").mkdir()
    (source / "sub" / "loop").symlink_to(source)
    (source / "empty.md").write_bytes(b"")
    (source / "binary.txt").write_bytes(bytes(range(256)) * 4)
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert summary["documents_indexed"] == 7
    assert set(skipped(summary)) == {"pipe.md", "passwd.txt", "sub/loop", "empty.md", "binary.txt"}
    assert all(reason for reason in skipped(summary).values())


@pytest.fixture()
def client_for():
    from search_web import create_app

    apps = []

    def make(index_dir: Path):
        app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["search_index"].close()


def test_update_and_build_share_the_policies(tmp_path):
    source = tmp_path / "src"
    good_files(source)
    os.mkfifo(source / "pipe.md")
    built = run_build([source], tmp_path / "ix")
    updated = run_update([source], tmp_path / "ix")
    assert (
        [p.reason for p in built.skipped]
        == [p.reason for p in updated.skipped]
        == ["not a regular file (a named pipe): not read"]
    )


def test_records_whose_every_word_is_a_stop_word_are_indexed(tmp_path):
    """Found by the fuzzing: a field whose every text analysed to nothing stopped the writer."""
    source = tmp_path / "odd"
    source.mkdir()
    (source / "a.md").write_text('---\ntitle: "the of and"\n---\n', "utf-8")
    result = run_indexer("build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert titles(tmp_path / "ix") == ["the of and"]


def test_a_named_pipe_as_folder_metadata_never_hangs_the_build(tmp_path):
    """Found beyond the issue's list: ``_source.yaml`` as a pipe blocked the read of every file under it."""
    source = tmp_path / "odd"
    good_files(source)
    os.mkfifo(source / "_source.yaml")
    result, summary = summary_of(tmp_path, "build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert summary["documents_indexed"] == 3
    assert skipped(summary) == {"_source.yaml": "folder metadata not used: _source.yaml is not a regular file"}


def test_a_file_gone_since_it_was_found_loses_its_documents(tmp_path):
    """Unreadable is kept, gone is gone: a file removed between discovery and reading is not kept."""
    from indexer.corpus import unreadable_file
    from indexer.sources import SourceFile

    source = SourceFile(tmp_path, "gone.md", tmp_path / "gone.md")
    gone = unreadable_file(source, FileNotFoundError(2, "No such file or directory"))
    locked = unreadable_file(source, PermissionError(13, "Permission denied"))
    assert (gone.unreadable, locked.unreadable) == (False, True)


def test_an_unreadable_folder_metadata_file_is_named_and_its_folder_indexed(tmp_path):
    source = tmp_path / "share"
    good_files(source)
    good_files(source / "sub", start=10)
    (source / "sub" / "_source.yaml").write_text("provider: Lab\n", "utf-8")
    with unreadable(source / "sub" / "_source.yaml"):
        result = run_as_plain_reader("build", str(source), "--index", str(tmp_path / "ix"))
    assert result.returncode == 0, result.stderr
    assert "sub/_source.yaml: folder metadata not used: cannot read _source.yaml: Permission denied" in result.stdout
    assert len(titles(tmp_path / "ix")) == 6


def test_what_cannot_be_read_does_not_make_the_index_stale(tmp_path):
    """`make run` builds only when the index is stale: a locked folder kept as it was is not a change."""
    source, index = built_share(tmp_path)
    with unreadable(source / "locked"):
        result = run_as_plain_reader("build", str(source), "--index", str(index), "--if-stale")
    assert result.returncode == 0 and "index is up to date" in result.stdout, result.stdout


def test_a_complete_file_keeps_its_last_character(tmp_path):
    source = tmp_path / "odd"
    source.mkdir()
    (source / "menu.txt").write_bytes(b"Menu of the caf\xe9\n\nThe menu of the caf\xe9")
    assert run_indexer("build", str(source), "--index", str(tmp_path / "ix")).returncode == 0
    index = SearchIndex(tmp_path / "ix")
    doc = index.document(index.search(SearchRequest(q="menu")).hits[0]["id"])
    index.close()
    assert doc["title"] == "Menu of the café" and doc["body"].endswith("café")
