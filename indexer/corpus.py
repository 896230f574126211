"""From source files to the final, deduplicated set of documents.

Each file is parsed on its own (:func:`parse_file`); :func:`assemble` then
works across files: one document per article URL (a news record beats a
related mention of the same article), related items linked to their parent,
and provider names made consistent per domain.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from indexer.countries import find_countries
from indexer.documents import Document, InvalidDocument, cap_sizes, validate
from indexer.folders import FolderDefaults, defaults_for
from indexer.html_pages import parse_html
from indexer.json_exports import parse_json_export
from indexer.news import looks_like_news, parse_news
from indexer.pdfs import parse_pdf
from indexer.reports import parse_report
from indexer.sources import (
    HTML_SUFFIXES,
    JSON_LINES_SUFFIXES,
    JSON_SUFFIXES,
    PDF_SUFFIXES,
    WHOLE_FILE_SUFFIXES,
    SkipFile,
    SourceBytes,
    SourceFile,
    content_hash,
    decode,
    file_key,
    read_source,
)
from indexer.stories import assign_stories


@dataclass
class Problem:
    """A skipped file or a warning, with the path relative to its folder."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class ParsedFile:
    """The documents one source file gave, before cross-file assembly."""

    relpath: str
    root_name: str
    sha256: str
    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None
    unreadable: bool = False  # skipped because it could not be read (then its last documents are kept)

    @property
    def key(self) -> str:
        """The file's key in manifests: its folder's name and its path."""
        return file_key(self.root_name, self.relpath)


def parse_file(source: SourceFile) -> ParsedFile:
    """Read, decode, detect and parse one file; never raises for bad input."""
    try:
        read = read_source(source)
    except OSError as exc:
        return unreadable_file(source, exc)
    return parse_bytes(source, read)


def unreadable_file(source: SourceFile, error: OSError) -> ParsedFile:
    """The parse result of a file that could not be read, with the reason; one that is gone since it
    was found is not "unreadable" (its documents go with it)."""
    gone = isinstance(error, FileNotFoundError | NotADirectoryError)
    reason = f"cannot read file: {error.strerror or error}"
    return ParsedFile(source.relpath, source.root_name, "", skipped=reason, unreadable=not gone)


def source_hash(source: SourceFile, data: bytes) -> str:
    """What identifies a file's documents: its content and its folder defaults."""
    return content_hash(data, defaults_for(source.root, source.relpath, source.metadata_folders).digest)


def parse_bytes(source: SourceFile, read: SourceBytes, defaults: FolderDefaults | None = None) -> ParsedFile:
    """Detect the format and parse what was read of one file; never raises for bad input.

    ``defaults`` are the file's folder defaults when the caller has them already.
    """
    defaults = defaults or defaults_for(source.root, source.relpath, source.metadata_folders)
    parsed = ParsedFile(source.relpath, source.root_name, content_hash(read.data, defaults.digest))
    try:
        documents, warnings = _parse(source, read)
        for doc in documents:
            defaults.apply(doc)
            warnings += [f"{doc.kind} {doc.title[:60]!r}: {w}" for w in cap_sizes(doc)]
            doc.countries = find_countries(doc.title, doc.excerpt, doc.body)
        validate(documents)
    except SkipFile as exc:
        parsed.skipped = exc.describe()
        return parsed
    except InvalidDocument as exc:
        parsed.skipped = f"invalid document: {exc}"
        return parsed
    except RecursionError:
        parsed.skipped = "structure nested too deeply to parse"
        return parsed
    except Exception as exc:  # a parser's blind spot must cost one file, never the run
        parsed.skipped = f"could not be read ({type(exc).__name__}: {str(exc)[:200]})"
        return parsed
    truncation = read.truncation_warning()
    parsed.documents, parsed.warnings = documents, ([truncation] if truncation else []) + warnings
    return parsed


