"""Benchmark the project against tantivy and SQLite FTS5 on the same generated documents.

    python benchmarks/bench.py --n 100000      (make bench N=100000)

1. ``generate.py`` writes N deterministic sources (cached in benchmarks/data/N).
2. The project's real indexer builds its index (a separate process: docs/s,
   peak memory). Its stored documents are then read back, so that the two
   anchors index exactly the documents the project indexed.
3. tantivy (PyPI ``tantivy``) and SQLite FTS5 (stdlib) index them with an
   equivalent schema: title/excerpt/related coverage/body text with English
   stemming and the project's field weights (title 3, excerpt 1.5, related
   coverage and body 1); provider, topics, year, kind and date as
   filterable, countable values.
4. Every engine answers the same query mix with the same semantics (plain
   words: any of them, ranked) — frequent term, rare term, 2-3 words,
   natural 4-6 word queries, phrase, each of the two terms + a date range,
   term + provider filter — without and
   with provider/topic/year counts, and the browse page (no query, newest
   first, with counts). The project is measured through its own search core
   (``search_web.search.SearchIndex``), snippets included; the anchors fetch
   the stored title of each hit. Cold start is a fresh process's time to its
   first answer. The project's search core is timed with its result cache
   off (``result_cache_entries=0``); ``first_query_*`` times each query as the
   first on a freshly opened generation (no postings or phrase cached). The
   project's ``/api/search`` is also timed through waitress with 20 concurrent
   clients repeating the query mix, after an untimed warm-up under the same
   load, with the result cache (as served: ``http_p95_ms``) and without it
   (``http_uncached_p95_ms``).

Writes ``benchmarks/results/latest.json`` as ``{"n", "engines": {"project",
"tantivy", "sqlite"}}`` and prints a table with the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if not __package__:
    # Run as ``python benchmarks/bench.py`` (as `make bench` does): the repository is the package root.
    sys.path.insert(0, str(REPO))

from benchmarks.generate import Generator, generate  # noqa: E402
from benchmarks.load_test import free_port, wait_for_server  # noqa: E402
from indexer.store.schema import stored_documents as documents_with_bodies  # noqa: E402
from search_web.settings import Limits  # noqa: E402

RESULTS = BENCH / "results"
DATA = BENCH / "data"
ROUNDS = 15
HTTP_CLIENTS = 20
HTTP_REQUESTS = 600
HTTP_WARM_UP_REQUESTS = 200

FREQUENT_WORD = "china"
RARE_WORD = str(Generator(seed=1, report_share=0).words[30_000])
DATE_RANGE = ("2019-01-01", "2020-12-31")
# name -> (query text, date range or None, provider filter or None)
QUERY_MIX = {
    "frequent term": (FREQUENT_WORD, None, None),
    "rare term": (RARE_WORD, None, None),
    "two terms": ("export controls", None, None),
    "three terms": ("china taiwan drone", None, None),
    "four words": ("china taiwan military drone", None, None),
    "five words": ("russia sanctions energy gas europe", None, None),
    "six words": ("export controls ai chips china market", None, None),
    "natural, a rare word": (f"{RARE_WORD} sanctions policy report", None, None),
    "phrase": ('"supply chain"', None, None),
    "frequent term + date range": (FREQUENT_WORD, DATE_RANGE, None),
    "rare term + date range": (RARE_WORD, DATE_RANGE, None),
    "term + provider": ("security", None, "Provider 2"),
}
# term_p50_ms and date_p50_ms: the same two words without and with the date range, so
# that the difference is what the range costs (another word in the date queries would
# decide the comparison). Each is the median of its queries' own p50s (for two, their
# mean): the median of both words' runs pooled fell in the gap between the rare and the
# frequent word, halfway between the rare word's slowest run and the frequent word's
# fastest, so one slow run decided it.
TERM_QUERIES = ("frequent term", "rare term")
DATE_QUERIES = ("frequent term + date range", "rare term + date range")
METRIC_KEYS = (
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
# Measured for the project only: the anchors have no HTTP layer, and their first query is their cold start.
PROJECT_ONLY_KEYS = ("first_query_p50_ms", "first_query_max_ms", "http_p95_ms", "http_uncached_p95_ms")


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def run_measured(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line; add its peak RSS."""
    wrapper = (
        code
        + "\nimport resource as _r, json as _j\nRESULT['peak_rss_mb'] = round("
        + ("_r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024, 1)\nprint(_j.dumps(RESULT))")
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *args], cwd=REPO, capture_output=True, text=True, timeout=7200
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def stats(samples: list[float]) -> dict[str, float]:
    values = np.array(samples) * 1000
    return {f"p{p}": round(float(np.percentile(values, p)), 2) for p in (50, 95, 99)}


