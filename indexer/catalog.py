"""What a generation was built from, kept beside its Whoosh index.

``catalog.jsonl`` holds every source file's parse result (one JSON line per
file: content hash, documents before assembly, warnings, skip reason) and
``documents.json`` a fingerprint of every indexed document. ``update`` reads
them to re-parse only files whose content hash changed and to rewrite only
documents whose fingerprint changed; cross-file assembly still runs over all
files, so an update gives the same index as a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from indexer.corpus import ParsedFile
from indexer.documents import Document
from indexer.schema import to_fields
from indexer.sources import file_key

CATALOG_FILE = "catalog.jsonl"
FINGERPRINTS_FILE = "documents.json"


def fingerprint(doc: Document) -> str:
    """Hash of everything the index holds for ``doc``: equal hashes, equal entries.

    Made of the ``repr`` of its fields but the body (text, numbers, bytes,
    datetimes and lists of them, in ``to_fields``' fixed order: one text for one
    set of values), a NUL (which a ``repr`` never holds), and the body's UTF-8
    bytes. JSON-encoding them all took 26 µs a document, mostly escaping long
    bodies; this takes 17, a third of it ``to_fields``.
    """
    fields = to_fields(doc, derived=False)  # the body's column copy, encoded again, was half a report's
    body = fields.pop("body", "")
    digest = hashlib.sha1(repr(fields).encode("utf-8", "surrogatepass"))
    digest.update(b"\0" + body.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@dataclass
class Catalog:
    """The parse results and document fingerprints of one generation."""

    files: dict[str, dict] = field(default_factory=dict)  # key -> ParsedFile.to_dict()
    fingerprints: dict[str, str] = field(default_factory=dict)  # document id -> fingerprint

    def parsed(self, key: str) -> ParsedFile:
        """The stored parse result of one file, as a fresh object."""
        return ParsedFile.from_dict(self.files[key])

    def sha256(self, key: str) -> str | None:
        entry = self.files.get(key)
        return entry["sha256"] if entry else None


def load_catalog(generation: Path) -> Catalog | None:
    """The catalog of ``generation``, or None when it has none or it is unreadable."""
    try:
        files = {}
        with open(generation / CATALOG_FILE, encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                files[file_key(entry["root_name"], entry["relpath"])] = entry
    except (OSError, ValueError, KeyError, TypeError):
        return None
    fingerprints = load_fingerprints(generation)
    return Catalog(files, fingerprints) if fingerprints else None


def load_fingerprints(generation: Path) -> dict[str, str]:
    """Document fingerprints of ``generation``; empty when it has none."""
    try:
        return json.loads((generation / FINGERPRINTS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def catalog_line(entry: ParsedFile | dict) -> str:
    """One file's line of ``catalog.jsonl`` (from its parse result or its catalog entry)."""
    data = entry.to_dict() if isinstance(entry, ParsedFile) else entry
    return json.dumps(data, ensure_ascii=False) + "\n"


def write_catalog(generation: Path, lines: Path, fingerprints: dict[str, str]) -> None:
    """Move the catalog's ``lines`` (written while the files were read) into a generation that
    is not live yet, and write the fingerprints beside it."""
    os.replace(lines, generation / CATALOG_FILE)
    (generation / FINGERPRINTS_FILE).write_text(json.dumps(fingerprints), "utf-8")
