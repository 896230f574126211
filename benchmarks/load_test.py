"""Load test: concurrent clients against the served app while ``update`` and ``build`` run.

Loopback only and bounded in time and requests. The sources are copied into
a temporary folder (so that ``update`` has real changes to pick up), indexed,
and served by ``python -m search_web`` with waitress on 127.0.0.1. Clients
send a mix of analyst searches, facet filters, paging, document pages and
hostile queries (a 400 is the right answer to those). Meanwhile the script
edits files and runs ``update``, then ``build``, then ``update`` again.

An error is any 5xx, any connection failure or any status other than the
one expected. Latency is reported per phase: quiet (no indexer running, the
anchor) and while an indexer runs, with the ratio between them.

    python benchmarks/load_test.py [--sources DIR ...] [--clients 20] [--seconds 40]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
RESULTS = REPO / "benchmarks" / "results"
QUERIES = REPO / "benchmarks" / "relevance" / "queries.yaml"
HOSTILE = ["*a*", "(" * 1000, "title:*", "x" * 10_000, "nosuchfield:x"]


@dataclass
class Sample:
    started: float
    seconds: float
    phase: str
    ok: bool
    detail: str = ""


@dataclass
class Recorder:
    """Thread-safe record of every request, tagged with the indexing phase it ran in."""

    phase: str = "quiet"
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request_mix(rng: random.Random, doc_ids: list[str]) -> tuple[str, int]:
    """One request path and the status it must get."""
    queries = [q["q"] for q in yaml.safe_load(QUERIES.read_text("utf-8"))["queries"]] + ["ai", "china", "drone"]
    roll = rng.random()
    q = quote(rng.choice(queries))
    if roll < 0.45:
        return f"/api/search?q={q}", 200
    if roll < 0.60:
        return f"/?q={q}&sort={rng.choice(['relevance', 'newest'])}", 200
    if roll < 0.70:
        return f"/api/search?q={q}&page=2&per_page=20", 200
    if roll < 0.78:
        return f"/api/search?q=&year={rng.choice(['2021', '2023', '2024'])}&kind=news", 200
    if roll < 0.85:
        return "/", 200
    if roll < 0.93 and doc_ids:
        return f"/doc/{rng.choice(doc_ids)}", 200  # 404 would be an error: documents must not vanish
    return f"/api/search?q={quote(rng.choice(HOSTILE))}", 400


def client_loop(port: int, seed: int, doc_ids: list[str], recorder: Recorder, stop: threading.Event, budget) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set() and budget():
        path, expected = request_mix(rng, doc_ids)
        phase = recorder.phase
        started = time.monotonic()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            ok, detail = response.status == expected, f"{response.status} for {path[:80]}"
        except (OSError, http.client.HTTPException) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc} for {path[:80]}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        recorder.add(Sample(started, time.monotonic() - started, phase, ok, "" if ok else detail))
    connection.close()


def run_indexer(command: str, sources: Path, index: Path) -> dict:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "indexer", command, str(sources), "--index", str(index), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return {"command": command, "exit": result.returncode, "seconds": round(time.monotonic() - started, 2)}


def edit_sources(sources: Path, rng: random.Random, round_number: int) -> None:
    """Change a few records and add one, as a day's new sources would."""
    files = sorted(p for p in sources.rglob("*") if p.suffix in (".md", ".txt") and p.stat().st_size < 50_000)
    for path in rng.sample(files, min(5, len(files))):
        path.write_text(path.read_text("utf-8", errors="replace") + f"\n\nLoad-test note {round_number}.\n", "utf-8")
    (sources / f"load-test-{round_number}.txt").write_text(
        f"Load test report {round_number}\n\nAuthor: Load Tester\n\nSanctions and chips, round {round_number}.\n",
        "utf-8",
    )


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "max_ms": round(ordered[-1] * 1000, 1)}


def wait_for_server(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/search?q=")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", nargs="*", type=Path, help="source folders (default: shared corpus + seeds)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40.0, help="hard cap on the run's duration")
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--quiet-seconds", type=float, default=3.0, help="anchor phase before any indexing")
    parser.add_argument("--out", type=Path, default=RESULTS / "load_test.json")
    args = parser.parse_args(argv)
    sources = args.sources or [p for p in (CORPUS, REPO / "seeds") if p.is_dir()]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        work = Path(tmp) / "sources"
        for folder in sources:
            shutil.copytree(folder, work / folder.name)
        index = Path(tmp) / "index"
        first = run_indexer("build", work, index)
        if first["exit"] != 0:
            raise SystemExit(f"initial build failed: {first}")
        port = free_port()
        with open(Path(tmp) / "server.log", "w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "search_web", "--index", str(index), "--port", str(port), "--threads", "8"],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_server(port, server)
                report = drive(args, port, work, index, rng)
            finally:
                server.terminate()
                server.wait(timeout=30)
        report["sources"] = [str(s) for s in sources]
        report["documents"] = doc_count(index)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(json.dumps(report, indent=2))
    return report


def doc_count(index: Path) -> int:
    from search_web.engine import SearchRequest
    from search_web.whoosh_engine import SearchIndex

    search = SearchIndex(index)
    try:
        return search.search(SearchRequest()).total
    finally:
        search.close()


def drive(args: argparse.Namespace, port: int, work: Path, index: Path, rng: random.Random) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/search?q=&per_page=50")
    doc_ids = [hit["id"] for hit in json.loads(connection.getresponse().read())["hits"]]
    connection.close()
    recorder, stop = Recorder(), threading.Event()
    deadline = time.monotonic() + args.seconds

    def budget() -> bool:
        return len(recorder.samples) < args.max_requests and time.monotonic() < deadline

    clients = [
        threading.Thread(target=client_loop, args=(port, seed, doc_ids, recorder, stop, budget))
        for seed in range(args.clients)
    ]
    for thread in clients:
        thread.start()
    runs = []
    time.sleep(args.quiet_seconds)
    for round_number, command in enumerate(["update", "build", "update"], start=1):
        if not budget():
            break
        edit_sources(work, rng, round_number)
        recorder.phase = command
        runs.append(run_indexer(command, work, index))
        recorder.phase = "quiet"
        time.sleep(1.5)  # let the app pick the swap up while clients keep going
    stop.set()
    for thread in clients:
        thread.join(timeout=60)
    samples = recorder.samples
    elapsed = max(s.started + s.seconds for s in samples) - min(s.started for s in samples)
    errors = [s.detail for s in samples if not s.ok]
    phases = {
        phase: percentiles([s.seconds for s in samples if s.phase == phase]) for phase in ("quiet", "update", "build")
    }
    quiet_p95 = phases["quiet"].get("p95_ms") or 0
    return {
        "clients": args.clients,
        "requests": len(samples),
        "requests_per_second": round(len(samples) / elapsed, 1) if elapsed else 0,
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:10],
        "latency": percentiles([s.seconds for s in samples]),
        "latency_by_phase": phases,
        "p95_ratio_to_quiet": {
            phase: round(stats["p95_ms"] / quiet_p95, 2)
            for phase, stats in phases.items()
            if stats.get("n") and quiet_p95
        },
        "indexer_runs": runs,
    }


if __name__ == "__main__":
    main()