def time_mix(run_query, with_facets: bool) -> dict[str, list[float]]:
    """Latencies per query name over ROUNDS rounds (one warm-up round first)."""
    timings: dict[str, list[float]] = {name: [] for name in QUERY_MIX}
    for round_number in range(ROUNDS + 1):
        for name, (q, dates, provider) in QUERY_MIX.items():
            started = time.perf_counter()
            run_query(q, dates, provider, with_facets)
            if round_number:
                timings[name].append(time.perf_counter() - started)
    return timings


def latency_metrics(run_query, browse) -> dict[str, float]:
    plain = time_mix(run_query, with_facets=False)
    faceted = time_mix(run_query, with_facets=True)
    browse()
    browse_times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        browse()
        browse_times.append(time.perf_counter() - started)
    search = stats([t for ts in plain.values() for t in ts])
    facets = stats([t for ts in faceted.values() for t in ts])
    return {
        "search_p50_ms": search["p50"],
        "search_p95_ms": search["p95"],
        "search_p99_ms": search["p99"],
        "facets_p50_ms": facets["p50"],
        "facets_p95_ms": facets["p95"],
        "facets_p99_ms": facets["p99"],
        "browse_ms": round(float(np.median(browse_times)) * 1000, 2),
        "term_p50_ms": median_of_p50s(plain, TERM_QUERIES),
        "date_p50_ms": median_of_p50s(plain, DATE_QUERIES),
        "query_p50_ms": {name: stats(times)["p50"] for name, times in plain.items()},
    }


def median_of_p50s(timings: dict[str, list[float]], names: tuple[str, ...]) -> float:
    """The median over the queries ``names`` of each one's p50, in ms."""
    return round(float(np.median([np.percentile(timings[name], 50) for name in names])) * 1000, 2)


# --- the project ---------------------------------------------------------------

PROJECT_BUILD = """
import json, sys, time
from pathlib import Path
from indexer.build import run_build
started = time.perf_counter()
summary = run_build([Path(sys.argv[1])], Path(sys.argv[2]))
RESULT = {"seconds": time.perf_counter() - started, "documents": summary.documents_indexed}
"""

PROJECT_COLD = """
import sys, time
started = time.perf_counter()
from search_web.whoosh_engine import SearchIndex
from search_web.engine import SearchRequest
SearchIndex(sys.argv[1]).search(SearchRequest(q="china"))
RESULT = {"cold_start_s": time.perf_counter() - started}
"""


def project_request(q: str, dates, provider, with_facets: bool):
    from search_web.engine import SearchRequest

    request = SearchRequest(q=q, facets=with_facets)
    if dates:
        request.date_from, request.date_to = (dt.date.fromisoformat(d) for d in dates)
    if provider:
        request.providers = [provider]
    return request


