"""Generations of the index on disk: the ``CURRENT`` pointer, the writer lock, the swap, the cleanup.

Layout of an index folder::

    index_data/
      CURRENT              {"generation": "gen-...", "previous": "gen-..."}
      gen-<time>-<pid>/    a complete Whoosh index plus build.json
      .lock                held by the one build/update running

A build writes a whole new generation beside the live one and then replaces
``CURRENT`` with ``os.replace`` (atomic on POSIX). Readers resolve
``CURRENT`` once and keep their generation open; the previous generation is
kept so that a reader that opened it just before the swap can finish.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from indexer.store.schema import SCHEMA_VERSION

POINTER_FILE = "CURRENT"
LOCK_FILE = ".lock"
BUILD_INFO = "build.json"
GENERATION_PREFIX = "gen-"
# The files of ours inside a generation folder (the rest belongs to Whoosh).
CATALOG_FILE = "catalog.pickles"  # indexer.catalog: every source file's parse, to reuse on update
FINGERPRINTS_FILE = "documents.json"  # indexer.catalog: a hash per document id, to tell what changed
SPELLING_FILE = "spelling.json"  # words and frequencies for did-you-mean
ARRAYS_FILE = "columns.npz"  # indexer.store.columns: facet, date and story arrays
VALUES_FILE = "columns.json"  # indexer.store.columns: the values those arrays' codes stand for
OWN_FILES = frozenset({BUILD_INFO, CATALOG_FILE, FINGERPRINTS_FILE, SPELLING_FILE, ARRAYS_FILE, VALUES_FILE})


class IndexBusy(RuntimeError):
    """Another build or update holds the writer lock."""


@contextlib.contextmanager
def writer_lock(index_root: Path) -> Iterator[None]:
    """Hold the one-writer lock of ``index_root`` or raise :class:`IndexBusy`.

    An OS-level ``flock``: it is released when the process dies, so a killed
    build never leaves the index locked.
    """
    index_root.mkdir(parents=True, exist_ok=True)
    with open(index_root / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexBusy(f"index busy: another build or update is writing {index_root}") from exc
            raise
        yield


def read_pointer(index_root: Path) -> dict[str, Any] | None:
    """The contents of ``CURRENT``, or None when no index was swapped in yet."""
    try:
        return json.loads((index_root / POINTER_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def current_generation(index_root: Path) -> Path | None:
    """Folder of the live generation, or None."""
    pointer = read_pointer(index_root)
    if not pointer or not pointer.get("generation"):
        return None
    folder = index_root / pointer["generation"]
    return folder if folder.is_dir() else None


def open_for_reading(generation: Path) -> Any:
    """The Whoosh index of ``generation``, opened to read without copying its segments into memory.

    With mmap, Whoosh hands each file inside a compound segment to its reader
    as ``BytesIO(memoryview)``, which copies it: at a million documents every
    new searcher copied gigabytes and took seconds. Plain file reads do not
    copy, and the operating system's page cache keeps them fast.
    """
    return FileStorage(str(generation), supports_mmap=False, readonly=True).open_index()


def read_build_info(generation: Path) -> dict[str, Any]:
    """``build.json`` of a generation (what it was built from)."""
    try:
        return json.loads((generation / BUILD_INFO).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def new_generation(index_root: Path) -> Path:
    """An empty folder for the next generation."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = index_root / f"{GENERATION_PREFIX}{stamp}-{os.getpid()}"
    folder.mkdir(parents=True)
    return folder


def copy_generation(live: Path, target: Path) -> None:
    """Copy the Whoosh files of ``live`` into the empty folder ``target``.

    Segment files are never changed after they are written (deletions live in
    the table of contents), so they are hard-linked: an update of a large
    index does not copy it. Everything else is copied.
    """
    for path in live.iterdir():
        if path.name in OWN_FILES or not path.is_file():
            continue
        if path.suffix == ".seg":
            try:
                os.link(path, target / path.name)
                continue
            except OSError:
                pass  # no hard links on this file system: copy instead
        shutil.copy2(path, target / path.name)


def document_count(generation: Path) -> int:
    """Documents (not counting deleted ones) in a generation's index."""
    ix = whoosh_index.open_dir(str(generation))
    try:
        return ix.doc_count()
    finally:
        ix.close()


def finish_generation(generation: Path, build_info: dict[str, Any]) -> None:
    """Write ``build.json``: the record of what the generation was built from."""
    info = dict(build_info, schema_version=SCHEMA_VERSION)
    _write_atomically(generation / BUILD_INFO, json.dumps(info, indent=1, sort_keys=True))


def swap_in(index_root: Path, generation: Path) -> None:
    """Make ``generation`` the live index in one atomic rename."""
    previous = read_pointer(index_root) or {}
    pointer = {
        "generation": generation.name,
        "previous": previous.get("generation"),
        "swapped_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    _write_atomically(index_root / POINTER_FILE, json.dumps(pointer))


def remove_stale_generations(index_root: Path) -> list[str]:
    """Delete generations that are neither live nor the previous one.

    Called with the writer lock held, so any other folder is the leftover of
    a killed or failed run.
    """
    pointer = read_pointer(index_root) or {}
    keep = {pointer.get("generation"), pointer.get("previous")}
    removed = []
    for folder in index_root.glob(f"{GENERATION_PREFIX}*"):
        if folder.name not in keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    for leftover in index_root.glob(f"{POINTER_FILE}.*.tmp"):
        leftover.unlink(missing_ok=True)
    return removed


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
