"""Report pages: plain text or Markdown saved from think-tank sites.

Title on the first line, optional ``Author:``/``Editor:`` lines, site
navigation at the top and newsletter/address/cart boilerplate at the bottom,
inline HTML and Markdown. The date comes from a ``Date:`` line or, failing
that, from a ``YYYY-MM-DD`` in the file name.
"""

from __future__ import annotations

import re

from indexer.documents import Document, date_from_name, stable_id, to_naive_utc
from indexer.sources import SkipFile
from indexer.textclean import clean_block, clean_inline, normalize_text, shorten

EXCERPT_CHARS = 320
HEAD_LINES = 40  # metadata and navigation live near the top

_BULLET = re.compile(r"^\s*(?:[•·▪‣◦*+-]|\d{1,2}[.)])\s+(.*)$")
_NAV_WORDS = frozenset(
    [
        "home",
        "blog",
        "report",
        "reports",
        "news",
        "about",
        "contact",
        "menu",
        "search",
        "shop",
        "events",
        "publications",
        "research",
        "media",
        "team",
        "projects",
        "services",
        "login",
        "podcast",
    ]
)
_META_LINE = re.compile(
    r"^\s*(?:\*\*|__)?(author|authors|editor|editors|by|written by|edited by)(?:\*\*|__)?\s*:\s*(.+)$", re.I
)
_DATE_LINE = re.compile(r"^\s*(?:\*\*|__)?(?:date|published|publication date|posted)(?:\*\*|__)?\s*:\s*(.+)$", re.I)
_NAME_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&)\s*")
# A line that only a site's footer or chrome would say.
_BOILERPLATE = re.compile(
    r"newsletter|we don.?t spam|privacy policy|shopping cart|all rights reserved|©|cookie|"
    r"terms of (?:use|service)|follow us|sign up|skip to (?:main )?content|\(\d+ items?\)",
    re.I,
)
FOOTER_LINE_WORDS = 25  # footer lines are short; a body paragraph is not
_EXCERPT_MARK = re.compile(r"<excerpt\s*/?>", re.I)
_BIO = re.compile(
    r"^(?:__|\*\*)([A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,4})(?:__|\*\*)\s+(?:is|was|serves|leads|works)\b"
)


def parse_report(text: str, *, root_name: str, relpath: str) -> tuple[list[Document], list[str]]:
    """Turn one report page into a single ``report`` document and warnings."""
    lines = normalize_text(text, keep_newlines=True).split("\n")
    title_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if title_index is None:
        raise SkipFile("file is empty")
    title = clean_inline(lines[title_index].lstrip("#").strip())
    if not title:
        raise SkipFile("first line holds no title", line=title_index + 1)
    rest = lines[title_index + 1 :]
    authors, editors, published, rest = _take_metadata(rest)
    rest = _drop_navigation(rest, title)
    rest = _drop_footer(rest)
    # Long lines first: a body paragraph is never boilerplate, and searching every paragraph
    # for the case-blind alternatives was 40 % of the time of parsing a long report.
    rest = [line for line in rest if len(line.split()) > FOOTER_LINE_WORDS or not _BOILERPLATE.search(line)]
    authors = authors or _bio_authors(rest)
    raw_body = "\n".join(rest)
    excerpt = _excerpt(raw_body)
    body = clean_block(_EXCERPT_MARK.sub(" ", raw_body))
    if not body and not excerpt:
        raise SkipFile("nothing to index: the page has a title but no text")
    published = published or date_from_name(relpath.rsplit("/", 1)[-1])
    doc = Document(
        id=stable_id("f", f"{root_name}/{relpath}"),
        kind="report",
        title=shorten(title, 300),
        source=relpath,
        excerpt=excerpt,
        body=body,
        published=published,
        authors=authors,
        editors=editors,
    )
    return [doc], []


def _take_metadata(lines: list[str]) -> tuple[list[str], list[str], object, list[str]]:
    """Pull Author/Editor/Date lines out of the head of the page."""
    authors: list[str] = []
    editors: list[str] = []
    published = None
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index < HEAD_LINES:
            meta = _META_LINE.match(line)
            if meta:
                names = _names(meta.group(2))
                (editors if meta.group(1).lower().startswith(("editor", "edited")) else authors).extend(names)
                continue
            date_line = _DATE_LINE.match(line)
            if date_line and published is None:
                published = to_naive_utc(clean_inline(date_line.group(1)))
                if published is not None:
                    continue
        kept.append(line)
    return _unique(authors), _unique(editors), published, kept


def _names(text: str) -> list[str]:
    return [name for name in (clean_inline(part) for part in _NAME_SPLIT.split(text)) if name and len(name) <= 80]


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _drop_navigation(lines: list[str], title: str) -> list[str]:
    """Remove a run of short bullet links (Home • Blog • ...) near the top."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        run_end = index
        while run_end < len(lines) and run_end < HEAD_LINES and _BULLET.match(lines[run_end]):
            run_end += 1
        if run_end - index >= 2 and _is_navigation(
            [_BULLET.match(line).group(1) for line in lines[index:run_end]], title
        ):
            index = run_end
            continue
        kept.append(lines[index])
        index += 1
    return kept


def _is_navigation(items: list[str], title: str) -> bool:
    if any(len(item.split()) > 16 for item in items):
        return False
    words = {clean_inline(item).lower() for item in items}
    return bool(words & _NAV_WORDS) or clean_inline(title).lower() in words


def _drop_footer(lines: list[str]) -> list[str]:
    """Cut the trailing block of short lines when it holds site boilerplate."""
    start = len(lines)
    while start > 0 and len(lines[start - 1].split()) <= FOOTER_LINE_WORDS:
        start -= 1
    tail = lines[start:]
    if any(_BOILERPLATE.search(line) for line in tail):
        return lines[:start]
    return lines


def _bio_authors(lines: list[str]) -> list[str]:
    """Names of the closing author bios (``__Name__ is a senior fellow ...``)."""
    names = []
    for line in lines[-12:]:
        match = _BIO.match(line.strip())
        if match:
            names.append(match.group(1))
    return _unique(names)


def _excerpt(raw_body: str) -> str:
    """The text before an ``<excerpt/>`` mark, or the first real paragraph."""
    mark = _EXCERPT_MARK.search(raw_body)
    if mark:
        head = raw_body[: mark.start()].strip().split("\n\n")[-1]
        text = clean_inline(head)
        if text:
            return shorten(text, EXCERPT_CHARS * 2)
    for paragraph in raw_body.split("\n\n"):
        text = clean_inline(paragraph)
        if len(text.split()) >= 8:
            return shorten(text, EXCERPT_CHARS)
    return shorten(clean_inline(raw_body), EXCERPT_CHARS)
