"""The one document model shared by every source kind, and its validation.

A :class:`Document` is what the index stores and what the search page renders.
Parsers (``news``, ``reports``) produce them; :func:`validate` checks a whole
file's documents before any of them reaches the index writer, because a failed
``add_document`` leaves a Whoosh writer unusable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from indexer.limits import LIMITS

KINDS = ("news", "related", "report")

# Query parameters that identify a campaign, not a page: two links that differ
# only by them are the same article.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|__twitter_impression)$", re.I)


@dataclass
class Document:
    """A searchable unit: a news record, a related article or a report."""

    id: str
    kind: str
    title: str
    source: str
    excerpt: str = ""
    body: str = ""
    url: str = ""  # canonical http(s) URL, or "" when there is none
    url_text: str = ""  # a non-http(s) link kept as text, never rendered as a link
    amp_url: str = ""
    provider: str = ""
    provider_domain: str = ""
    topics: list[str] = field(default_factory=list)
    published: dt.datetime | None = None  # naive UTC
    authors: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    parent_id: str = ""
    related_ids: list[str] = field(default_factory=list)
    quality: int | None = None
    language: str = ""  # from the page or its folder's _source.yaml ("en", "fr"), "" when unknown
    page_starts: list[int] = field(default_factory=list)  # PDFs: offset in body where each page begins
    countries: list[str] = field(default_factory=list)  # ISO 3166 alpha-2 codes, see indexer.countries
    story: str = ""  # story cluster id, see indexer.stories
    # News records: the titles and excerpts of their related items, searched as part of the record
    # (field "related"); each item is also a document of its own.
    related_text: str = ""

    def shallow_copy(self) -> Document:
        """``copy.copy`` of this record (its lists shared), without the generic protocol: 20 times faster."""
        twin = object.__new__(Document)
        twin.__dict__.update(self.__dict__)
        return twin

    def to_dict(self) -> dict:
        """Plain-data view (published as ISO 8601 UTC) for JSON and tests."""
        data = self._plain_data()
        data["published"] = iso_utc(self.published)
        return data

    def _plain_data(self) -> dict:
        """``dataclasses.asdict`` of this flat record: its lists hold only text and numbers, so
        copying each list is its deep copy (which took most of writing a catalog)."""
        values = ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        return {name: list(value) if isinstance(value, list) else value for name, value in values}


class InvalidDocument(ValueError):
    """A parsed document breaks the model's rules; its file is skipped."""


def validate(documents: Iterable[Document]) -> None:
    """Raise :class:`InvalidDocument` unless every document can be indexed.

    Checked before anything is handed to the writer, so that one bad value
    never poisons a whole build.
    """
    for doc in documents:
        if not doc.id or not isinstance(doc.id, str):
            raise InvalidDocument("document without id")
        if doc.kind not in KINDS:
            raise InvalidDocument(f"unknown kind {doc.kind!r}")
        for name in (
            "title",
            "source",
            "excerpt",
            "body",
            "url",
            "url_text",
            "provider",
            "provider_domain",
            "related_text",
        ):
            value = getattr(doc, name)
            if not isinstance(value, str):
                raise InvalidDocument(f"{name} is {type(value).__name__}, not text")
            _check_encodable(name, value)
        if not doc.title.strip():
            raise InvalidDocument("document without title")
        for name in ("topics", "authors", "editors", "related_ids", "countries"):
            values = getattr(doc, name)
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise InvalidDocument(f"{name} must be a list of non-empty texts")
            for value in values:
                _check_encodable(name, value)
        if doc.published is not None and (not isinstance(doc.published, dt.datetime) or doc.published.tzinfo):
            raise InvalidDocument("published must be a naive UTC datetime")
        if doc.url and not is_web_url(doc.url):
            raise InvalidDocument(f"url is not http(s): {doc.url!r}")
        if not isinstance(doc.language, str):
            raise InvalidDocument("language must be a text")
        starts = doc.page_starts
        if not isinstance(starts, list) or not all(isinstance(n, int) for n in starts) or starts != sorted(starts):
            raise InvalidDocument("page_starts must be increasing offsets")
        if doc.kind == "related" and not doc.parent_id:
            raise InvalidDocument("related item without parent")


def cap_sizes(doc: Document) -> list[str]:
    """Cut over-long text fields and lists to the limits; say what was cut.

    The document is kept: an analyst would rather find the first megabyte of a
    huge file than nothing at all.
    """
    warnings = []
    for name, limit in (
        ("title", LIMITS.max_title_chars),
        ("excerpt", LIMITS.max_excerpt_chars),
        ("body", LIMITS.max_body_chars),
        ("related_text", LIMITS.max_related_text_chars),
    ):
        value = getattr(doc, name)
        if len(value) > limit:
            setattr(doc, name, value[:limit])
            warnings.append(f"{name} is {len(value):,} characters; only the first {limit:,} were kept")
    for name in ("topics", "authors", "editors"):
        values = getattr(doc, name)
        if len(values) > LIMITS.max_list_values:
            setattr(doc, name, values[: LIMITS.max_list_values])
            warnings.append(f"{len(values)} {name}; only the first {LIMITS.max_list_values} were kept")
    return warnings


def _check_encodable(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidDocument(f"{name} holds text that is not valid Unicode") from exc


# --- identity ----------------------------------------------------------------


def stable_id(prefix: str, key: str) -> str:
    """Short id that depends only on ``key``: the same source gives the same id."""
    return f"{prefix}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


def is_web_url(value: str) -> bool:
    """True for absolute http/https URLs with a host: the only links we render."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def canonical_url(value: str) -> str:
    """Normalise an http(s) URL so that one article has one spelling.

    Lower-cases scheme and host, drops default ports, fragments and tracking
    parameters. Returns "" when ``value`` is not an http(s) URL.
    """
    value = value.strip()
    if not is_web_url(value):
        return ""
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)]
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def url_domain(url: str) -> str:
    """Host of a URL without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


# --- dates -------------------------------------------------------------------

_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def to_naive_utc(value: object) -> dt.datetime | None:
    """Convert a YAML timestamp, date or date string to naive UTC.

    Whoosh drops the offset of aware datetimes, so every date is converted to
    UTC and stored naive. Naive inputs are taken to be UTC already. Returns
    None for anything that is not a plausible date.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip())
        if moment is None:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    if not 1900 <= moment.year <= 2200:
        return None
    return moment


def _parse_date_text(text: str) -> dt.datetime | None:
    if not text:
        return None
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%d.%m.%Y", "%B %Y"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def date_from_name(name: str) -> dt.datetime | None:
    """The first valid ``YYYY-MM-DD`` in a file name, as midnight UTC."""
    for match in _DATE_IN_NAME.finditer(name):
        try:
            return dt.datetime(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def iso_utc(moment: dt.datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` for a naive UTC datetime, or None."""
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat() + "Z"
