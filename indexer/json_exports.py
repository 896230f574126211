"""Exports of news APIs: JSON (``.json``) and JSON Lines (``.jsonl``, ``.ndjson``).

One record per object, with the field names of the news records (title,
excerpt/description, url, datePublished/publishedDateTime, provider as a
name, a mapping or a list, topics/categories). Lists of articles wrapped in
an envelope (``{"value": [...]}`` from Bing News, ``{"articles": [...]}``
from NewsAPI, ``{"data"|"items"|"results"|"news": [...]}``) are unwrapped.
A bad record or line is skipped with a warning naming it; its neighbours are
indexed.
"""

from __future__ import annotations

import json
from typing import Any

from indexer.documents import Document
from indexer.news import record_documents
from indexer.sources import SkipFile
from indexer.textclean import clean_block

ENVELOPE_KEYS = ("value", "articles", "data", "items", "results", "news", "stories", "documents")
# API field names -> the news records' names (used only when the record lacks the latter).
ALIASES = {
    "title": ("headline", "name"),
    "excerpt": ("description", "summary", "snippet", "abstract"),
    "provider": ("source", "publisher", "site_name"),
    "topics": ("categories", "category", "keywords", "tags"),
    "url": ("link", "webUrl", "articleUrl"),
}
BODY_KEYS = ("content", "body", "text", "articleBody")
MAX_RECORDS = 100_000


def parse_json_export(text: str, *, root_name: str, relpath: str, lines: bool) -> tuple[list[Document], list[str]]:
    """All records of one export -> documents and warnings (``lines``: JSON Lines)."""
    warnings: list[str] = []
    records = _jsonl_records(text, warnings) if lines else _json_records(text)
    if len(records) > MAX_RECORDS:
        warnings.append(f"{len(records):,} records; only the first {MAX_RECORDS:,} were read")
        records = records[:MAX_RECORDS]
    documents: list[Document] = []
    for where, record in records:
        if not isinstance(record, dict):
            warnings.append(f"{where}: not an object; skipped")
            continue
        key = f"{root_name}/{relpath}#{where}"
        found, notes = record_documents(_normalise(record), record_key=key, body=_body(record))
        warnings += [f"{where}: {note}" for note in notes]
        if not found:
            warnings.append(f"{where}: no title, excerpt or text; skipped")
            continue
        documents += found
    if not documents:
        raise SkipFile("nothing to index: no record has a title or an excerpt")
    for doc in documents:
        doc.source = relpath
    return documents, warnings


def _json_records(text: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from exc
    except RecursionError as exc:
        raise SkipFile("JSON nested too deeply") from exc
    items = _unwrap(data)
    if items is None:
        raise SkipFile("JSON holds neither a record nor a list of records")
    return [(f"record {n}", item) for n, item in enumerate(items, start=1)]


def _jsonl_records(text: str, warnings: list[str]) -> list[tuple[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            warnings.append(f"line {number}: not valid JSON ({reason}); skipped")
            continue
        for item in _unwrap(data) or [data]:
            records.append((f"line {number}", item))
    if not records and warnings:
        raise SkipFile("no line is valid JSON", line=1)
    return records


def _unwrap(data: Any, depth: int = 0) -> list[Any] | None:
    """The list of records in ``data``: itself, a record, or an envelope around a list."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or depth > 3:
        return None
    for key in ENVELOPE_KEYS:
        inner = data.get(key)
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict) and any(k in inner for k in ENVELOPE_KEYS):
            return _unwrap(inner, depth + 1)
    return [data]


def _normalise(record: dict[str, Any]) -> dict[str, Any]:
    """The record with API field names mapped onto the news records' names."""
    data = dict(record)
    for name, aliases in ALIASES.items():
        if data.get(name) in (None, "", []):
            value = next((record[a] for a in aliases if record.get(a) not in (None, "", [])), None)
            if value is not None:
                data[name] = value
    if isinstance(data.get("provider"), dict) and "name" not in data["provider"] and "id" in data["provider"]:
        data["provider"] = {"name": data["provider"]["id"]}
    return data


def _body(record: dict[str, Any]) -> str:
    value = next((record[k] for k in BODY_KEYS if isinstance(record.get(k), str)), "")
    return clean_block(value)
