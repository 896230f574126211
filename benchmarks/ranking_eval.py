"""Ranking evaluation: nDCG@10 and Recall@100 of the product, tantivy's BM25 and SQLite FTS5.

The analyst queries (``benchmarks/relevance/queries.yaml``) are judged by
reading the documents (``judgments.yaml``; the rules are in that folder's
README). All three engines rank the same documents: the product's index of
``../shared/corpus`` plus the seeds, and its stored documents loaded into
tantivy (default BM25 over title, excerpt, related coverage and body, its
query parser's default: any word) and SQLite FTS5 (``bm25()``, the words
joined with OR). Figures are given for all queries and for two fixed halves
(queries ordered by the SHA-1 of their text, alternately): settings are
chosen on half A and reported on half B.

    python -m benchmarks.ranking_eval [--index DIR] [--setting NAME=VALUE ...] [--queries]
    python -m benchmarks.ranking_eval --pool DIR [--depth 15]   (write the judging pool)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RELEVANCE = Path(__file__).resolve().parent / "relevance"
QUERIES = RELEVANCE / "queries.yaml"
JUDGMENTS = RELEVANCE / "judgments.yaml"
CORPUS = REPO.parent / "shared" / "corpus"
NDCG_CUTOFF = 10
RECALL_CUTOFF = 100
ENGINES = ("product", "tantivy", "sqlite")

Ranking = Callable[[str, int], list[str]]  # (query, depth) -> judgment keys, best first


# --- queries, judgments and measures ---------------------------------------------


def load_queries(path: Path = QUERIES) -> list[dict[str, Any]]:
    """The queries with their kind, intent and half ("A" or "B")."""
    queries = yaml.safe_load(path.read_text("utf-8"))["queries"]
    by_hash = sorted(queries, key=lambda item: hashlib.sha1(item["q"].encode("utf-8")).hexdigest())
    for number, item in enumerate(by_hash):
        item["half"] = "AB"[number % 2]
    return queries


def load_judgments(path: Path = JUDGMENTS) -> dict[str, dict[str, int]]:
    """Query -> judgment key -> grade (0, 1 or 2)."""
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return {
        item["q"]: {key: int(value["grade"]) for key, value in (item.get("judged") or {}).items()}
        for item in data.get("queries") or []
    }


def ndcg(ranked: list[str], grades: dict[str, int], cutoff: int = NDCG_CUTOFF) -> float:
    """Normalised discounted cumulative gain at ``cutoff``, gains 2**grade - 1 (unjudged: 0)."""
    gains = [grades.get(key, 0) for key in ranked[:cutoff]]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(grades.values(), reverse=True)[:cutoff]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], grades: dict[str, int], cutoff: int = RECALL_CUTOFF) -> float:
    """Share of the relevant documents (grade 1 or 2) among the first ``cutoff``."""
    relevant = {key for key, grade in grades.items() if grade > 0}
    return len(relevant.intersection(ranked[:cutoff])) / len(relevant) if relevant else 0.0


def judgment_key(doc: dict[str, Any]) -> str:
    """``<source>#<kind>``; related items, several per file, add the start of their title."""
    key = f"{doc['source']}#{doc['kind']}"
    return f"{key}:{doc['title'][:50]}" if doc["kind"] == "related" else key


# --- the engines -----------------------------------------------------------------


def product_ranking(index: Any) -> Ranking:
    """The product's ranking as served: every document listed (not folded into stories)."""
    from search_web.engine import SearchRequest

    def rank(q: str, depth: int) -> list[str]:
        keys: list[str] = []
        page = 1
        while len(keys) < depth:
            result = index.search(SearchRequest(q=q, per_page=50, page=page, collapse=False))
            keys += [judgment_key(hit) for hit in result.hits]
            if len(result.hits) < 50:
                break
            page += 1
        return keys[:depth]

    return rank


def corpus_documents(index: Any) -> list[dict[str, str]]:
    """The product's documents as the anchors index them: key, title, excerpt, related coverage, body."""
    from indexer.store.schema import stored_documents

    stored = list(stored_documents(index.generation().searcher().reader()))
    by_id = {doc["id"]: doc for doc in stored}
    documents = []
    for doc in stored:
        related = [by_id[i] for i in doc.get("related_ids") or [] if i in by_id]
        documents.append(
            {
                "key": judgment_key(doc),
                "title": doc.get("title", ""),
                "excerpt": doc.get("excerpt", ""),
                "related": "\n\n".join(f"{r.get('title', '')}\n{r.get('excerpt', '')}" for r in related),
                "body": doc.get("body", ""),
            }
        )
    return documents