def bench_project(sources: Path, index: Path, previous: dict | None, documents_out: Path | None) -> dict:
    """Build (or, given ``previous`` build figures, reuse) the project's index and time its search.

    With ``documents_out``, the indexed documents are also written there (JSON
    Lines, streamed: at a million documents a list of them would not fit
    beside the anchors) for the anchors to index.
    """
    from search_web.engine import SearchRequest
    from search_web.whoosh_engine import SearchIndex

    if previous is None:
        shutil.rmtree(index, ignore_errors=True)
        build = run_measured(PROJECT_BUILD, str(sources), str(index))
        metrics = {
            "index_docs_per_s": round(build["documents"] / build["seconds"], 1),
            "peak_rss_mb": build["peak_rss_mb"],
            "documents": build["documents"],
            "index_seconds": round(build["seconds"], 1),
        }
    else:
        keys = ("index_docs_per_s", "peak_rss_mb", "documents", "index_seconds")
        metrics = {key: previous[key] for key in keys} | {"build_reused": True}
    from indexer.store.generations import current_generation

    generation = current_generation(index)
    metrics["index_mb"] = folder_mb(generation)
    metrics["cold_start_s"] = round(run_measured(PROJECT_COLD, str(index))["cold_start_s"], 3)
    # The engine is timed without the result cache: a repeated request would only measure a dict lookup.
    search = SearchIndex(index, Limits(result_cache_entries=0))
    try:
        metrics.update(
            latency_metrics(
                lambda q, d, p, f: search.search(project_request(q, d, p, f), with_corrections=False),
                lambda: search.search(SearchRequest(sort="newest")),
            )
        )
        if documents_out is not None:
            write_documents(lambda: stored_documents(search), documents_out)
    finally:
        search.close()
    metrics.update(first_query_metrics(index))
    metrics["http_p95_ms"] = http_p95(index)
    metrics["http_uncached_p95_ms"] = http_p95(index, "--setting", "result_cache_entries=0")
    return metrics


def first_query_metrics(index: Path) -> dict[str, float]:
    """Each query of the mix (with facets) as the first one on a freshly opened generation.

    Nothing of it is cached yet (postings, phrase matches, results): what an
    analyst's first, novel query costs.
    """
    from search_web.whoosh_engine import SearchIndex

    samples = []
    for q, dates, provider in QUERY_MIX.values():
        search = SearchIndex(index, Limits(result_cache_entries=0))
        try:
            search.generation()  # opening is cold start, timed apart
            started = time.perf_counter()
            search.search(project_request(q, dates, provider, True), with_corrections=False)
            samples.append(time.perf_counter() - started)
        finally:
            search.close()
    figures = stats(samples)
    return {"first_query_p50_ms": figures["p50"], "first_query_max_ms": round(max(samples) * 1000, 2)}


def stored_documents(search) -> Iterator[dict]:
    """The project's documents as stored, bodies included (what the anchors index)."""
    return documents_with_bodies(search.generation().searcher().reader())


def http_p95(index: Path, *server_args: str) -> float:
    """p95 of /api/search (with facets) through waitress, 20 concurrent clients repeating the query mix."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "search_web", "--index", str(index), "--port", str(port), *server_args],  # as served
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_server(port, server)
        paths = []
        for q, dates, provider in QUERY_MIX.values():
            params = {"q": q}
            if dates:
                params["from"], params["to"] = dates
            if provider:
                params["provider"] = provider
            paths.append("/api/search?" + urlencode(params))
        paths.append("/api/search?q=")
        samples: list[float] = []
        lock = threading.Lock()

        def client(offset: int, requests: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            for number in range(requests):
                path = paths[(offset + number) % len(paths)]
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, (response.status, path)
                with lock:
                    samples.append(time.perf_counter() - started)
            connection.close()

        # An untimed warm-up under the same concurrent load, as for the in-process figures (a
        # first query is its own metric), so that each worker process meets the queries: a
        # single warm-up connection reached one worker and left the other cold.
        run_clients(client, HTTP_WARM_UP_REQUESTS // HTTP_CLIENTS)
        samples.clear()
        run_clients(client, HTTP_REQUESTS // HTTP_CLIENTS)
        return stats(samples)["p95"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_clients(client, requests: int) -> None:
    """HTTP_CLIENTS threads, each running ``client(number, requests)``; returns when all are done."""
    threads = [threading.Thread(target=client, args=(n, requests)) for n in range(HTTP_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- tantivy -------------------------------------------------------------------

TANTIVY_BUILD = """
import json, sys, time
import tantivy
sys.path.insert(0, sys.argv[3])
from benchmarks.bench import tantivy_document, tantivy_schema
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
started = time.perf_counter()
index = tantivy.Index(tantivy_schema(), path=sys.argv[2])
writer = index.writer(heap_size=512_000_000, num_threads=2)
for doc in docs:
    writer.add_document(tantivy_document(doc))
