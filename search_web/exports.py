"""Alerts and exports of any search: ``/feed.atom``, ``/api/search.csv``, ``/api/search.jsonl``.

All three take the parameters of ``/api/search``. The feed lists the newest
matches (one per story unless ``collapse=0``); the exports stream the whole
result set in the search's order, up to the ``max_export_rows`` setting, one
row per document unless ``collapse=1``.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for

from indexer.documents import is_web_url
from search_web.engine import SearchRequest, current_engine
from search_web.params import parse_request, url_with
from search_web.query import QueryError

bp = Blueprint("exports", __name__)

EXPORT_FIELDS = (
    "id",
    "kind",
    "title",
    "url",
    "provider",
    "provider_domain",
    "topics",
    "published",
    "source",
    "snippet",
    "page",
    "countries",
    "story",
)
ATOM = "http://www.w3.org/2005/Atom"
# Rows per chunk written to the client: small enough to start at once, large enough to be cheap.
ROWS_PER_CHUNK = 200
_MARK = re.compile(r"</?mark>")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filename(search: SearchRequest, extension: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "-", search.q).strip("-")[:40] or "all"
    return f"geosearch-{dt.date.today():%Y%m%d}-{words}.{extension}"


def _export(extension: str, mimetype: str, write: Any):
    service = current_engine()
    try:
        search = parse_request(request.args, service.limits, collapse=False)
        hits = service.export(search, service.limits.max_export_rows)
    except QueryError as exc:
        return jsonify({"error": str(exc)}), 400
    headers = {"Content-Disposition": f'attachment; filename="{_filename(search, extension)}"'}
    return Response(stream_with_context(write(hits)), mimetype=mimetype, headers=headers)


@bp.get("/api/search.csv")
def search_csv():
    """The whole result set as CSV (UTF-8 with a byte-order mark, so spreadsheets read it right)."""
    return _export("csv", "text/csv", _csv_chunks)


@bp.get("/api/search.jsonl")
def search_jsonl():
    """The whole result set as JSON Lines: one JSON hit per line."""
    return _export("jsonl", "application/x-ndjson", _jsonl_chunks)


def _chunks(rows: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= ROWS_PER_CHUNK:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def _jsonl_chunks(hits: Iterable[dict[str, Any]]) -> Iterator[str]:
    return _chunks(json.dumps(_export_hit(hit), ensure_ascii=False) + "\n" for hit in hits)


def _csv_chunks(hits: Iterable[dict[str, Any]]) -> Iterator[str]:
    def rows() -> Iterator[str]:
        yield "\ufeff" + _csv_line(EXPORT_FIELDS)
        for hit in hits:
            yield _csv_line([csv_cell(name, value) for name, value in _export_hit(hit).items()])

    return _chunks(rows())


def _export_hit(hit: dict[str, Any]) -> dict[str, Any]:
    """The JSON hit's fields, in a fixed order (without the collapsed-story details)."""
    return {name: hit.get(name) for name in EXPORT_FIELDS}


def csv_cell(name: str, value: Any) -> str:
    """One CSV cell of an exported field: lists joined with "; ", snippets as plain text, and a text a
    spreadsheet would run as a formula made inert by a leading apostrophe."""
    if value is None:
        return ""
    if name == "topics":
        text = "; ".join(value)
    elif name == "countries":
        text = "; ".join(country["code"] for country in value)
    elif name == "snippet":
        text = html.unescape(_MARK.sub("", value))
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_line(values: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


# --- Atom ---------------------------------------------------------------------


@bp.get("/feed.atom")
def feed():
    """The newest matches of a search as an Atom feed: "subscribe to this search"."""
    service = current_engine()
    try:
        search = parse_request(request.args, service.limits)
        search.sort, search.sort_explicit, search.page = "newest", True, 1
        search.per_page, search.facets = service.limits.feed_entries, False
        result = service.search(search, with_corrections=False)
    except QueryError as exc:
        return jsonify({"error": str(exc)}), 400
    body = ET.tostring(_atom(search, result.hits), encoding="unicode", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")


def _atom(search: SearchRequest, hits: list[dict[str, Any]]) -> ET.Element:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    query = url_with(search, replace={"sort": "", "per_page": ""}).rstrip("?")  # the feed fixes both
    page_url = url_for("views.index", _external=True) + query
    self_url = url_for("exports.feed", _external=True) + query
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    dates = [hit["published"] for hit in hits if hit["published"]]
    _sub(feed, "title", f"Geosearch: {search.q}" if search.q else "Geosearch: newest documents")
    _sub(feed, "id", self_url)
    _sub(feed, "updated", max(dates) if dates else now)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=page_url, type="text/html")
    _sub(feed, "generator", "Geosearch")
    for hit in hits:
        feed.append(_entry(hit, now))
    return feed


def _entry(hit: dict[str, Any], now: str) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    page = url_for("views.document", doc_id=hit["id"], _external=True)
    _sub(entry, "title", hit["title"])
    _sub(entry, "id", page)  # stable for the document, whatever else changes
    _sub(entry, "updated", hit["published"] or now)
    if hit["published"]:
        _sub(entry, "published", hit["published"])
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _sub(author, "name", hit["provider"] or hit["provider_domain"] or "unknown")
    original = hit["url"] if hit["url"] and is_web_url(hit["url"]) else page
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=original)
    if original != page:
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=page, type="text/html")
    for term in [*hit["topics"], *(country["name"] for country in hit["countries"])]:
        ET.SubElement(entry, f"{{{ATOM}}}category", term=term)
    summary = _sub(entry, "summary", hit["snippet"])  # HTML with <mark>, escaped once more by XML
    summary.set("type", "html")
    return entry


def _sub(parent: ET.Element, name: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    child.text = _xml_text(text)
    return child


def _xml_text(text: str) -> str:
    # XML 1.0 forbids most control characters even when escaped.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)