def _parse(source: SourceFile, read: SourceBytes) -> tuple[list[Document], list[str]]:
    names = {"root_name": source.root_name, "relpath": source.relpath}
    suffix = source.suffix
    if suffix in WHOLE_FILE_SUFFIXES - JSON_LINES_SUFFIXES and read.truncated:
        raise SkipFile(
            f"file is {read.size / 1e6:.1f} MB; {suffix} files are read whole, up to {len(read.data) / 1e6:.0f} MB"
        )
    if suffix in PDF_SUFFIXES:
        return parse_pdf(read.data, **names)
    text = decode(read.data, cut=read.truncated)
    if suffix in HTML_SUFFIXES:
        return parse_html(text, **names)
    if suffix in JSON_SUFFIXES | JSON_LINES_SUFFIXES:
        return parse_json_export(text, lines=suffix in JSON_LINES_SUFFIXES, **names)
    parser = parse_news if looks_like_news(text) else parse_report
    return parser(text, **names)


@dataclass
class Assembly:
    """The documents to index and what was noticed while assembling them."""

    documents: list[Document]
    warnings: list[Problem]


def assemble(files: Iterable[ParsedFile], *, stories: bool = True) -> Assembly:
    """Merge per-file documents into one consistent, deduplicated set.

    The parsed files are left untouched (their documents are copied), so that
    they can be kept as the catalog an update starts from. ``stories=False``
    leaves the story of every document unset, for the caller to assign
    (``indexer.stories.assign_stories``): a build does it while its writer
    processes start.
    """
    files = sorted((f for f in files if f.skipped is None), key=lambda f: (f.root_name, f.relpath))
    warnings: list[Problem] = []
    by_id: dict[str, Document] = {}
    # News records first, so that they own their URL before a related mention does.
    ordered = [(f, d) for f in files for d in f.documents if d.kind != "related"]
    ordered += [(f, d) for f in files for d in f.documents if d.kind == "related"]
    for parsed, original in ordered:
        doc = original.shallow_copy()
        doc.related_ids = list(original.related_ids)
        existing = by_id.get(doc.id)
        if existing is None:
            by_id[doc.id] = doc
        elif doc.kind != "related":
            warnings.append(Problem(parsed.relpath, f"same article as {existing.source}; indexed once"))
        elif existing.id != doc.parent_id:
            _fill_missing(existing, doc)
        _link_to_parent(by_id, doc)
    documents = list(by_id.values())
    _normalise_providers(documents)
    if stories:
        assign_stories(documents)
    return Assembly(documents=documents, warnings=warnings)


def _link_to_parent(by_id: dict[str, Document], doc: Document) -> None:
    if doc.kind != "related":
        return
    parent = by_id.get(doc.parent_id)
    if parent is not None and doc.id != parent.id and doc.id not in parent.related_ids:
        parent.related_ids.append(doc.id)


def _fill_missing(kept: Document, other: Document) -> None:
    """A second mention of an article may know what the first one lacks."""
    for name in ("excerpt", "provider", "provider_domain", "amp_url"):
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
    if kept.published is None:
        kept.published = other.published


_DOMAIN_LIKE = re.compile(r"^[\w.-]+\.[a-z]{2,}$", re.I)
# A long lower-case word marks a headline that a feed put in the provider slot
# ("Armed robbery in Revesby" for miragenews.com); publisher names do not have one.
_HEADLINE_WORD = re.compile(r"(?<![\w.])[a-z]{4,}\b")


def _is_real_name(name: str) -> bool:
    """A publisher's name, not its bare domain nor a misplaced headline."""
    return not _DOMAIN_LIKE.match(name) and not _HEADLINE_WORD.search(name)


def _normalise_providers(documents: list[Document]) -> None:
    """One display name per provider domain.

    Feeds sometimes give the bare domain (``scmp.com``) or a variant
    (``Washington Post``) as the name; the most common real name seen for
    that domain across the corpus wins.
    """
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in documents:
        if doc.provider_domain and doc.provider:
            names[doc.provider_domain][doc.provider] += 1
    best: dict[str, str] = {}
    for domain, counts in names.items():
        real = [(n, c) for n, c in counts.items() if _is_real_name(n)]
        plausible = real or [(n, c) for n, c in counts.items() if not _HEADLINE_WORD.search(n)]
        best[domain] = min(plausible, key=lambda item: (-item[1], item[0]))[0] if plausible else domain
    for doc in documents:
        if doc.provider_domain:
            doc.provider = best.get(doc.provider_domain, doc.provider or doc.provider_domain)