writer.commit()
writer.wait_merging_threads()
RESULT = {"seconds": time.perf_counter() - started, "documents": len(docs)}
"""

TANTIVY_COLD = """
import sys, time
started = time.perf_counter()
import tantivy
index = tantivy.Index.open(sys.argv[1])
searcher = index.searcher()
query = index.parse_query("china", ["title", "excerpt", "related", "body"])
hits = searcher.search(query, 10).hits
[searcher.doc(address) for _, address in hits]
RESULT = {"cold_start_s": time.perf_counter() - started}
"""


# The project's default field weights (search_web.settings), given to the anchors too.
FIELD_WEIGHTS = {"title": 3.0, "excerpt": 1.5, "related": 1.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)


def tantivy_schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=name == "title", tokenizer_name="en_stem")
    for name in ("provider", "topic", "year", "kind"):
        builder.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    builder.add_date_field("date", indexed=True, fast=True, stored=False)
    return builder.build()


def tantivy_document(doc: dict):
    import tantivy

    document = tantivy.Document()
    document.add_text("id", doc["id"])
    for name in TEXT_FIELDS:
        document.add_text(name, doc.get(name) or "")
    document.add_text("provider", doc.get("provider") or "")
    for topic in doc.get("topics") or []:
        document.add_text("topic", topic)
    document.add_text("kind", doc["kind"])
    if doc.get("published"):
        document.add_text("year", doc["published"][:4])
        document.add_date("date", dt.datetime.fromisoformat(doc["published"]).replace(tzinfo=dt.UTC))
    return document


def bench_tantivy(docs_path: Path, index: Path) -> dict:
    import tantivy

    shutil.rmtree(index, ignore_errors=True)
    index.mkdir(parents=True)
    build = run_measured(TANTIVY_BUILD, str(docs_path), str(index), str(REPO))
    metrics = {
        "index_docs_per_s": round(build["documents"] / build["seconds"], 1),
        "peak_rss_mb": build["peak_rss_mb"],
        "index_mb": folder_mb(index),
        "cold_start_s": round(run_measured(TANTIVY_COLD, str(index))["cold_start_s"], 3),
    }
    engine = tantivy.Index.open(str(index))
    engine.reload()
    searcher = engine.searcher()
    schema = engine.schema
    aggregations = {name: {"terms": {"field": name, "size": 15}} for name in ("provider", "topic", "year")}

    def query_for(q: str, dates, provider):
        # tantivy's parser joins plain words with OR, as the project matches them.
        text = engine.parse_query(q, list(TEXT_FIELDS), {k: v for k, v in FIELD_WEIGHTS.items() if v != 1.0})
        clauses = [(tantivy.Occur.Must, text)]
        if dates:
            start, end = (dt.datetime.fromisoformat(d) for d in dates)  # naive UTC, as tantivy wants
            end += dt.timedelta(days=1)
            clauses.append(
                (tantivy.Occur.Must, tantivy.Query.range_query(schema, "date", tantivy.FieldType.Date, start, end))
            )
        if provider:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "provider", provider)))
        return tantivy.Query.boolean_query(clauses)

    def run(q, dates, provider, with_facets):
        query = query_for(q, dates, provider)
        result = searcher.search(query, 10, count=True)
        titles = [searcher.doc(address)["title"] for _, address in result.hits]
        if with_facets:
            searcher.aggregate(query, aggregations)
        return result.count, titles

    def browse():
        query = tantivy.Query.all_query()
        result = searcher.search(query, 10, count=True, order_by_field="date")
        [searcher.doc(address) for _, address in result.hits]
        searcher.aggregate(query, aggregations)

    metrics.update(latency_metrics(run, browse))
    return metrics


# --- SQLite FTS5 ---------------------------------------------------------------

SQLITE_BUILD = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from benchmarks.bench import sqlite_build
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
started = time.perf_counter()
sqlite_build(docs, sys.argv[2])
RESULT = {"seconds": time.perf_counter() - started, "documents": len(docs)}
"""

SQLITE_COLD = """
import sqlite3, sys, time
started = time.perf_counter()
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT d.title FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? "
                  "ORDER BY bm25(fts, 3.0, 1.5, 1.0, 1.0) LIMIT 10", ("china",)).fetchall()
RESULT = {"cold_start_s": time.perf_counter() - started}
"""


