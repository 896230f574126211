"""`benchmarks/bench.py` runs end to end at a small N and writes every key that checks outside the repo read."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, alive, children_of

# The contract of benchmarks/results/latest.json (issue 5), per engine.
ENGINE_KEYS = (
    "index_docs_per_s",
    "index_mb",
    "peak_rss_mb",
    "cold_start_s",
    "search_p50_ms",
    "search_p95_ms",
    "search_p99_ms",
    "facets_p50_ms",
    "facets_p95_ms",
    "facets_p99_ms",
    "browse_ms",
    "term_p50_ms",
    "date_p50_ms",
)


def bench_command(tmp_path: Path) -> list[str]:
    out = tmp_path / "latest.json"
    return [
        sys.executable,
        "benchmarks/bench.py",
        "--n",
        "300",
        "--skip-anchors",
        "--data",
        str(tmp_path),
        "--out",
        str(out),
    ]


def test_a_small_project_only_run_writes_the_results_contract(tmp_path):
    out = tmp_path / "latest.json"
    run = subprocess.run(
        bench_command(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text("utf-8"))
    assert report["n"] == 300
    assert set(report["engines"]) == {"project", "tantivy", "sqlite"}
    project = report["engines"]["project"]
    for key in (*ENGINE_KEYS, "http_p95_ms", "http_uncached_p95_ms", "first_query_p50_ms"):
        assert isinstance(project[key], (int, float)) and project[key] >= 0, key
    assert project["documents"] >= 300 and project["index_docs_per_s"] > 0
    queries = report["queries"]
    assert set(report["query_p50_ms"]["project"]) == set(queries)
    assert all(isinstance(value, (int, float)) for value in project.values())
    # date_p50_ms against term_p50_ms compares the same words without and with the range
    plain = sorted(queries[name][0] for name in ("frequent term", "rare term"))
    ranged = [queries[name] for name in ("frequent term + date range", "rare term + date range")]
    assert sorted(text for text, _, _ in ranged) == plain and all(dates for _, dates, _ in ranged)
    # each the median of its queries' p50s (rounded apart, so within 0.01 ms)
    per_query = report["query_p50_ms"]["project"]
    term = (per_query["frequent term"] + per_query["rare term"]) / 2
    date = (per_query["frequent term + date range"] + per_query["rare term + date range"]) / 2
    assert abs(project["term_p50_ms"] - term) <= 0.01 and abs(project["date_p50_ms"] - date) <= 0.01
    assert "project" in run.stdout and "http_p95_ms" in run.stdout  # the printed table


def test_a_terminated_run_leaves_no_server_behind(tmp_path):
    bench = subprocess.Popen(bench_command(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while not servers and time.monotonic() < deadline and bench.poll() is None:
            servers = [pid for pid, cmd in children_of(bench.pid).items() if "-m search_web " in cmd]
            time.sleep(0.05)
        assert servers, "the benchmark never started its HTTP server"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=60) != 0
        deadline = time.monotonic() + 30
        while alive(servers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(servers[0]), "the server outlived the terminated benchmark"
    finally:
        bench.kill()
        bench.wait()
        for pid in servers:  # a failing run must not leave its server to the next tests
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_the_anchors_are_given_the_documents_with_their_bodies(seed_index):
    from benchmarks.bench import stored_documents
    from search_web.whoosh_engine import SearchIndex

    search = SearchIndex(seed_index)
    try:
        documents = list(stored_documents(search))
    finally:
        search.close()
    assert any(doc["body"].startswith("We are proud to announce") for doc in documents)  # the seed report
