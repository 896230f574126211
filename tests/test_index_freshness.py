"""The served app follows index swaps by itself, never double-counts, and never writes to the index."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from search_web.settings import Limits
from tests.conftest import LiveServer, run_indexer, write_news_records

PICKUP_SECONDS = 3.0  # reload_check_s is 1 s; the issue allows "a second or two"
RELOAD_CHECK_S = Limits().reload_check_s


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture()
def served(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 30, related=1)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    server = LiveServer(index)
    yield sources, index, server
    server.stop()


def total(server: LiveServer, q: str = "") -> int:
    return get_json(f"{server.url}/api/search?q={q}")["total"]


def test_update_is_served_within_seconds_without_restart_or_double_counting(served):
    sources, index, server = served
    assert total(server) == 60
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                seen.append(total(server))
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)

    reader = threading.Thread(target=keep_searching)
    reader.start()
    try:
        write_news_records(sources, 5, start=30, related=1)
        result = run_indexer("update", str(sources), "--index", str(index))
        assert result.returncode == 0, result.stderr
        swapped_at = time.monotonic()
        while total(server) != 70 and time.monotonic() - swapped_at < PICKUP_SECONDS:
            time.sleep(0.05)
        picked_up_after = time.monotonic() - swapped_at
        # Each worker process checks CURRENT on its own, at most RELOAD_CHECK_S apart: one
        # that checked just before the swap answers from the old index until its next check.
        time.sleep(max(0.0, swapped_at + RELOAD_CHECK_S + 0.2 - time.monotonic()))
        later = [total(server) for _ in range(20)]
    finally:
        stop.set()
        reader.join(timeout=30)
    assert picked_up_after < PICKUP_SECONDS, f"not served {picked_up_after:.1f} s after the swap"
    assert later == [70] * 20, f"a worker still served the old index {RELOAD_CHECK_S} s after the swap"
    assert errors == []
    assert set(seen) <= {60, 70}  # the old index or the new one, never both added up
    assert get_json(f"{server.url}/api/search?q=sanctions")["total"] == 35


def test_full_rebuild_is_served_without_double_counting(served):
    sources, index, server = served
    write_news_records(sources, 2, start=30)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    deadline = time.monotonic() + PICKUP_SECONDS
    while total(server) != 62 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert total(server) == 62


def test_the_web_app_never_writes_to_the_index(served):
    _, index, server = served
    before = snapshot(index)
    for url in ("/", "/?q=sanctions", "/api/search?q=chips&sort=newest", "/api/search?q=sanc*", "/?q=sanctoins"):
        with urllib.request.urlopen(server.url + url, timeout=10) as response:
            assert response.status == 200
    doc_id = get_json(f"{server.url}/api/search?q=sanctions")["hits"][0]["id"]
    with urllib.request.urlopen(f"{server.url}/doc/{doc_id}", timeout=10) as response:
        assert response.status == 200
    assert snapshot(index) == before  # no Whoosh write lock, no segment, no touched file