def sqlite_build(docs: list[dict], path: str) -> None:
    db = sqlite3.connect(path)
    db.executescript(
        """
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT, title TEXT, provider TEXT, year TEXT,
                           kind TEXT, date INTEGER);
        CREATE TABLE topics (rowid INTEGER, topic TEXT);
        CREATE VIRTUAL TABLE fts USING fts5(title, excerpt, related, body, content='', tokenize='porter unicode61');
        """
    )
    with db:
        for rowid, doc in enumerate(docs, start=1):
            published = doc.get("published")
            date = int(dt.datetime.fromisoformat(published).replace(tzinfo=dt.UTC).timestamp()) if published else None
            db.execute(
                "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rowid, doc["id"], doc.get("title", ""), doc.get("provider") or "", (published or "")[:4],
                 doc["kind"], date),
            )  # fmt: skip
            db.executemany("INSERT INTO topics VALUES (?, ?)", [(rowid, t) for t in doc.get("topics") or []])
            db.execute(
                "INSERT INTO fts (rowid, title, excerpt, related, body) VALUES (?, ?, ?, ?, ?)",
                (rowid, *(doc.get(name) or "" for name in TEXT_FIELDS)),
            )
    db.executescript(
        "CREATE INDEX docs_date ON docs(date); CREATE INDEX docs_provider ON docs(provider);"
        "CREATE INDEX topics_rowid ON topics(rowid); INSERT INTO fts(fts) VALUES ('optimize');"
    )
    db.close()


def bench_sqlite(docs_path: Path, path: Path) -> dict:
    path.unlink(missing_ok=True)
    build = run_measured(SQLITE_BUILD, str(docs_path), str(path), str(REPO))
    metrics = {
        "index_docs_per_s": round(build["documents"] / build["seconds"], 1),
        "peak_rss_mb": build["peak_rss_mb"],
        "index_mb": round(path.stat().st_size / 1e6, 1),
        "cold_start_s": round(run_measured(SQLITE_COLD, str(path))["cold_start_s"], 3),
    }
    db = sqlite3.connect(str(path), check_same_thread=False)

    def matches(q: str, dates, provider) -> tuple[str, list]:
        words = q if q.startswith('"') else " OR ".join(q.split())  # any word, as the project matches
        weights = ", ".join(str(w) for w in FIELD_WEIGHTS.values())
        sql = f"SELECT fts.rowid AS rowid, bm25(fts, {weights}) AS score FROM fts"
        where, args = ["fts MATCH ?"], [words]
        if dates or provider:
            sql += " JOIN docs d ON d.rowid = fts.rowid"
        if dates:
            start, end = (int(dt.datetime.fromisoformat(d).replace(tzinfo=dt.UTC).timestamp()) for d in dates)
            where.append("d.date >= ? AND d.date < ?")
            args += [start, end + 86400]
        if provider:
            where.append("d.provider = ?")
            args.append(provider)
        return f"{sql} WHERE {' AND '.join(where)}", args

    def facet_counts(match_sql: str, args: list) -> None:
        with_matches = f"WITH m AS ({match_sql}) "
        for column in ("provider", "year"):
            db.execute(
                with_matches + f"SELECT d.{column}, count(*) c FROM m JOIN docs d ON d.rowid = m.rowid "
                f"GROUP BY d.{column} ORDER BY c DESC LIMIT 15",
                args,
            ).fetchall()
        db.execute(
            with_matches + "SELECT t.topic, count(*) c FROM m JOIN topics t ON t.rowid = m.rowid "
            "GROUP BY t.topic ORDER BY c DESC LIMIT 15",
            args,
        ).fetchall()

    def run(q, dates, provider, with_facets):
        match_sql, args = matches(q, dates, provider)
        total = db.execute(f"SELECT count(*) FROM ({match_sql})", args).fetchone()[0]
        titles = db.execute(
            f"SELECT d.title FROM ({match_sql} ORDER BY score LIMIT 10) m JOIN docs d ON d.rowid = m.rowid", args
        ).fetchall()
        if with_facets:
            facet_counts(match_sql, args)
        return total, titles

    def browse():
        db.execute("SELECT title FROM docs ORDER BY date DESC LIMIT 10").fetchall()
        db.execute("SELECT count(*) FROM docs").fetchone()
        facet_counts("SELECT rowid FROM docs", [])

    metrics.update(latency_metrics(run, browse))
    db.close()
    return metrics


