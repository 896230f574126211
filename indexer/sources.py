"""Finding source files under the source folders and reading them.

Stage one of the pipeline: folders -> :class:`SourceFile` (path relative to its
folder, bytes, content hash). Which parser reads a file is decided by
``indexer.corpus``: by content for text files, by suffix for the rest.
"""

from __future__ import annotations

import codecs
import hashlib
import operator
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
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


class NotRegularFile(OSError):
    """A path that is no longer a regular file when it is read."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"not a regular file any more: {shown_name(str(path))}")
        self.strerror = "not a regular file (it changed since it was found)"


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


@dataclass
class Scan:
    """What discovery found under the source folders: the files to read, and what it passed over."""

    files: list[SourceFile] = field(default_factory=list)
    # (folder name, path inside it, reason) of each entry not read: not a regular file, a link, ...
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    # (folder name, path inside it) of each folder that could not be listed: its files are not known,
    # so the documents they gave last time are kept (see indexer.build).
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def shown_name(name: str) -> str:
    """A file or folder name as text: bytes that are not UTF-8 (which the OS hands over as lone
    surrogates) written as ``\\xff``, and a name's own backslashes doubled, so that two names are
    never shown alike and every name is a key, an id and a line of a report."""
    if "\\" in name:
        name = name.replace("\\", "\\\\")
    elif name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def discover(roots: list[Path], *, follow_symlinks: bool = False) -> Iterator[SourceFile]:
    """Every source file under ``roots``, in a stable order (see :func:`scan`)."""
    yield from scan(roots, follow_symlinks=follow_symlinks).files


def scan(roots: list[Path], *, follow_symlinks: bool = False) -> Scan:
    """Find every candidate source file under ``roots``, in a stable order.

    Only regular files are read: a named pipe would block the reader for ever
    and a device has no end. Hidden files and folders (``.git``, editor swap
    files) are not sources. A symbolic link is read when it points to a file
    inside its source folder; one to a file outside it, or to a folder, is
    passed over with the reason, unless ``follow_symlinks`` (then a folder met
    twice on one path, a loop, is passed over). A folder that cannot be listed
    is noted as unreadable.
    """
    found = Scan()
    for root in roots:
        root = root.resolve()
        root_name = shown_name(root.name or str(root))
        try:
            if not root.is_dir():
                if root.is_file():
                    found.files.append(SourceFile(root.parent, shown_name(root.name), root))
                elif root.exists():
                    found.skipped.append((root_name, "", "not a regular file or folder"))
                continue
        except OSError as exc:
            found.unreadable.append((root_name, ""))
            found.skipped.append((root_name, ".", f"cannot read folder: {exc.strerror or exc}"))
            continue
        _Walk(found, root, root_name, follow_symlinks).run()
    return found


class _Walk:
    """One source folder's walk: each folder's files, then its subfolders (depth first, names sorted),
    with a stack rather than calls, so that no depth of folders is too deep."""

    def __init__(self, found: Scan, root: Path, root_name: str, follow: bool) -> None:
        self.found, self.root, self.root_name, self.follow = found, root, root_name, follow
        self.real_root = os.path.realpath(root)
        self.walked: set[str] = {self.real_root}  # real paths of the folders read (following links)

    def run(self) -> None:
        # (folder as the OS names it, its path under root as the OS names it, the same as text,
        # the folders on the way that hold metadata, the real paths of the folders on the way)
        stack = [(str(self.root), "", "", (), frozenset({self.real_root}))]
        while stack:
            stack += reversed(self._folder(*stack.pop()))

    def _folder(self, folder: str, inside: str, shown: str, metadata: tuple[str, ...], ancestors: frozenset[str]):
        """Add one folder's files; returns its subfolders to walk, in order.

        ``inside`` names the folder for reading its ``_source.yaml``, ``shown`` for keys;
        ``ancestors`` tell a link to a folder it is inside (a loop).
        """
        found, root_name, follow = self.found, self.root_name, self.follow
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_name_of)
        except OSError as exc:
            found.unreadable.append((root_name, shown))
            found.skipped.append((root_name, shown or ".", f"cannot read folder: {exc.strerror or exc}"))
            return []
        # A folder's files come after the folders above it: which of those hold metadata is known.
        if any(entry.name == METADATA_FILE for entry in entries):
            metadata = (*metadata, inside)
        prefix, real_prefix = (f"{shown}/", f"{inside}/") if shown else ("", "")
        below = []
        folder_path = Path(folder)  # made once: a Path made from each file's whole path cost more
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relpath = prefix + shown_name(name)
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.isdir(target):
                        reason = self._linked_folder(target, ancestors)
                        if reason:
                            found.skipped.append((root_name, relpath, reason))
                        else:
                            self.walked.add(target)
                            below.append((entry.path, real_prefix + name, relpath, metadata, ancestors | {target}))
                        continue
                    if suffix_of(name) not in SOURCE_SUFFIXES:
                        continue
                    reason = self._linked_file(target)
                    if reason:
                        found.skipped.append((root_name, relpath, reason))
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    real = entry.path
                    if follow:  # real paths matter only when links are followed: loops, folders met twice
                        real = os.path.realpath(entry.path)
                        if real in self.walked:
                            found.skipped.append((root_name, relpath, "a folder read already (through a link)"))
                            continue
                        self.walked.add(real)
                    below.append((entry.path, real_prefix + name, relpath, metadata, ancestors | {real}))
                    continue
                elif suffix_of(name) not in SOURCE_SUFFIXES:
                    continue
                elif not entry.is_file(follow_symlinks=False):
                    found.skipped.append((root_name, relpath, f"not a regular file ({_kind_of(entry)}): not read"))
                    continue
            except OSError as exc:
                found.skipped.append((root_name, relpath, f"cannot look at it: {exc.strerror or exc}"))
                continue
            found.files.append(SourceFile(self.root, relpath, folder_path / name, metadata))
        return below

    def _linked_folder(self, target: str, ancestors: frozenset[str]) -> str | None:
        """Why a link to the folder ``target`` is not walked, or None to walk it."""
        if not self.follow:
            return "a link to a folder: not followed (--follow-symlinks)"
        if target in ancestors:
            return "a link to a folder it is inside: a loop"
        if target in self.walked:
            return "a link to a folder read already (through another path)"
        return None

    def _linked_file(self, target: str) -> str | None:
        """Why a link to the file ``target`` is not read, or None to read it."""
        if not os.path.exists(target):
            return "a link to nothing (its target is gone)"
        outside = not (target + os.sep).startswith(self.real_root + os.sep)
        if outside and not self.follow:
            return "a link to a file outside the source folder: not read (--follow-symlinks)"
        if not os.path.isfile(target):
            return "a link to something that is not a regular file"
        return None


_name_of = operator.attrgetter("name")


def _kind_of(entry: os.DirEntry) -> str:
    """What a file that is not a regular one is, in words."""
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "unknown"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


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
    # Opened without blocking: a file swapped for a named pipe since it was found must not hang the run.
    descriptor = os.open(source.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with open(descriptor, "rb", buffering=0) as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFile(source.path)
        size = status.st_size
        data = _read_up_to(handle, min(limit, size + 1))
        if len(data) > size:
            data += _read_up_to(handle, limit - len(data))
            # Grown past its measured size and up to the limit: whether it holds more tells a cut.
            if len(data) >= limit and handle.read(1):
                size = len(data) + 1
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


def decode(data: bytes, *, cut: bool = False) -> str:
    """Decode a source file's bytes to text, with ``\\n`` line ends.

    UTF-16 with a BOM is read as such. Anything else is read as UTF-8 (with
    or without BOM), each byte that is not part of a UTF-8 character read as
    Windows-1252: a UTF-8 file with a stray Latin-1 "ü" keeps every other
    accent, and a file saved in an old encoding (where nearly every non-ASCII
    byte is such a byte) is read as that encoding rather than dropped. With
    ``cut`` (the file was read only in part), a character cut at the end is
    left out.
    Old Mac line ends (a lone ``\\r``) and Windows ones become ``\\n``.
    """
    if not data.strip():
        raise SkipFile("file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkipFile("undecodable UTF-16 text") from exc
    elif _looks_binary(data):
        raise SkipFile("binary file, not text")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _repaired(data, cut)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# Past this many bytes that are no UTF-8 character, a file is taken to be in an old encoding and
# decoded whole as such: the repair calls Python once per stray byte.
MAX_STRAY_BYTES = 64


def _repaired(data: bytes, cut: bool) -> str:
    """Text of bytes that are UTF-8 but for some stray bytes (see :func:`decode`)."""
    if cut:  # a character cut by the read limit is no stray byte: leave it out
        end = len(data)
        while end > len(data) - 4 and end > 0 and data[end - 1] & 0xC0 == 0x80:
            end -= 1
        if end > 0 and data[end - 1] >= 0xC0:
            data = data[: end - 1]
    stray = data.decode("utf-8", errors="replace").count("\ufffd") - data.count("\ufffd".encode())
    if stray > MAX_STRAY_BYTES:
        return data.removeprefix(b"\xef\xbb\xbf").decode("cp1252", errors=_STRAY_BYTES)
    return data.decode("utf-8-sig", errors=_STRAY_BYTES)


_STRAY_BYTES = "geosearch-stray-bytes"
# Bytes Windows-1252 leaves undefined: read as Latin-1 (C1 controls, which text cleaning drops).
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _stray_bytes(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are no UTF-8 character (or that Windows-1252 leaves undefined),
    read one by one as Windows-1252, the undefined ones as Latin-1."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(b) if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad), error.end


codecs.register_error(_STRAY_BYTES, _stray_bytes)


# Every byte but the control characters that text does not hold (tab, newlines and form feed are text).
_NOT_CONTROL = bytes(b for b in range(256) if b >= 32 or b in (9, 10, 12, 13))


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = len(head.translate(None, _NOT_CONTROL))  # one C pass; a generator took 40 µs a file
    return control > len(head) * 0.05
