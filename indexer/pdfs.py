"""PDF reports (``.pdf``): the text of every page, with page numbers, via pypdf.

The body is the pages' text joined by blank lines; ``page_starts`` keeps the
offset at which each page begins, so that a hit can say which page it is on
and the document page can show and link each page. Title, author and date
come from the document information, else from the first page and the file
name. Encrypted PDFs (that need a password) and PDFs without a text layer
(scanned images) are skipped with that reason.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import TYPE_CHECKING

from indexer.documents import Document, date_from_name, stable_id, to_naive_utc
from indexer.limits import LIMITS
from indexer.sources import SkipFile
from indexer.textclean import clean_block, clean_field, shorten

if TYPE_CHECKING:
    from pypdf import PdfReader

MIN_TEXT_CHARS = 20  # less than this on every page: a scan without a text layer
TITLE_CHARS = 300
EXCERPT_CHARS = 400
PAGE_SEPARATOR = "\n\n"
# Titles that PDF producers write when the author gave none.
_PLACEHOLDER_TITLE = re.compile(
    r"^(untitled|document\d*|microsoft (word|powerpoint) - .*|.*\.(docx?|pptx?|pdf))$", re.I
)


def parse_pdf(data: bytes, *, root_name: str, relpath: str) -> tuple[list[Document], list[str]]:
    """One PDF -> one ``report`` document (and warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about every odd object; we report what matters
        reader = _open(data)
        pages, problems = _page_texts(reader)
        info = _info(reader)
    if sum(len(p) for p in pages) < MIN_TEXT_CHARS:
        raise SkipFile("no text layer: the PDF holds only images (it would need OCR)")
    body, page_starts = "", []
    for text in pages:
        if body:
            body += PAGE_SEPARATOR
        page_starts.append(len(body))
        body += text
    first_lines = [line.strip() for line in pages[0].split("\n") if line.strip()] if pages else []
    title = info.get("title", "")
    if not title or _PLACEHOLDER_TITLE.match(title):
        title = first_lines[0] if first_lines else relpath.rsplit("/", 1)[-1]
    published = to_naive_utc(info.get("date")) or date_from_name(relpath.rsplit("/", 1)[-1])
    doc = Document(
        id=stable_id("f", f"{root_name}/{relpath}"),
        kind="report",
        title=shorten(clean_field(title), TITLE_CHARS),
        source=relpath,
        excerpt=shorten(clean_field(" ".join(first_lines[1:12])), EXCERPT_CHARS),
        body=body,
        published=published,
        authors=[a for a in (clean_field(n) for n in re.split(r";|,|\band\b", info.get("author", ""))) if a],
        page_starts=page_starts,
    )
    warnings_out = [f"page {n}: text could not be extracted ({reason})" for n, reason in problems[:10]]
    return [doc], warnings_out


def _open(data: bytes) -> PdfReader:
    from pypdf import PdfReader  # here, not at the top: most runs read no PDF

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many types on corrupt files; one file must not stop a build
        raise SkipFile(f"not a readable PDF: {_reason(exc)}") from exc
    if encrypted:
        try:
            opened = reader.decrypt("")  # many PDFs only restrict printing and open without a password
        except Exception as exc:
            raise SkipFile(f"encrypted PDF that cannot be opened: {_reason(exc)}") from exc
        if not opened:
            raise SkipFile("encrypted PDF: it needs a password")
    try:
        len(reader.pages)
    except Exception as exc:
        raise SkipFile(f"not a readable PDF: {_reason(exc)}") from exc
    return reader


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _page_texts(reader: PdfReader) -> tuple[list[str], list[tuple[int, str]]]:
    pages, problems, total = [], [], 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # one broken page must not cost the other pages
            problems.append((number, type(exc).__name__))
            text = ""
        text = clean_block(text)
        total += len(text)
        if total > LIMITS.max_body_chars:
            problems.append((number, "the text limit was reached; later pages were not read"))
            break
        pages.append(text)
    return pages, problems


def _info(reader: PdfReader) -> dict:
    try:
        meta = reader.metadata
    except Exception:
        return {}
    if meta is None:
        return {}
    info = {}
    for key, attribute in (("title", "title"), ("author", "author")):
        try:
            value = getattr(meta, attribute)
        except Exception:
            value = None
        if isinstance(value, str) and value.strip():
            info[key] = value.strip()
    try:
        info["date"] = meta.creation_date
    except Exception:
        pass
    return info
