"""Fingerprint an index and the answers served from it, to prove a change kept behaviour.

``python -m benchmarks.index_snapshot dump INDEX_DIR OUT.json`` records, for the
index's current generation: a hash of every file inside each Whoosh segment (the
random segment name replaced, since it is the one thing two builds of the same
sources never share), the schema as pickled into the table of contents, the
generation's side files (catalog, columns, spelling, build summary), every stored
document, and the JSON of ``/api/search``, ``/api/timeline``, ``/api/doc/<id>``
and the CSV/JSONL/Atom exports for the relevance queries and a spread of
filters, sorts, pages and folding. ``python -m benchmarks.index_snapshot compare
A.json B.json`` prints what differs and exits 1 if anything does.

Run ``dump`` on a build from the old commit and on one from the new, then
``compare``. Timing fields (``took_ms``) and generation names are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

QUERIES_FILE = Path(__file__).parent / "relevance" / "queries.yaml"
SIDE_FILES = ("build.json", "catalog.pickles", "columns.json", "columns.npz", "documents.json", "spelling.json")
# Parameter sets each relevance query is asked with, beside the plain query.
VARIANTS = (
    {},
    {"sort": "newest"},
    {"sort": "oldest"},
    {"collapse": "0", "per_page": "50"},
    {"page": "2"},
    {"kind": "report"},
    {"kind": "news", "year": "2024"},
)
# Searches without a relevance query: browsing, filters, dates, the query language.
EXTRA_SEARCHES = (
    {},
    {"sort": "oldest", "per_page": "50", "page": "3"},
    {"provider": "Reuters"},
    {"country": "CN"},
    {"country": "Taiwan", "q": "chips"},
    {"topic": "Power Apps"},
    {"from": "2023-01-01", "to": "2024-06-30"},
    {"q": '"export controls" -china'},
    {"q": "title:ai OR provider:reuters"},
    {"q": "semicond*"},
    {"q": "semiconducter"},
    {"q": "ai", "as_typed": "1"},
    {"q": "dataverse", "facets": "0"},
    {"q": "date:2024"},
)


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: Any, depth: int = 0) -> Any:
    """A JSON-able form of a pickled schema object: sets sorted, since their pickled order is random."""
    if depth > 12:
        return repr(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {str(k): _canonical(v, depth + 1) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, depth + 1) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, type) or (callable(value) and not hasattr(value, "__dict__")):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    state = value.__getstate__() if hasattr(value, "__getstate__") else None
    if not isinstance(state, dict):
        state = getattr(value, "__dict__", None)
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    return {kind: _canonical(state, depth + 1) if isinstance(state, dict) else repr(value)}


def index_fingerprint(generation: Path) -> dict[str, Any]:
    """Segment contents, schema and side files of one generation folder."""
    storage = FileStorage(str(generation))
    ix = whoosh_index.open_dir(str(generation))
    segments = []
    for segment in ix._segments():
        compound = segment.open_compound_file(storage)
        files = {}
        for name in sorted(compound.list()):
            handle = compound.open_file(name)
            files[name.replace(segment.segment_id(), "SEGMENT")] = _hash(handle.read())
            handle.close()
        compound.close()
        segments.append({"doc_count": segment.doc_count_all(), "deleted": segment.deleted_count(), "files": files})
    schema = {name: _canonical(field) for name, field in ix.schema.items()}
    side = {name: _hash(_side_file_bytes(generation / name)) for name in SIDE_FILES if (generation / name).exists()}
    with ix.searcher() as searcher:
        stored = sorted(
            (json.dumps(fields, sort_keys=True, default=str) for fields in searcher.all_stored_fields()),
        )
    return {"segments": segments, "schema": schema, "side_files": side, "stored_documents": stored}


def _side_file_bytes(path: Path) -> bytes:
    """A side file's bytes, with the build summary's absolute root paths cut to folder names.

    Two checkouts of the same sources sit in different folders; the summary's
    ``roots`` would otherwise differ between builds that are otherwise the same.
    """
    if path.name != "build.json":
        return path.read_bytes()
    summary = json.loads(path.read_text())
    summary["roots"] = [Path(root).name for root in summary.get("roots", [])]
    return json.dumps(summary, sort_keys=True).encode()


def _requests() -> list[tuple[str, dict[str, str]]]:
    queries = [entry["q"] for entry in yaml.safe_load(QUERIES_FILE.read_text())["queries"]]
    asked = [("/api/search", {"q": q, **variant}) for q in queries for variant in VARIANTS]
    asked += [("/api/search", params) for params in EXTRA_SEARCHES]
    asked += [("/api/timeline", {"q": q}) for q in queries[:20]]
    asked += [(path, {"q": q}) for q in queries[:10] for path in ("/api/search.csv", "/api/search.jsonl")]
    asked += [("/feed.atom", {"q": q}) for q in queries[:5]]
    return asked


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "took_ms"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def answers(index_dir: Path) -> dict[str, Any]:
    """What the app answers for each request of :func:`_requests`, and for every hit's document."""
    from urllib.parse import urlencode

    from search_web import create_app

    client = create_app({"INDEX_DIR": str(index_dir), "TESTING": True}).test_client()
    recorded: dict[str, Any] = {}
    doc_ids: set[str] = set()
    for path, params in _requests():
        url = f"{path}?{urlencode(params)}"
        response = client.get(url)
        if response.is_json:
            body = _without_timings(response.get_json())
            doc_ids.update(hit["id"] for hit in body.get("hits", []) if isinstance(hit, dict) and "id" in hit)
        else:
            body = response.get_data(as_text=True)
        recorded[url] = {"status": response.status_code, "body": body}
    for doc_id in sorted(doc_ids):
        response = client.get(f"/api/doc/{doc_id}")
        recorded[f"/api/doc/{doc_id}"] = {"status": response.status_code, "body": response.get_json()}
    return recorded


def dump(index_dir: Path) -> dict[str, Any]:
    """The whole fingerprint of the index in ``index_dir`` and of its answers."""
    generation = index_dir / json.loads((index_dir / "CURRENT").read_text())["generation"]
    return {"index": index_fingerprint(generation), "answers": answers(index_dir)}


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences between two dumps (empty when identical)."""
    differences = []
    for part in ("segments", "schema", "side_files", "stored_documents"):
        if before["index"][part] != after["index"][part]:
            differences.append(f"index {part} differ")
    for url in sorted(set(before["answers"]) | set(after["answers"])):
        if before["answers"].get(url) != after["answers"].get(url):
            differences.append(f"answer differs: {url}")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="fingerprint INDEX_DIR into OUT")
    dumping.add_argument("index_dir", type=Path)
    dumping.add_argument("out", type=Path)
    comparing = commands.add_parser("compare", help="compare two dumps; exit 1 if they differ")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        snapshot = dump(args.index_dir)
        args.out.write_text(json.dumps(snapshot, sort_keys=True))
        print(f"{args.out}: {len(snapshot['answers'])} answers, {len(snapshot['index']['stored_documents'])} documents")
        return 0
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    differences = compare(before, after)
    for line in differences:
        print(line)
    print(f"{len(before['answers'])} answers and the index compared: {len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
