"""A document's stored fields as the engine shows them: a hit, a document page, a brief.

One function, :func:`stored_dict`, reads every field the same way wherever it
is shown (links and optional texts None when empty, lists as lists, dates as
ISO 8601, countries with their names); only what an absent plain field reads
as differs: null in a hit (the ``/api/search`` contract), "" on a page or in
a brief.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from indexer.countries import country_name
from indexer.documents import iso_utc
from indexer.store.schema import MARKED_BODY_CHARS
from search_web.engine import Brief, DocumentPage, Hit
from search_web.whoosh_engine.generations import Generation
from search_web.whoosh_engine.matching import Selection
from search_web.whoosh_engine.snippets import page_of, snippet_at

HIT_FIELDS = (
    "id",
    "kind",
    "title",
    "url",
    "provider",
    "provider_domain",
    "topics",
    "published",
    "source",
    "story",
    "countries",
)
DOCUMENT_FIELDS = (
    "id",
    "kind",
    "title",
    "excerpt",
    "body",
    "url",
    "url_text",
    "provider",
    "provider_domain",
    "topics",
    "published",
    "authors",
    "editors",
    "source",
    "parent_id",
    "countries",
    "story",
    "language",
    "page_starts",
)
BRIEF_FIELDS = ("id", "title", "url", "provider", "published")

_NONE_WHEN_EMPTY = frozenset({"url", "url_text", "parent_id", "language"})
_EMPTY_WHEN_ABSENT = frozenset({"provider", "provider_domain"})
_LISTS = frozenset({"topics", "authors", "editors", "page_starts"})


def stored_dict(stored: dict[str, Any], names: tuple[str, ...], *, absent: Any = None) -> dict[str, Any]:
    """The fields ``names`` of a document's stored fields (with its ``story``), in that order, as shown.

    ``absent``: what a plain field the document does not have reads as.
    """
    shown: dict[str, Any] = {}
    for name in names:
        value = stored.get(name)
        if name in _NONE_WHEN_EMPTY:
            shown[name] = value or None
        elif name in _EMPTY_WHEN_ABSENT:
            shown[name] = value or ""
        elif name in _LISTS:
            shown[name] = list(value or [])
        elif name == "published":
            shown[name] = iso_utc(value)
        elif name == "countries":
            shown[name] = [{"code": code, "name": country_name(code)} for code in value or []]
        elif name == "story":
            shown[name] = value or stored.get("id")  # a document of no story is a story of its own
        else:
            shown[name] = stored.get(name, absent)
    return shown


def hit_of(gen: Generation, docnum: int, terms: set[str], snippet_chars: int) -> Hit:
    """A result: its stored fields, its best passage for ``terms`` and (a PDF) the page it is on."""
    stored = gen.stored(docnum, with_body=True)
    hit = stored_dict(stored, HIT_FIELDS)
    page_starts = stored.get("page_starts") or []
    body = stored.get("body", "")
    # A long body's snippet is looked for in the pieces holding the query's words (PDFs: page by page).
    marked = len(body) > MARKED_BODY_CHARS and len(page_starts) <= 1 and terms
    pieces = gen.body_pieces(docnum, terms, len(body)) if marked else None
    hit["snippet"], offset = snippet_at(stored.get("excerpt", ""), body, terms, snippet_chars, page_starts, pieces)
    # PDFs: the page of the passage shown (the first page when it is the excerpt).
    hit["page"] = page_of(page_starts, offset or 0) if page_starts else None
    return hit


def document_of(gen: Generation, docnum: int, brief: Callable[[str], Brief | None]) -> DocumentPage:
    """A document as its page shows it, with the ``brief`` of each related document that is found."""
    stored = gen.stored(docnum, with_body=True)
    doc = stored_dict(stored, DOCUMENT_FIELDS, absent="")
    doc["related"] = [found for found in map(brief, stored.get("related_ids") or []) if found]
    return doc


def brief_of(gen: Generation, docnum: int) -> Brief:
    """Title, link, provider and date of a document (for related and story lists)."""
    return stored_dict(gen.stored(docnum), BRIEF_FIELDS, absent="")


def story_more(chosen: Selection, docnum: int, shown: int) -> dict[str, Any] | None:
    """The other matches of a result's story: count, providers and the first ``shown``, newest first."""
    columns = chosen.gen.columns
    others = columns.story_others(docnum, chosen.selected)
    if not others.size:
        return None
    providers = {columns.values["provider"][code] for code in columns.codes["provider"][others]} - {""}
    items = [brief_of(chosen.gen, int(n)) for n in others[:shown]]
    return {"count": int(others.size), "providers": len(providers), "items": items}
