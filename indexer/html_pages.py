"""Saved web pages (``.html``, ``.htm``): main text and metadata, via trafilatura.

trafilatura finds the main text of a page (navigation, footers, cookie
banners and comment threads left out) and its metadata: title, author, date,
site name and canonical URL (``<link rel=canonical>``, Open Graph, JSON-LD).
A page becomes one ``report`` document unless its folder's ``_source.yaml``
says ``kind: news``.
"""

from __future__ import annotations

import re
import warnings

from indexer.documents import Document, canonical_url, date_from_name, stable_id, to_naive_utc, url_domain
from indexer.sources import SkipFile
from indexer.textclean import clean_block, clean_field, shorten

TITLE_CHARS = 300
# Fewer words than this is a menu or an error page that trafilatura fell back on, not an article.
MIN_MAIN_TEXT_WORDS = 10
EXCERPT_CHARS = 400
_LANG = re.compile(r"<html\b[^>]*\blang=[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.I)
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
# Dates only from the page's metadata, not guessed from any date in the text.
DATE_OPTIONS = {"extensive_search": False, "original_date": True}


def parse_html(text: str, *, root_name: str, relpath: str) -> tuple[list[Document], list[str]]:
    """One saved web page -> one document (and warnings)."""
    import trafilatura  # here, not at the top: it takes a fifth of a second to import, and most runs read no HTML

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trafilatura's own FutureWarnings about lxml
        try:
            extracted = trafilatura.bare_extraction(
                text,
                with_metadata=True,
                include_comments=False,
                include_tables=True,
                date_extraction_params=DATE_OPTIONS,
            )
        except Exception as exc:  # a parser library's failure on one page must not stop a build
            raise SkipFile(f"HTML could not be parsed: {type(exc).__name__}") from exc
    if extracted is None or len((extracted.text or "").split()) < MIN_MAIN_TEXT_WORDS:
        raise SkipFile("no main text found in the HTML page")
    title = clean_field(extracted.title or _title_tag(text))
    body = clean_block(_without_heading(extracted.text, title))
    if not title:
        title = shorten(body, 120)
    url = canonical_url(extracted.url or "")
    published = to_naive_utc(extracted.date) if extracted.date else None
    if published is None:
        published = date_from_name(relpath.rsplit("/", 1)[-1])
    language = _LANG.search(text[:5000])
    doc = Document(
        id=stable_id("u", url) if url else stable_id("f", f"{root_name}/{relpath}"),
        kind="report",
        title=shorten(title, TITLE_CHARS),
        source=relpath,
        excerpt=clean_field(extracted.description or "") or shorten(body, EXCERPT_CHARS),
        body=body,
        url=url,
        provider=clean_field(extracted.sitename or ""),
        provider_domain=url_domain(url) if url else "",
        topics=_topics(extracted),
        published=published,
        authors=_authors(extracted.author or ""),
        language=language.group(1).lower() if language else "",
    )
    return [doc], []


def _title_tag(text: str) -> str:
    match = _TITLE_TAG.search(text[:20000])
    return match.group(1) if match else ""


def _without_heading(text: str, title: str) -> str:
    """trafilatura repeats the page's heading as the first line of the text."""
    first, _, rest = text.partition("\n")
    return rest if title and first.strip().casefold() == title.casefold() else text


def _authors(value: str) -> list[str]:
    names = [clean_field(n) for n in re.split(r";|\band\b|,", value)]
    return list(dict.fromkeys(n for n in names if n))


def _topics(extracted) -> list[str]:
    values = [*(extracted.categories or []), *(extracted.tags or [])]
    return list(dict.fromkeys(clean_field(v) for v in values if clean_field(v)))