# --- the run -------------------------------------------------------------------


def write_documents(documents: Callable[[], Iterable[dict]], path: Path) -> None:
    """The documents as JSON lines, each news record with its related coverage (its related items'
    titles and excerpts, which the project searches with it). ``documents`` is read twice."""
    related = {d["id"]: f"{d.get('title', '')}\n{d.get('excerpt', '')}" for d in documents() if d["kind"] == "related"}
    with open(path, "w", encoding="utf-8") as handle:
        for doc in documents():
            published = doc.get("published")
            record = {
                "id": doc["id"],
                "kind": doc["kind"],
                "title": doc.get("title", ""),
                "excerpt": doc.get("excerpt", ""),
                "related": "\n\n".join(related[i] for i in doc.get("related_ids") or [] if i in related),
                "body": doc.get("body", ""),
                "provider": doc.get("provider", ""),
                "topics": doc.get("topics") or [],
                "published": published.isoformat() if published else None,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def table(n: int, engines: dict[str, dict], per_query: dict[str, dict[str, float]]) -> str:
    keys = [*METRIC_KEYS, *PROJECT_ONLY_KEYS]
    lines = [f"n = {n:,}", f"{'metric':<18}{'project':>12}{'tantivy':>12}{'sqlite':>12}{'/tantivy':>10}{'/sqlite':>10}"]
    for key in keys:
        row = [engines[e].get(key) for e in ("project", "tantivy", "sqlite")]
        ratios = [f"{row[0] / other:.2f}" if row[0] is not None and other else "" for other in row[1:]]
        cells = [f"{v:>12,.2f}" if isinstance(v, (int, float)) else f"{'':>12}" for v in row]
        lines.append(f"{key:<18}{''.join(cells)}{ratios[0]:>10}{ratios[1]:>10}")
    lines.append("p50 ms per query (no counts):")
    for name in QUERY_MIX:
        row = [per_query.get(e, {}).get(name) for e in ("project", "tantivy", "sqlite")]
        cells = [f"{v:>12,.2f}" if isinstance(v, (int, float)) else f"{'':>12}" for v in row]
        lines.append(f"  {name:<28}{''.join(cells)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Benchmark the project against tantivy and SQLite FTS5.")
    parser.add_argument("--n", type=int, default=100_000, help="number of generated sources")
    parser.add_argument("--data", type=Path, default=DATA, help="where generated sources and indexes go")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--skip-anchors", action="store_true", help="measure the project only")
    parser.add_argument(
        "--reuse-build",
        action="store_true",
        help="keep the project index of the last run at this N and its build figures (search changes only)",
    )
    args = parser.parse_args(argv)
    # A SIGTERM (a timeout, a kill) unwinds like Ctrl-C: the ``finally`` blocks stop the
    # server and the build started here instead of leaving them running.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    work = args.data / str(args.n)
    sources = generate(args.n, work / "sources")
    previous = None
    if args.reuse_build and args.out.exists():
        last = json.loads(args.out.read_text("utf-8"))
        previous = last["engines"]["project"] if last.get("n") == args.n else None
    docs_path = None if args.skip_anchors else work / "documents.jsonl"
    project = bench_project(sources, work / "project-index", previous, docs_path)
    engines = {"project": project}
    if docs_path is not None:
        engines["tantivy"] = bench_tantivy(docs_path, work / "tantivy-index")
        engines["sqlite"] = bench_sqlite(docs_path, work / "fts5.sqlite")
    for name in ("tantivy", "sqlite"):
        engines.setdefault(name, {})
    # Per query, beside the engines' figures (whose values are all numbers).
    per_query = {name: figures.pop("query_p50_ms") for name, figures in engines.items() if "query_p50_ms" in figures}
    report = {
        "n": args.n,
        "documents": project["documents"],
        "engines": engines,
        "queries": QUERY_MIX,
        "query_p50_ms": per_query,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(table(args.n, engines, per_query))
    return report


if __name__ == "__main__":
    main()
