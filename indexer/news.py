"""News records: YAML front matter between ``---`` lines, optional body after.

Detected by content (a file that opens with a front-matter block), whatever
its suffix. One record gives one ``news`` document plus one ``related``
document per nested article; the corpus stage deduplicates them by URL.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from indexer.block_yaml import parse_block_yaml
from indexer.documents import Document, canonical_url, is_web_url, stable_id, to_naive_utc, url_domain
from indexer.limits import LIMITS
from indexer.sources import SkipFile
from indexer.textclean import clean_block, clean_field, normalize_text, shorten

_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?(.*)\Z", re.S | re.M)
_OPENING = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n")

# Where the article's own address may be, most trusted first.
URL_KEYS = ("sourceUrl", "originalUrl", "webUrl", "url", "link")
AMP_KEYS = ("ampUrl", "ampWebUrl", "cdnAmpUrl", "cdnAmpWebUrl")
DATE_KEYS = ("publishedDateTime", "datePublished", "published_at", "publishedAt", "date", "published")
TITLE_FALLBACK_CHARS = 140
# What PyYAML's reader refuses to read (yaml.reader.Reader.NON_PRINTABLE).
_YAML_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def looks_like_news(text: str) -> bool:
    """True when the text opens with a YAML front-matter block."""
    return bool(_OPENING.match(text))


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (yaml text, body, line number of the first yaml line)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise SkipFile("front matter opened with '---' is never closed", line=1)
    opening_lines = text[: match.start(1)].count("\n")
    return match.group(1), match.group(2), opening_lines + 1


class _Refused(yaml.MarkedYAMLError):
    """Front matter that is valid YAML but that no news record needs."""


class FrontMatterLoader(yaml.SafeLoader):
    """``SafeLoader`` that also refuses what only an attack would use.

    Aliases (``*name``) are refused because a few lines of them expand to
    billions of values ("billion laughs"); ``!!python`` tags because they
    name code; deep nesting because PyYAML's composer recurses.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(problem="YAML aliases (*name) are refused", problem_mark=event.start_mark)
        tag = getattr(event, "tag", None) or ""
        if tag.startswith("tag:yaml.org,2002:python/"):
            shown = "!!" + tag.removeprefix("tag:yaml.org,2002:")
            raise _Refused(problem=f"YAML tag {shown} is refused", problem_mark=event.start_mark)
        if self.depth >= LIMITS.max_yaml_depth:
            raise _Refused(
                problem=f"nested more than {LIMITS.max_yaml_depth} levels deep", problem_mark=event.start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Keys PyYAML's constructor rewrites (``<<`` merges a mapping in, ``=`` is a value key).
_SPECIAL_KEY_TAGS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


class _TreeBuilding:
    """Builds texts, mappings and lists straight from the composed nodes.

    PyYAML's constructor dispatches every node through generic code with a
    generator per mapping: half of parsing a news record. Used only on front
    matter without aliases, anchors or tags (see ``_needs_careful_loading``),
    whose nodes form a tree. Every other node (numbers, dates, booleans,
    merges) goes to PyYAML's own constructor, so the values are the same.
    """

    def construct_document(self, node: Any) -> Any:
        try:
            return self._build(node)
        except TypeError:  # an unhashable key: PyYAML's constructor says where
            return super().construct_document(node)

    def _build(self, node: Any) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag == _MAP_TAG and not any(key.tag in _SPECIAL_KEY_TAGS for key, _ in node.value):
            build = self._build
            return {build(key): build(value) for key, value in node.value}
        if tag == _SEQ_TAG:
            return list(map(self._build, node.value))
        return self.construct_object(node, deep=True)


_HAS_LIBYAML = hasattr(yaml, "CSafeLoader")


class _FastLoader(_TreeBuilding, yaml.CSafeLoader if _HAS_LIBYAML else yaml.SafeLoader):
    """libyaml's safe loader with :class:`_TreeBuilding`."""


_DEEP_INDENT = re.compile(r"^ {40,}\S", re.M)


def _needs_careful_loading(raw: str) -> bool:
    """Whether the front matter could hold an alias, a tag or deep nesting.

    Anything that could is parsed by the pure-Python :class:`FrontMatterLoader`,
    which refuses those; the rest (nearly every real record) by :class:`_FastLoader`
    (libyaml's ``CSafeLoader``), several times faster, with the same results.
    """
    return (
        not _HAS_LIBYAML
        or any(mark in raw for mark in "*&!")
        or raw.count("[") + raw.count("{") >= LIMITS.max_yaml_depth
        or _DEEP_INDENT.search(raw) is not None
    )


def load_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Parse the front matter; errors name the line.

    Plain block front matter (nearly every record) is read line by line by
    :func:`indexer.block_yaml.parse_block_yaml`; the rest by PyYAML: with
    :class:`FrontMatterLoader` when it could hold what that refuses, else with
    libyaml (:class:`_FastLoader`). All three give the same values.
    """
    raw, body, first_line = split_front_matter(text)
    if len(raw) > LIMITS.max_front_matter_chars:
        raise SkipFile(
            f"front matter is {len(raw):,} characters, over the {LIMITS.max_front_matter_chars:,} limit",
            line=first_line,
        )
    data = parse_block_yaml(raw)  # refuses what the careful loader refuses: aliases, tags, deep nesting
    if data is not None:
        return data, body
    # YAML refuses control characters (DEL, C1) anywhere; text cleaning would drop them from the values.
    raw = _YAML_NON_PRINTABLE.sub("", raw)
    loader = None
    try:
        loader = FrontMatterLoader(raw) if _needs_careful_loading(raw) else _FastLoader(raw)
        data = loader.get_single_data()
    except _Refused as exc:
        line = first_line + exc.problem_mark.line if exc.problem_mark else None
        raise SkipFile(f"refused YAML front matter: {exc.problem}", line=line) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else None
        raise SkipFile(f"broken YAML front matter: {exc.problem or exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise SkipFile(f"broken YAML front matter: {exc}") from exc
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # PyYAML's own constructors fail this way on odd timestamps and numbers.
        raise SkipFile(f"unreadable value in YAML front matter: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise SkipFile(f"front matter is {kind}, not a mapping of fields", line=first_line)
    return data, body


def parse_news(text: str, *, root_name: str, relpath: str) -> tuple[list[Document], list[str]]:
    """Turn one news record into its documents and a list of warnings."""
    data, body_text = load_front_matter(text)
    documents, warnings = record_documents(data, record_key=f"{root_name}/{relpath}", body=clean_block(body_text))
    if not documents:
        raise SkipFile("nothing to index: no title, excerpt or body")
    for doc in documents:
        doc.source = relpath
    return documents, warnings


def record_documents(data: dict[str, Any], *, record_key: str, body: str = "") -> tuple[list[Document], list[str]]:
    """One news record's fields -> its article and related articles (none when it has no text).

    Shared by front-matter records and JSON exports, which use the same field names.
    """
    warnings: list[str] = []
    main = _article(data, kind="news", fallback_key=record_key, body=body)
    if main is None:
        return [], warnings
    related_raw = data.get("related") or []
    if not isinstance(related_raw, list):
        warnings.append("'related' is not a list; ignored")
        related_raw = []
    if len(related_raw) > LIMITS.max_related_items:
        warnings.append(f"{len(related_raw)} related items; only the first {LIMITS.max_related_items} were kept")
        related_raw = related_raw[: LIMITS.max_related_items]
    documents = [main]
    for position, item in enumerate(related_raw, start=1):
        if not isinstance(item, dict):
            warnings.append(f"related item {position} is not a mapping; ignored")
            continue
        related = _article(item, kind="related", fallback_key=f"{record_key}#related-{position}", body="")
        if related is None:
            warnings.append(f"related item {position} has no title or excerpt; ignored")
            continue
        related.parent_id = main.id
        documents.append(related)
    main.related_text = related_text(documents[1:])
    return documents, warnings


def related_text(items: list[Document]) -> str:
    """A record's related coverage as one text: each item's title and excerpt, a paragraph each."""
    return "\n\n".join("\n".join(filter(None, (item.title, item.excerpt))) for item in items)


def _article(data: dict[str, Any], *, kind: str, fallback_key: str, body: str) -> Document | None:
    title = _text(data.get("title"))
    excerpt = _text(data.get("excerpt") or data.get("description") or data.get("summary"))
    if not (title or excerpt or body):
        return None
    if not title:
        title = shorten(excerpt or body, TITLE_FALLBACK_CHARS)
    provider_name, provider_domain = _provider(data.get("provider"))
    url, url_text = _pick_url(data, provider_domain)
    if url and not provider_domain:
        provider_domain = url_domain(url)
    doc_id = stable_id("u", url) if url else stable_id("f", fallback_key)
    return Document(
        id=doc_id,
        kind=kind,
        title=title,
        source="",
        excerpt=excerpt,
        body=body,
        url=url,
        url_text=url_text,
        amp_url=next((u for u in (_plain(data.get(k)) for k in AMP_KEYS) if is_web_url(u)), ""),
        provider=provider_name,
        provider_domain=provider_domain,
        topics=_string_list(data.get("topics") or data.get("categories") or data.get("topic")),
        published=_published(data),
        authors=_string_list(data.get("authors") or data.get("author")),
        quality=data.get("quality")
        if isinstance(data.get("quality"), int) and not isinstance(data.get("quality"), bool)
        else None,
    )


def _text(value: Any) -> str:
    """Front-matter scalar as clean text; YAML may give numbers or dates too."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return clean_field(str(value))


def _plain(value: Any) -> str:
    return normalize_text(value) if isinstance(value, str) else ""


def _string_list(value: Any) -> list[str]:
    """A list of distinct, non-empty texts from a list or a comma-separated string."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return []
    kept: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        text = _text(item)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return kept


def _provider(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        name, domain = _text(value.get("name")), _plain(value.get("domain")).lower()
    elif isinstance(value, list) and value:
        return _provider(value[0])
    else:
        name, domain = _text(value), ""
    if domain.startswith("www."):
        domain = domain[4:]
    return name, domain


def _pick_url(data: dict[str, Any], provider_domain: str) -> tuple[str, str]:
    """The canonical http(s) URL, and a non-web link kept only as text.

    When several keys hold different web URLs, the one on the provider's
    own domain wins; otherwise the most trusted key does.
    """
    candidates = [_plain(data.get(key)) for key in URL_KEYS]
    # Keys usually repeat one URL: each distinct text is canonicalised once.
    web = [canonical_url(c) for c in dict.fromkeys(candidates) if c and is_web_url(c)]
    if web:
        if provider_domain:
            for url in web:
                if url_domain(url) == provider_domain or url_domain(url).endswith("." + provider_domain):
                    return url, ""
        return web[0], ""
    other = next((c for c in candidates if c), "")
    return "", other


def _published(data: dict[str, Any]):
    for key in DATE_KEYS:
        value = data.get(key)
        if value is None or isinstance(value, bool):
            continue
        moment = to_naive_utc(value)
        if moment is not None:
            return moment
    return None