TEXT = ("title", "excerpt", "related", "body")


def tantivy_ranking(documents: list[dict[str, str]]) -> Ranking:
    """tantivy's default BM25 over the four text fields (English stemming), its parser's default (any word)."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", stored=True, tokenizer_name="raw")
    for name in TEXT:
        builder.add_text_field(name, tokenizer_name="en_stem")
    engine = tantivy.Index(builder.build())
    writer = engine.writer(heap_size=64_000_000, num_threads=1)
    for doc in documents:
        writer.add_document(tantivy.Document(**doc))
    writer.commit()
    writer.wait_merging_threads()
    engine.reload()
    searcher = engine.searcher()

    def rank(q: str, depth: int) -> list[str]:
        query, _errors = engine.parse_query_lenient(q, list(TEXT))
        return [searcher.doc(address)["key"][0] for _, address in searcher.search(query, depth).hits]

    return rank


def sqlite_ranking(documents: list[dict[str, str]]) -> Ranking:
    """SQLite FTS5's ``bm25()`` over the four text fields (Porter stemming), the query's words joined with OR."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE fts USING fts5(key UNINDEXED, {', '.join(TEXT)}, tokenize='porter unicode61')")
    db.executemany(
        "INSERT INTO fts VALUES (?, ?, ?, ?, ?)", [(d["key"], *(d[name] for name in TEXT)) for d in documents]
    )

    def rank(q: str, depth: int) -> list[str]:
        match = fts5_any_word(q)
        if not match:
            return []
        rows = db.execute("SELECT key FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?", (match, depth))
        return [key for (key,) in rows]

    return rank


def fts5_any_word(q: str) -> str:
    """An FTS5 query of any of ``q``'s words: each word (its letters and digits) quoted, joined with OR;
    a quoted phrase stays one; leading ``-`` words are left out (FTS5 has no unary NOT)."""
    parts = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', q):
        text = phrase or ("" if word.startswith("-") else word)
        tokens = re.findall(r"\w+", text)
        if tokens:
            parts.append('"' + " ".join(tokens) + '"')
    return " OR ".join(parts)


# --- the evaluation --------------------------------------------------------------


def evaluate(rankings: dict[str, Ranking], queries: list[dict], judgments: dict[str, dict[str, int]]) -> dict:
    """Per query and engine nDCG@10 and Recall@100, and their means over all queries and each half."""
    rows = []
    for item in queries:
        grades = judgments.get(item["q"], {})
        row = {"q": item["q"], "kind": item.get("kind", ""), "half": item["half"]}
        for name, rank in rankings.items():
            ranked = rank(item["q"], RECALL_CUTOFF)
            row[name] = {"ndcg": ndcg(ranked, grades), "recall": recall(ranked, grades)}
        rows.append(row)
    summary = {}
    for name in rankings:
        summary[name] = {}
        for part, chosen in (("all", rows), ("A", [r for r in rows if r["half"] == "A"])):
            summary[name][part] = _means(chosen, name)
        summary[name]["B"] = _means([r for r in rows if r["half"] == "B"], name)
    return {"queries": rows, "summary": summary}


def _means(rows: list[dict], name: str) -> dict[str, float]:
    count = max(len(rows), 1)
    return {
        "ndcg": sum(r[name]["ndcg"] for r in rows) / count,
        "recall": sum(r[name]["recall"] for r in rows) / count,
        "queries": len(rows),
    }


def open_corpus_index(index_dir: Path | None, settings: dict[str, Any] | None = None) -> tuple[Any, Path]:
    """A search index of ../shared/corpus plus the seeds: ``index_dir`` if given, else built afresh."""
    from indexer.build import run_build
    from search_web.settings import Limits
    from search_web.whoosh_engine import SearchIndex

    if index_dir is None:
        index_dir = Path(tempfile.mkdtemp(prefix="ranking-eval-"))
        run_build([REPO / "seeds", CORPUS], index_dir)
    return SearchIndex(index_dir, Limits.from_mapping(settings)), index_dir


