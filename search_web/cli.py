"""``python -m search_web``: serve with waitress, or run one query from the shell.

python -m search_web [--index DIR] [--host 127.0.0.1] [--port 8000] [--workers N] [--threads N]
python -m search_web query "export controls" [--provider X] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from werkzeug.datastructures import MultiDict

from search_web.engine import ENGINE_KEY, IndexUnavailable
from search_web.params import parse_request
from search_web.query import QueryError
from search_web.serving import default_workers, serve
from search_web.settings import Limits, parse_setting
from search_web.whoosh_engine import SearchIndex


def _parse_setting(text: str) -> tuple[str, object]:
    try:
        return parse_setting(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def make_parser() -> argparse.ArgumentParser:
    """The command line: serving options, and the ``query`` command."""
    parser = argparse.ArgumentParser(prog="python -m search_web", description="Serve or query the search index.")
    parser.add_argument("--index", default="index_data", help="index folder (default: index_data/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per worker process (default: 4)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes, each with its own copy of the index open (default: one per core, at most 4)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        type=_parse_setting,
        default=[],
        metavar="NAME=VALUE",
        help="override a limit (see --help-settings)",
    )
    parser.add_argument("--help-settings", action="store_true", help="list every setting with its default and help")
    sub = parser.add_subparsers(dest="command")
    query = sub.add_parser("query", help="run one search and print the results")
    query.add_argument("q", nargs="?", default="", help="query text (empty: newest first)")
    for name in ("provider", "topic", "year", "kind"):
        query.add_argument(f"--{name}", action="append", default=[], help=f"filter by {name} (repeatable)")
    query.add_argument("--from", dest="date_from", help="from date YYYY-MM-DD")
    query.add_argument("--to", dest="date_to", help="to date YYYY-MM-DD")
    query.add_argument("--sort", help="relevance, newest or oldest")
    query.add_argument("--page", default="1")
    query.add_argument("--per-page", default="10")
    query.add_argument("--json", action="store_true", help="print the /api/search JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve, or run one query; the exit status."""
    args = make_parser().parse_args(argv)
    if args.help_settings:
        for setting in Limits.describe():
            print(f"{setting['name']} (default {setting['default']}): {setting['help']}")
        return 0
    overrides = dict(args.setting)
    if args.command == "query":
        return _query(args, Limits.from_mapping(overrides))
    from search_web import create_app

    Limits.from_mapping(overrides)  # a bad setting fails here, once, not in every worker

    def make_app():
        app = create_app({"INDEX_DIR": args.index, "LIMITS": overrides})
        _open_index(app.extensions[ENGINE_KEY])
        return app

    workers = args.workers or default_workers()
    print(f"Serving {args.index} on http://{args.host}:{args.port}/ ({workers} worker processes)", flush=True)
    try:
        serve(make_app, args.host, args.port, args.threads, workers, Limits.from_mapping(overrides))
    except KeyboardInterrupt:  # Ctrl-C is how one stops a server run by hand: no traceback
        print("stopped", file=sys.stderr)
    return 0


def _open_index(index: SearchIndex) -> None:
    """Open the live generation before the first request, which would otherwise wait for it."""
    started = time.monotonic()
    try:
        generation = index.generation()
    except IndexUnavailable as exc:
        print(f"note: {exc}; serving anyway, the index is picked up once built", flush=True)
        return
    took = time.monotonic() - started
    print(f"Opened {generation.folder.name}: {generation.doc_count:,} documents in {took:.1f} s", flush=True)


def _query(args: argparse.Namespace, limits: Limits) -> int:
    params = MultiDict([("q", args.q), ("page", args.page), ("per_page", args.per_page)])
    for name in ("provider", "topic", "year", "kind"):
        for value in getattr(args, name):
            params.add(name, value)
    for name, value in (("from", args.date_from), ("to", args.date_to), ("sort", args.sort)):
        if value:
            params.add(name, value)
    index = SearchIndex(args.index, limits)
    try:
        result = index.search(parse_request(params, limits))
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return 0
    if result.corrected_from:
        print(f"Showing results for: {result.query} (no document holds {', '.join(result.unmatched_words)})")
    elif result.unmatched_words:
        print(f"No document holds: {', '.join(result.unmatched_words)}")
    print(f"{result.total} results ({result.took_ms:.1f} ms)")
    if result.suggestion:
        print(f"Did you mean: {result.suggestion}")
    for number, hit in enumerate(result.hits, start=(result.page - 1) * result.per_page + 1):
        date = (hit["published"] or "undated")[:10]
        print(f"{number:>3}. {hit['title']}  [{hit['kind']}, {hit['provider'] or '-'}, {date}]  id={hit['id']}")
    return 0
