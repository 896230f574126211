"""Shared fixtures: real Whoosh indexes built by the real indexer in temporary folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
OUTPUT = REPO / "test-output"


def require_corpus() -> Path:
    """The shared corpus, or a skip (a user's clone) / a failure (CI)."""
    if CORPUS.is_dir():
        return CORPUS
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the corpus tests, but {CORPUS} is missing")
    pytest.skip(f"{CORPUS} is absent (it sits beside the repo in CI); corpus tests skipped")


def run_indexer(*args: str, cwd: Path = REPO, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m indexer`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "indexer", *args], cwd=cwd, capture_output=True, text=True, timeout=600, **kwargs
    )


NEWS_RECORD = """---
title: "{title}"
excerpt: "{excerpt}"
{date}
sourceUrl: https://example.org/{slug}
provider: {{name: {provider}, domain: example.org}}
topics: [AI]
{related}---
"""
RELATED_ITEM = """  - title: "Related story {slug}"
    sourceUrl: https://related.example.net/{slug}
    provider: {{name: Related Net, domain: related.example.net}}
"""


def write_news_records(folder: Path, count: int, *, undated: int = 0, start: int = 0, related: int = 0) -> None:
    """Write ``count`` small news records ``r<n>.md``; the first ``undated`` have no date.

    With ``related``, each record also names that many related articles of its own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(start, start + count):
        date = "" if number < start + undated else f"publishedDateTime: 2020-01-{number % 28 + 1:02d}T10:00:00+05:00"
        items = "".join(RELATED_ITEM.format(slug=f"{number}-{k}") for k in range(related))
        (folder / f"r{number}.md").write_text(
            NEWS_RECORD.format(
                title=f"Sanctions item {number}",
                excerpt="chips export controls <b>bold</b> <script>steal()</script> a < b & c > d alert",
                date=date,
                slug=number,
                provider="Example",
                related=f"related:\n{items}" if items else "",
            ),
            "utf-8",
        )


def build_index(sources: list[Path], index_dir: Path) -> None:
    from indexer.build import run_build

    run_build(sources, index_dir)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """Index of ../shared/corpus plus the seeds, built once per test session."""
    corpus = require_corpus()
    index_dir = tmp_path_factory.mktemp("corpus-index")
    build_index([SEEDS, corpus], index_dir)
    return index_dir


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("seed-index")
    build_index([SEEDS], index_dir)
    return index_dir


@pytest.fixture(scope="session")
def corpus_app(corpus_index):
    from search_web import create_app

    app = create_app({"INDEX_DIR": str(corpus_index), "TESTING": True})
    yield app
    app.extensions["search_index"].close()


@pytest.fixture()
def client(corpus_app):
    return corpus_app.test_client()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def live_processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process that has not exited (zombies left out)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            state, ppid = (proc / "stat").read_text().rsplit(") ", 1)[1].split()[:2]
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, IndexError, ValueError):
            continue
        if state != "Z":
            yield int(proc.name), int(ppid), command


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of ``pid``: pid -> command line."""
    return {child: command for child, parent, command in live_processes() if parent == pid}


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited)."""
    return any(found == pid for found, _, _ in live_processes())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``python -m search_web`` served by waitress in a real process on 127.0.0.1."""

    def __init__(self, index_dir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "search_web", "--index", str(index_dir), "--port", str(self.port), *extra],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/search?q=", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"server did not start: {self.process.stdout.read() if self.process.stdout else ''}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def live_server(corpus_index):
    server = LiveServer(corpus_index)
    yield server
    server.stop()
