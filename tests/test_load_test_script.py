"""The load test in benchmarks/ runs end to end: concurrent clients, update and build, zero errors."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, SEEDS, write_news_records


def test_concurrent_clients_see_no_error_while_update_and_build_swap(tmp_path):
    sources = tmp_path / "sources"
    write_news_records(sources / "wire", 200, related=1)
    out = tmp_path / "load.json"
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/load_test.py",
            "--sources",
            str(sources / "wire"),
            str(SEEDS),
            "--clients",
            "6",
            "--seconds",
            "20",
            "--quiet-seconds",
            "1",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text("utf-8"))
    assert [run["command"] for run in report["indexer_runs"]] == ["update", "build", "update"]
    assert all(run["exit"] == 0 for run in report["indexer_runs"])
    assert report["errors"] == 0, report["error_examples"]
    assert report["requests"] >= 100
    assert report["latency_by_phase"]["quiet"]["n"] > 0
    assert report["documents"] == 200 * 2 + 3 + 3  # records, their related items, seeds, added reports