def all_rankings(index: Any) -> dict[str, Ranking]:
    """The product and both anchors over the same documents."""
    documents = corpus_documents(index)
    return {
        "product": product_ranking(index),
        "tantivy": tantivy_ranking(documents),
        "sqlite": sqlite_ranking(documents),
    }


def table(report: dict) -> str:
    """The summary as a text table: nDCG@10 and Recall@100 per engine, for all queries and each half."""
    lines = [f"{'':<10}" + "".join(f"{part + ' nDCG@10':>14}{part + ' R@100':>12}" for part in ("all", "A", "B"))]
    for name, parts in report["summary"].items():
        cells = "".join(f"{parts[p]['ndcg']:>14.3f}{parts[p]['recall']:>12.3f}" for p in ("all", "A", "B"))
        lines.append(f"{name:<10}{cells}")
    counts = report["summary"]["product"]
    lines.append(f"queries: {counts['all']['queries']} (A {counts['A']['queries']}, B {counts['B']['queries']})")
    return "\n".join(lines)


def write_pool(index: Any, rankings: dict[str, Ranking], queries: list[dict], out: Path, depth: int) -> None:
    """For each query, the union of every engine's first ``depth`` documents, as text for judges to read."""
    from search_web.engine import SearchRequest

    documents = {d["key"]: d for d in corpus_documents(index)}
    judged = load_judgments() if JUDGMENTS.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    for number, item in enumerate(queries, start=1):
        keys: dict[str, None] = {}
        for rank in rankings.values():
            keys.update(dict.fromkeys(rank(item["q"], depth)))
        known = judged.get(item["q"], {})
        keys = {key: None for key in keys if key not in known}  # only what is not judged yet
        if not keys:
            continue
        terms = index.search(SearchRequest(q=item["q"], per_page=10)).terms
        lines = [f"# {item['q']}", "", f"Intent: {item['intent']}", ""]
        for key in keys:
            doc = documents[key]
            lines += [f"## {key}", f"Title: {doc['title']}"]
            if doc["excerpt"]:
                lines.append(f"Excerpt: {doc['excerpt'][:600]}")
            if doc["related"]:
                lines.append(f"Related coverage: {doc['related'][:500]}")
            lines.append(f"Body ({len(doc['body']):,} characters) begins: {doc['body'][:700]}")
            for passage in _passages(doc["body"], terms):
                lines.append(f"Passage: …{passage}…")
            lines.append("")
        (out / f"{number:02d}.md").write_text("\n".join(lines), "utf-8")


def _passages(body: str, terms: set[str], count: int = 3, width: int = 300) -> list[str]:
    """Up to ``count`` passages of ``body`` past its first 700 characters around words of ``terms``."""
    from search_web.whoosh_engine import term_spans

    found, last = [], 700
    for start, _ in term_spans(body, terms):
        if start > last:
            found.append(body[max(0, start - width // 2) : start + width // 2].replace("\n", " "))
            last = start + width
            if len(found) == count:
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an index of ../shared/corpus plus seeds (default: build one)")
    parser.add_argument("--setting", action="append", default=[], help="a search setting NAME=VALUE to try")
    parser.add_argument("--queries", action="store_true", help="print every query's figures too")
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    parser.add_argument("--pool", type=Path, help="write the judging pool into this folder instead")
    parser.add_argument("--depth", type=int, default=15, help="pool depth per engine (with --pool)")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"{CORPUS} is missing: the evaluation needs the shared corpus beside the repo", file=sys.stderr)
        return 2
    from search_web.settings import parse_setting

    index, _ = open_corpus_index(args.index, dict(map(parse_setting, args.setting)))
    queries = load_queries()
    rankings = all_rankings(index)
    if args.pool:
        write_pool(index, rankings, queries, args.pool, args.depth)
        return 0
    report = evaluate(rankings, queries, load_judgments())
    if args.queries:
        for row in report["queries"]:
            figures = "".join(f"{row[e]['ndcg']:>8.3f}{row[e]['recall']:>7.2f}" for e in ENGINES)
            print(f"{row['half']} {row['q'][:44]:<44}{figures}")
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
