"""What a generation was built from, kept beside its Whoosh index.

``catalog.pickles`` holds every source file's parse result (a record per
file: its key, content hash, and its documents before assembly, warnings and
skip reason, as the parse worker pickled them) and ``documents.json`` a
fingerprint of every indexed document. ``update`` reads them to re-parse
only files whose content hash changed and to rewrite only documents whose
fingerprint changed; cross-file assembly still runs over all files, so an
update gives the same index as a rebuild.

The records are pickles, like Whoosh's own files beside them (its table of
contents, segments and stored fields): the index folder is trusted as a
whole. A parse worker pickles its result once to hand it to the building
process, and those bytes are the record; as JSON, each file's line took 38
of a worker's 370 µs a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from indexer.corpus import ParsedFile
from indexer.documents import Document
from indexer.store.generations import CATALOG_FILE, FINGERPRINTS_FILE
from indexer.store.schema import to_fields

# What the catalog's records are; with the document model's field names, its header.
CATALOG_FORMAT = 1
# Fixed rather than the newest, so that the catalog does not depend on the Python that wrote it.
CATALOG_PICKLE_PROTOCOL = 5


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

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # key -> (sha256, packed ParsedFile)
    fingerprints: dict[str, str] = field(default_factory=dict)  # document id -> fingerprint

    def parsed(self, key: str) -> ParsedFile:
        """The stored parse result of one file, as a fresh object."""
        return unpack_parsed(self.files[key][1])

    def sha256(self, key: str) -> str | None:
        entry = self.files.get(key)
        return entry[0] if entry else None


def pack_parsed(item: ParsedFile) -> bytes:
    """A file's parse result as bytes: what a parse worker hands back, and its catalog record's payload."""
    return pickle.dumps(item, protocol=CATALOG_PICKLE_PROTOCOL)


def unpack_parsed(packed: bytes) -> ParsedFile:
    """The inverse of :func:`pack_parsed`."""
    return pickle.loads(packed)


def catalog_header() -> tuple[str, int, tuple[str, ...]]:
    """The catalog's first record: what its records are (a change of the document model is one)."""
    return ("geosearch catalog", CATALOG_FORMAT, tuple(f.name for f in dataclasses.fields(Document)))


def write_catalog_header(handle: BinaryIO) -> None:
    """Begin a new catalog file: its header (see :func:`catalog_header`)."""
    pickle.dump(catalog_header(), handle, protocol=CATALOG_PICKLE_PROTOCOL)


def write_catalog_record(handle: BinaryIO, key: str, sha256: str, packed: bytes) -> None:
    """Append one file's record (see :func:`pack_parsed`) to an open catalog file."""
    pickle.dump((key, sha256, packed), handle, protocol=CATALOG_PICKLE_PROTOCOL)


def load_catalog(generation: Path) -> Catalog | None:
    """The catalog of ``generation``, or None when it has none, is unreadable or was written
    for another document model (then an update builds in full)."""
    files: dict[str, tuple[str, bytes]] = {}
    try:
        with open(generation / CATALOG_FILE, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if pickle.load(handle) != catalog_header():
                return None
            while handle.tell() < size:
                key, sha256, packed = pickle.load(handle)
                if not (isinstance(key, str) and isinstance(sha256, str) and isinstance(packed, bytes)):
                    return None
                files[key] = (sha256, packed)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return None
    fingerprints = load_fingerprints(generation)
    return Catalog(files, fingerprints) if fingerprints else None


def load_fingerprints(generation: Path) -> dict[str, str]:
    """Document fingerprints of ``generation``; empty when it has none."""
    try:
        return json.loads((generation / FINGERPRINTS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def write_catalog(generation: Path, records: Path, fingerprints: dict[str, str]) -> None:
    """Move the catalog's ``records`` (written while the files were read) into a generation that
    is not live yet, and write the fingerprints beside it."""
    os.replace(records, generation / CATALOG_FILE)
    (generation / FINGERPRINTS_FILE).write_text(json.dumps(fingerprints), "utf-8")
