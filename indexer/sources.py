"""Finding source files under the source folders and reading them.

Stage one of the pipeline: folders -> :class:`SourceFile` (path relative to its
folder, bytes, content hash). Which parser reads a file is decided by
``indexer.corpus``: by content for text files, by suffix for the rest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.limits import LIMITS

# A folder's metadata file (indexer.folders), named here for discovery.
METADATA_FILE = "_source.yaml"
# Suffixes read as sources. Text files are told apart by content (news record or report).
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
JSON_SUFFIXES = frozenset({".json"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SOURCE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSON_SUFFIXES | JSON_LINES_SUFFIXES
# Formats that are parsed whole: cutting them at the text limit would break them.
WHOLE_FILE_SUFFIXES = PDF_SUFFIXES | JSON_SUFFIXES | JSON_LINES_SUFFIXES


class SkipFile(Exception):
    """A file that cannot be indexed; ``reason`` says why, ``line`` where."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def describe(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True)
class SourceFile:
    """One file found under a source folder."""

    root: Path  # the source folder it was found under
    relpath: str  # relative to root, with "/" separators
    path: Path
    # The folders on its way from root (relative, "" for root itself) that held a folder metadata file
    # when it was found; None: not known (then each is looked at). See indexer.folders.defaults_for.
    metadata_folders: tuple[str, ...] | None = None

    @property
    def root_name(self) -> str:
        return self.root.name or str(self.root)

    @property
    def key(self) -> str:
        """The file's key in manifests and the catalog."""
        return file_key(self.root_name, self.relpath)

    @property
    def suffix(self) -> str:
        """Lower-cased extension of the file name, as ``PurePath.suffix`` reads it ("" for none)."""
        return suffix_of(self.relpath.rpartition("/")[2])


def suffix_of(name: str) -> str:
    """Lower-cased extension of a file name, as ``PurePath(name).suffix`` reads it ("" for none).

    String operations: building a Path cost 28 µs, and it was done for every file found and read.
    """
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def file_key(root_name: str, relpath: str) -> str:
    """Key of a source file: its folder's name and its path inside it."""
    return f"{root_name}/{relpath}"


def discover(roots: list[Path]) -> Iterator[SourceFile]:
    """Yield every candidate source file under ``roots`` in a stable order.

    Hidden files and folders (``.git``, editor swap files) are not sources.
    """
    for root in roots:
        root = root.resolve()
        if root.is_file():
            yield SourceFile(root.parent, root.name, root)
            continue
        # A folder's files come after the folders above it: which of those hold metadata is known.
        with_metadata: dict[str, tuple[str, ...]] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            # Paths are made once per folder: per file they were 19 µs, 19 s of a build at a million files.
            folder = Path(dirpath)
            inside = folder.relative_to(root).as_posix()
            inside = "" if inside == "." else inside
            above = with_metadata.get(inside.rpartition("/")[0], ()) if inside else ()
            metadata = with_metadata[inside] = (*above, inside) if METADATA_FILE in filenames else above
            prefix = f"{inside}/" if inside else ""
            for name in sorted(filenames):
                if name.startswith(".") or suffix_of(name) not in SOURCE_SUFFIXES:
                    continue
                yield SourceFile(root, prefix + name, folder / name, metadata)


@dataclass(frozen=True)
class SourceBytes:
    """What was read of a file: at most ``max_read_bytes`` of it."""

    data: bytes
    size: int  # the whole file's size

    @property
    def truncated(self) -> bool:
        return self.size > len(self.data)

    def truncation_warning(self) -> str | None:
        if not self.truncated:
            return None
        return f"file is {self.size / 1e6:.1f} MB; only the first {len(self.data) / 1e6:.1f} MB were read"


def read_source(source: SourceFile) -> SourceBytes:
    """The file's bytes, up to its format's read limit, so that memory stays bounded.

    What the file holds is read (and a byte more, which tells that it grew
    since it was measured; then the rest, up to the limit): a read of the
    whole limit first makes a buffer of that size, 17 of 25 µs for a 5 KB file.
    """
    limit = LIMITS.max_whole_file_bytes if source.suffix in WHOLE_FILE_SUFFIXES else LIMITS.max_read_bytes
    with open(source.path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        data = _read_up_to(handle, min(limit, size + 1))
        if len(data) > size:
            data += _read_up_to(handle, limit - len(data))
    return SourceBytes(data, max(size, len(data)))


def _read_up_to(handle: Any, count: int) -> bytes:
    """Up to ``count`` bytes of an unbuffered file: fewer only at its end."""
    parts = []
    while count > 0:
        part = handle.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def content_hash(data: bytes, context: str = "") -> str:
    """Hash that identifies a file's content, for change detection.

    ``context`` is whatever else decides the file's documents (its folder's
    ``_source.yaml`` defaults), so that changing it re-reads the file.
    """
    digest = hashlib.sha256(data)
    if context:
        digest.update(b"\0" + context.encode("utf-8"))
    return digest.hexdigest()


def decode(data: bytes) -> str:
    """Decode a source file's bytes to text.

    UTF-8 (with or without BOM) and UTF-16 with BOM are tried first; anything
    else is read as Windows-1252 and, failing that, Latin-1, so that a report
    saved in an old encoding is indexed rather than dropped.
    """
    if not data.strip():
        raise SkipFile("file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkipFile("undecodable UTF-16 text") from exc
    if _looks_binary(data):
        raise SkipFile("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A file cut at the read limit may end inside a character.
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8-sig", errors="replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# Every byte but the control characters that text does not hold (tab, newlines and form feed are text).
_NOT_CONTROL = bytes(b for b in range(256) if b >= 32 or b in (9, 10, 12, 13))


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = len(head.translate(None, _NOT_CONTROL))  # one C pass; a generator took 40 µs a file
    return control > len(head) * 0.05
