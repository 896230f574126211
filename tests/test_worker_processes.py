"""`python -m search_web --workers N`: N serving processes, replaced when they die, never outliving the server."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import pytest

from tests.conftest import LiveServer, alive, children_of, run_indexer, write_news_records


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def total(server: LiveServer) -> int:
    with urllib.request.urlopen(f"{server.url}/api/search?q=sanctions", timeout=20) as response:
        return json.loads(response.read())["total"]


@pytest.fixture()
def two_workers(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 12)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    server = LiveServer(index, "--workers", "2")
    yield server
    server.stop()


def test_the_server_runs_the_number_of_workers_asked_for(two_workers):
    assert wait_until(lambda: len(children_of(two_workers.process.pid)) == 2)
    assert all(total(two_workers) == 12 for _ in range(20))


def test_a_worker_that_dies_is_replaced_and_requests_keep_being_answered(two_workers):
    parent = two_workers.process.pid
    assert wait_until(lambda: len(children_of(parent)) == 2)
    victim = min(children_of(parent))
    os.kill(victim, signal.SIGKILL)
    assert all(total(two_workers) == 12 for _ in range(20))  # the other worker answers meanwhile
    assert wait_until(lambda: len(children_of(parent)) == 2 and victim not in children_of(parent))


def test_stopping_the_server_stops_every_worker(two_workers):
    parent = two_workers.process.pid
    assert wait_until(lambda: len(children_of(parent)) == 2)
    workers = children_of(parent)
    two_workers.process.terminate()
    assert two_workers.process.wait(timeout=15) is not None
    assert wait_until(lambda: not any(alive(pid) for pid in workers))


def test_killing_the_server_outright_leaves_no_worker_behind(two_workers):
    parent = two_workers.process.pid
    assert wait_until(lambda: len(children_of(parent)) == 2)
    workers = children_of(parent)
    two_workers.process.kill()
    two_workers.process.wait(timeout=15)
    assert wait_until(lambda: not any(alive(pid) for pid in workers))
