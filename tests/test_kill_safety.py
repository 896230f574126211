"""Killing the indexer at any moment, even inside commit, never harms the served index.

Real processes, real SIGKILLs: the indexer runs as ``python -m indexer`` and
is killed at random moments (half of them after it announces the commit).
After every kill the index must open and answer exactly as before; at the
end one run must succeed and leave nothing of the killed runs behind.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexer.build import PARALLEL_PARSE_MIN_FILES
from indexer.catalog import load_fingerprints
from indexer.store.generations import LOCK_FILE, POINTER_FILE, current_generation, read_pointer
from indexer.writing import PARALLEL_WRITE_MIN_DOCUMENTS
from search_web.engine import SearchRequest
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex
from tests.conftest import REPO, live_processes, run_indexer, write_news_records

KILLS = 24
# Above PARALLEL_PARSE_MIN_FILES and PARALLEL_WRITE_MIN_DOCUMENTS: the parse and write worker
# processes are killed too.
RECORDS = 1200


def answers(index_dir: Path) -> tuple[int, list[str]]:
    """What a freshly opened reader answers: total and ranked ids for a query."""
    index = SearchIndex(index_dir, Limits(reload_check_s=0))
    try:
        result = index.search(SearchRequest(q="sanctions", per_page=50))
        return result.total, [hit["id"] for hit in result.hits]
    finally:
        index.close()


def change_sources(sources: Path, round_number: int) -> None:
    """Give the next build or update real work: edited titles and new files."""
    for number in range(0, RECORDS, 24):
        path = sources / f"r{number}.md"
        text = path.read_text("utf-8").split("\n")
        text[1] = f'title: "Sanctions item {number} revision {round_number}"'
        path.write_text("\n".join(text), "utf-8")
    write_news_records(sources, 10, start=10_000 + round_number * 10)


def indexer_processes(index: Path) -> list[int]:
    """Processes still running an indexer (or one of its workers) on ``index``."""
    return [pid for pid, _, command in live_processes() if "indexer" in command and str(index) in command]


def start(command: str, sources: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", command, str(sources), "--index", str(index)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at_random_moment(process: subprocess.Popen, rng: random.Random, run_seconds: float) -> bool:
    """SIGKILL ``process`` somewhere in its run; True if it was still running then."""
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, run_seconds))
    else:
        # Wait for the commit to begin, then kill inside commit, catalog writing or the swap.
        for line in process.stderr:
            if line.startswith("indexer: committing"):
                break
        time.sleep(rng.uniform(0, 0.3))
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    return alive and process.returncode == -signal.SIGKILL


def test_twenty_plus_random_kills_leave_the_served_index_answering_as_before(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    assert RECORDS >= PARALLEL_PARSE_MIN_FILES and RECORDS >= PARALLEL_WRITE_MIN_DOCUMENTS
    write_news_records(sources, RECORDS)
    started = time.monotonic()
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    run_seconds = time.monotonic() - started
    served = SearchIndex(index, Limits(reload_check_s=0))  # a long-lived reader, like the web app
    rng = random.Random(20261122)
    expected = answers(index)
    kills = attempts = 0
    try:
        while kills < KILLS:
            attempts += 1
            assert attempts < KILLS * 3, "the indexer kept finishing before the kill"
            change_sources(sources, attempts)
            command = "update" if attempts % 2 else "build"
            live = read_pointer(index)["generation"]
            killed = kill_at_random_moment(start(command, sources, index), rng, run_seconds)
            kills += killed
            if read_pointer(index)["generation"] == live:
                assert answers(index) == expected, f"kill {kills} ({command}) changed what readers see"
                assert served.search(SearchRequest(q="sanctions")).total == expected[0]
            else:
                # The swap happened before the kill (or the run finished): the new index must be
                # whole, one news record per file, and it is the one to keep intact from now on.
                expected = answers(index)
                assert expected[0] == len(list(sources.glob("r*.md")))
                assert served.search(SearchRequest(q="sanctions")).total == expected[0]
    finally:
        served.close()

    # Orphaned parse workers notice their parent's death (their task pipe closes) and exit;
    # write workers are killed by the kernel when their parent dies.
    deadline = time.monotonic() + 10
    while indexer_processes(index) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert indexer_processes(index) == []

    final = run_indexer("update", str(sources), "--index", str(index))
    assert final.returncode == 0, final.stderr
    pointer = read_pointer(index)
    assert {p.name for p in index.glob("gen-*")} <= {pointer["generation"], pointer["previous"]}
    assert sorted(p.name for p in index.iterdir() if not p.name.startswith("gen-")) == [LOCK_FILE, POINTER_FILE]
    rebuilt = tmp_path / "rebuilt"
    assert run_indexer("build", str(sources), "--index", str(rebuilt)).returncode == 0
    # The same documents as a rebuild from the same files, and the same matches.
    assert load_fingerprints(current_generation(index)) == load_fingerprints(current_generation(rebuilt))
    assert answers(index)[0] == answers(rebuilt)[0] == len(list(sources.glob("r*.md")))
