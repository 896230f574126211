"""Per-folder metadata: an optional ``_source.yaml`` gives defaults to the files under it.

A folder of reports usually comes from one publisher whose name never appears
in the text. ``_source.yaml`` in any source folder may set::

    provider: Center for Strategic and International Studies
    provider_domain: csis.org
    topics: [Semiconductors, Export controls]
    kind: report          # news or report
    language: en

Files in that folder and its subfolders get these values wherever their own
metadata is silent; a nearer ``_source.yaml`` overrides a farther one field by
field. A file's own metadata always wins.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from indexer.documents import Document
from indexer.sources import METADATA_FILE

FIELDS = ("provider", "provider_domain", "topics", "kind", "language")
DEFAULT_KINDS = ("news", "report")
MAX_METADATA_BYTES = 64 * 1024


class BadMetadata(ValueError):
    """A ``_source.yaml`` that cannot be used; its folder's files are indexed without it."""


@dataclass(frozen=True)
class FolderDefaults:
    """The merged defaults that apply to one file."""

    values: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Changes whenever the defaults do, so that an update re-reads the files they apply to."""
        if not self.values:
            return ""
        return hashlib.sha256(json.dumps(self.values, sort_keys=True).encode("utf-8")).hexdigest()

    def apply(self, doc: Document) -> None:
        """Fill the fields ``doc`` leaves empty (its own metadata wins)."""
        values = self.values
        if values.get("provider") and not doc.provider:
            doc.provider = values["provider"]
            doc.provider_domain = doc.provider_domain or values.get("provider_domain", "")
        if values.get("provider_domain") and not doc.provider_domain:
            doc.provider_domain = values["provider_domain"]
        if values.get("topics") and not doc.topics:
            doc.topics = list(values["topics"])
        if values.get("language") and not doc.language:
            doc.language = values["language"]
        # A folder's kind replaces the format's guess (a saved page may be news),
        # never the link of a related item to its parent.
        if values.get("kind") and doc.kind != "related":
            doc.kind = values["kind"]


def defaults_for(root: Path, relpath: str, metadata_folders: tuple[str, ...] | None = None) -> FolderDefaults:
    """The defaults for the file at ``relpath`` under ``root``; bad metadata files are passed over.

    ``metadata_folders``: the folders on the way that hold a metadata file, relative to ``root``
    ("" for root itself), as discovery found them (``SourceFile.metadata_folders``); only those are
    read. Otherwise each folder is looked at: two ``stat`` calls a file, 13 µs.
    """
    merged: dict[str, Any] = {}
    if metadata_folders is None:
        parts = relpath.split("/")[:-1]
        metadata_folders = tuple("/".join(parts[:depth]) for depth in range(len(parts) + 1))
    for inside in metadata_folders:
        # Plain strings rather than Paths: this runs for every file read, and Path joins cost 90 µs a file.
        folder = os.path.join(str(root), inside) if inside else str(root)
        try:
            merged.update(_metadata_in(folder))
        except BadMetadata:
            continue  # reported once per file by metadata_problems()
    return FolderDefaults(merged)


@functools.lru_cache(maxsize=4096)
def _read_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    if size > MAX_METADATA_BYTES:
        raise BadMetadata(f"{METADATA_FILE} is {size:,} bytes; at most {MAX_METADATA_BYTES:,} are read")
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle.read())
    except OSError as exc:
        raise BadMetadata(f"cannot read {METADATA_FILE}: {exc.strerror or exc}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise BadMetadata(f"line {line}: {exc.problem}" if line else str(exc.problem)) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadMetadata(f"not readable YAML: {exc}") from exc
    return _validate(data)


def read_metadata(folder: Path) -> dict[str, Any]:
    """The checked values of ``folder``'s ``_source.yaml`` ({} when there is none)."""
    return _metadata_in(str(folder))


def _metadata_in(folder: str) -> dict[str, Any]:
    path = os.path.join(folder, METADATA_FILE)
    try:
        status = os.stat(path)
    except OSError:
        return {}
    if not stat.S_ISREG(status.st_mode):  # a named pipe there would block every file's read for ever
        raise BadMetadata(f"{METADATA_FILE} is not a regular file")
    return dict(_read_cached(path, status.st_mtime_ns, status.st_size))


def _validate(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadMetadata(f"{METADATA_FILE} must be a mapping of {', '.join(FIELDS)}")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise BadMetadata(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    values: dict[str, Any] = {}
    for name in ("provider", "provider_domain", "kind", "language"):
        if data.get(name) is not None:
            if not isinstance(data[name], str) or not data[name].strip():
                raise BadMetadata(f"{name} must be a text")
            values[name] = data[name].strip()
    if "provider_domain" in values:
        values["provider_domain"] = values["provider_domain"].lower().removeprefix("www.")
    if "kind" in values and values["kind"] not in DEFAULT_KINDS:
        raise BadMetadata(f"kind must be one of {', '.join(DEFAULT_KINDS)}, not {values['kind']!r}")
    topics = data.get("topics")
    if topics is not None:
        if isinstance(topics, str):
            topics = [topics]
        if not isinstance(topics, list) or not all(isinstance(t, str) and t.strip() for t in topics):
            raise BadMetadata("topics must be a list of texts")
        values["topics"] = [t.strip() for t in topics]
    return values


def metadata_problems(roots: list[Path]) -> list[tuple[str, str, str]]:
    """(root name, path relative to the root, reason) of every unusable ``_source.yaml``."""
    problems = []
    for root in roots:
        root = root.resolve()
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(METADATA_FILE)):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            try:
                read_metadata(path.parent)
            except BadMetadata as exc:
                problems.append((root.name, path.relative_to(root).as_posix(), str(exc)))
    return problems
