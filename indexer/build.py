"""Build and update: folders -> parsed files -> documents -> new generation -> swap.

Both commands end the same way: a complete new generation is written beside
the live one, checked (document count, plausibility) and swapped in with one
atomic rename; a failure or a kill at any point leaves the live index as it
was. ``build`` parses every file and writes every document. ``update``
re-parses only files whose content hash changed, hard-links the live index
into the new generation and rewrites only documents whose fingerprint
changed; assembly across files still sees every file, so an update gives the
same documents as a rebuild.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import json
import multiprocessing
import multiprocessing.pool
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from indexer.catalog import (
    Catalog,
    fingerprint,
    load_catalog,
    load_fingerprints,
    pack_parsed,
    unpack_parsed,
    write_catalog,
    write_catalog_header,
    write_catalog_record,
)
from indexer.collector import collector_paused, frozen_for_the_collector
from indexer.corpus import ParsedFile, Problem, assemble, parse_bytes, source_hash, unreadable_file
from indexer.documents import Document
from indexer.folders import defaults_for, metadata_problems
from indexer.limits import LIMITS
from indexer.sources import Scan, SourceFile, content_hash, file_key, read_source, scan
from indexer.store.generations import (
    SPELLING_FILE,
    copy_generation,
    current_generation,
    document_count,
    finish_generation,
    new_generation,
    read_build_info,
    remove_stale_generations,
    swap_in,
    writer_lock,
)
from indexer.store.schema import SCHEMA_VERSION, spelling_words
from indexer.store.write.columns import document_column_data, write_column_cache
from indexer.stories import assign_stories
from indexer.writing import Progress, update_generation, write_generation

# The catalog's records are written here (in the index folder) while the files are read.
CATALOG_RECORDS_PREFIX = ".catalog-records-"
# Below this many files, starting worker processes costs more than it saves.
PARALLEL_PARSE_MIN_FILES = 1000
MAX_PARSE_PROCESSES = 4


@dataclass
class Summary:
    """What a build or update did; written as ``--summary-json``."""

    command: str = "build"
    files_seen: int = 0
    documents_indexed: int = 0
    documents_by_kind: dict[str, int] = field(default_factory=dict)
    files_added: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_deleted: int = 0
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    generation: str = ""
    swapped: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "files_seen": self.files_seen,
            "documents_indexed": self.documents_indexed,
            "documents_by_kind": dict(sorted(self.documents_by_kind.items())),
            "added": {"files": self.files_added, "documents": self.documents_added},
            "updated": {"files": self.files_changed, "documents": self.documents_updated},
            "deleted": {"files": self.files_removed, "documents": self.documents_deleted},
            "unchanged_files": self.files_unchanged,
            "skipped": [p.to_dict() for p in self.skipped],
            "warnings": [p.to_dict() for p in self.warnings],
            "seconds": round(self.seconds, 3),
            "generation": self.generation,
            "swapped": self.swapped,
            "note": self.note,
        }


class NothingIndexed(RuntimeError):
    """The sources gave no document at all; the live index is left alone."""


class LooksWrong(RuntimeError):
    """The new index is implausibly small next to the live one; not swapped in."""


class IncompleteIndex(RuntimeError):
    """The written index does not hold every document; not swapped in."""


def run_build(
    roots: list[Path],
    index_root: Path,
    progress: Progress | None = None,
    *,
    allow_shrink: bool = False,
    follow_symlinks: bool | None = None,
) -> Summary:
    """Rebuild the index at ``index_root`` from every file under ``roots``.

    ``follow_symlinks``: read links to files outside the source folders and
    walk links to folders (None: no).
    """
    return _run("build", roots, index_root, progress, allow_shrink, bool(follow_symlinks))


def run_update(
    roots: list[Path],
    index_root: Path,
    progress: Progress | None = None,
    *,
    allow_shrink: bool = False,
    follow_symlinks: bool | None = None,
) -> Summary:
    """Bring the index up to date with ``roots``, re-reading only changed files.

    Falls back to a full build when there is no live index to start from.
    ``follow_symlinks`` None: as the live index was built.
    """
    return _run("update", roots, index_root, progress, allow_shrink, follow_symlinks)


@dataclass
class _Sources:
    """Every file's parse result, and which of them were read in this run."""

    parsed: list[ParsedFile] = field(default_factory=list)
    reread: set[str] = field(default_factory=set)
    # Noted as the files come (a loop over a million files each, on one core, afterwards):
    hashes: dict[str, str] = field(default_factory=dict)  # file key -> content hash
    documents_by_root: Counter[str] = field(default_factory=Counter)  # folder name -> documents before assembly


def _run(
    command: str,
    roots: list[Path],
    index_root: Path,
    progress: Progress | None,
    allow_shrink: bool,
    follow_symlinks: bool | None,
) -> Summary:
    started = time.monotonic()
    with writer_lock(index_root), _catalog_records(index_root) as catalog_records, contextlib.ExitStack() as kept:
        remove_stale_generations(index_root)
        live = current_generation(index_root)
        live_info = read_build_info(live) if live else {}
        same_schema = live_info.get("schema_version") == SCHEMA_VERSION
        if follow_symlinks is None:
            follow_symlinks = bool(live_info.get("follow_symlinks"))
        summary = Summary(command=command)
        with collector_paused():
            catalog = load_catalog(live) if live and same_schema and command == "update" else None
            if command == "update" and catalog is None:
                summary.note = "no index to update in place (none yet, or built by another version); built in full"
            # What could not be read this time is taken from the last run's catalog, loaded when needed.
            last = _Last(catalog, live if same_schema else None)
            previous_files = live_info.get("files") or {}
            with _naming(catalog_records):  # what discovery found lives only as long as the reading
                found = scan(roots, follow_symlinks=follow_symlinks)
                sources = _read_sources(found, catalog, last, previous_files, summary, progress, catalog_records)
                del found
            # A build assigns the stories while its writers start (write_generation); an update first.
            assembly = assemble(sources.parsed, stories=catalog is not None)
            documents = assembly.documents
            # They live to the end of the run. Frozen before the collector resumes: its first
            # collections would walk every one (8 s at a million documents).
            kept.enter_context(frozen_for_the_collector())
        if not documents:
            raise NothingIndexed("nothing could be indexed: no source file gave a document")
        _report_problems(sources, assembly.warnings, summary, only_reread=catalog is not None)
        summary.skipped += [
            Problem(relpath, f"folder metadata not used: {reason}") for _, relpath, reason in metadata_problems(roots)
        ]
        old = catalog.fingerprints if catalog else (load_fingerprints(live) if live and same_schema else {})
        summary.documents_indexed = len(documents)
        summary.documents_by_kind = dict(Counter(d.kind for d in documents))
        by_root = _documents_by_root(roots, sources)
        if not allow_shrink:
            _check_plausible(live_info, by_root, len(documents))
        build_info = {
            "roots": [str(r.resolve()) for r in roots],
            "follow_symlinks": follow_symlinks,
            "files": sources.hashes,
            "documents": len(documents),
            "documents_by_root": by_root,
        }
        nothing_changed = not (summary.files_added or summary.files_changed or summary.files_removed)
        incremental = catalog is not None  # a catalog is only loaded from a live generation
        # An update needs the fingerprints to choose what to rewrite; a build makes them while it writes.
        fingerprints = _fingerprints(documents) if incremental else {}
        if incremental and nothing_changed and live_info.get("roots") == build_info["roots"]:
            _count_changes(summary, old, fingerprints)
            summary.note = "nothing changed since the last build or update; the index was left as it was"
            summary.generation = live.name
            summary.seconds = time.monotonic() - started
            return summary
        generation = new_generation(index_root)
        try:
            with _naming(generation):
                if incremental:
                    copy_generation(live, generation)
                    rewrite, remove = _count_changes(summary, old, fingerprints)
                    update_generation(generation, remove, [d for d in documents if d.id in rewrite], progress)
                    _write_derived_files(generation, documents, catalog_records, fingerprints)
                else:
                    derived = partial(_write_derived_files, generation, documents, catalog_records, fresh_index=True)
                    fingerprints = write_generation(generation, documents, progress, derived, _assign_stories)
                    _count_changes(summary, old, fingerprints)
                written = document_count(generation)
                if written != len(documents):
                    raise IncompleteIndex(f"the new index holds {written} documents instead of {len(documents)}")
                if incremental:
                    write_column_cache(generation)  # document numbers are the index's own: read them back
                finish_generation(generation, build_info)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        swap_in(index_root, generation)
        remove_stale_generations(index_root)
        summary.generation = generation.name
        summary.swapped = True
        summary.seconds = time.monotonic() - started
        return summary


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError raised inside (a full disk when a buffer is flushed names no file) ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def _assign_stories(documents: Sequence[Document]) -> None:
    with collector_paused():  # millions of short-lived objects, none in a cycle
        assign_stories(documents)


def _fingerprints(documents: list[Document]) -> dict[str, str]:
    with collector_paused():
        return {doc.id: fingerprint(doc) for doc in documents}


def _count_changes(summary: Summary, old: dict[str, str], fingerprints: dict[str, str]) -> tuple[set[str], list[str]]:
    """Count added, updated and deleted documents against the ``old`` fingerprints.

    Returns the ids to (re)write and the ids whose old entries go.
    """
    added = [i for i in fingerprints if i not in old]
    updated = [i for i, fp in fingerprints.items() if i in old and old[i] != fp]
    deleted = [i for i in old if i not in fingerprints]
    summary.documents_added, summary.documents_updated = len(added), len(updated)
    summary.documents_deleted = len(deleted)
    return {*added, *updated}, [*updated, *deleted]


def _write_derived_files(
    generation: Path,
    documents: list[Document],
    catalog_records: Path,
    fingerprints: dict[str, str] | None = None,
    *,
    fresh_index: bool = False,
) -> dict[str, str]:
    """Write the catalog, the fingerprints (made here unless given) and the spelling dictionary; returns the
    fingerprints. A build runs this while its writer processes work: it was 10 of 113 s at 100,000 documents.

    ``fresh_index``: ``documents`` are written as a new index, in this order, so
    its column cache is made from them too.
    """
    if fingerprints is None:
        fingerprints = _fingerprints(documents)
    write_catalog(generation, catalog_records, fingerprints)
    with collector_paused():
        words = spelling_words(documents)
        columns = document_column_data(documents) if fresh_index else None
    (generation / SPELLING_FILE).write_text(json.dumps(words), "utf-8")
    if columns is not None:
        write_column_cache(generation, columns)
    return fingerprints


@contextlib.contextmanager
def _catalog_records(index_root: Path) -> Iterator[Path]:
    """A file for the new catalog's records, written as the files are read.

    It is moved into the new generation; whatever ends the run otherwise, it is
    removed. Called with the writer lock held, so any other such file is a
    killed run's and goes too.
    """
    for leftover in index_root.glob(".catalog-*.tmp"):  # a killed run's (so named before: .catalog-lines-)
        leftover.unlink(missing_ok=True)
    path = index_root / f"{CATALOG_RECORDS_PREFIX}{os.getpid()}.tmp"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class _Last:
    """The last run's parse results, for files and folders that cannot be read now: its catalog,
    loaded on first use when this run did not load it (a build)."""

    def __init__(self, catalog: Catalog | None, live: Path | None) -> None:
        self._catalog, self._live, self._loaded = catalog, live, catalog is not None

    def catalog(self) -> Catalog | None:
        if not self._loaded:
            self._loaded = True
            self._catalog = load_catalog(self._live) if self._live else None
        return self._catalog


def _read_sources(
    found: Scan,
    catalog: Catalog | None,
    last: _Last,
    previous_files: dict[str, str],
    summary: Summary,
    progress: Progress | None,
    catalog_records: Path,
) -> _Sources:
    """Parse every file, or take its parse result from ``catalog`` when its content is unchanged.

    A file or folder that cannot be read is reported, and what it gave last
    time is kept (a share that lost its permissions must not empty the index);
    it goes only when it is gone. Each file's catalog record goes to
    ``catalog_records`` as it comes.
    """
    files = found.files
    summary.files_seen = len(files)
    summary.skipped += [Problem(relpath, reason) for _, relpath, reason in found.skipped]
    result = _Sources()
    seen: set[str] = set()
    tasks = [(source, catalog.sha256(source.key) if catalog else None) for source in files]
    with open(catalog_records, "wb") as records:
        write_catalog_header(records)

        def keep(key: str, sha256: str, packed: bytes, reread: bool, item: ParsedFile | None = None) -> None:
            item = item or unpack_parsed(packed)
            seen.add(key)
            if reread:
                result.reread.add(key)
            result.parsed.append(item)
            result.hashes[key] = sha256
            result.documents_by_root[item.root_name] += len(item.documents)
            write_catalog_record(records, key, sha256, packed)
            _count_file(key, sha256, previous_files, summary)

        for number, (source, packed) in enumerate(zip(files, _map_files(tasks), strict=True), start=1):
            key = source.key
            if packed is None:  # content unchanged: the catalog's parse result stands
                keep(key, catalog.files[key][0], catalog.files[key][1], reread=False)
            else:
                item = unpack_parsed(packed)
                before = last.catalog().files.get(key) if item.unreadable and last.catalog() else None
                if before is not None:
                    summary.skipped.append(Problem(item.relpath, f"{item.skipped}; its documents are kept"))
                    keep(key, before[0], before[1], reread=False)
                else:
                    keep(key, item.sha256, packed, reread=True, item=item)
            if progress:
                progress("reading", number, len(files))
        previous = last.catalog() if found.unreadable else None
        for key in _keys_under(previous, found.unreadable):
            if key not in seen:
                keep(key, *previous.files[key], reread=False)
    summary.files_removed = sorted(k for k in previous_files if k not in seen)
    return result


def _keys_under(catalog: Catalog | None, folders: list[tuple[str, str]]) -> list[str]:
    """The catalog's file keys under each of ``folders`` ((folder name, path inside it)), found by
    bisecting its sorted keys: a share with thousands of locked folders must not scan it for each."""
    if catalog is None or not folders:
        return []
    keys = sorted(catalog.files)
    found = []
    for root_name, inside in folders:
        prefix = file_key(root_name, f"{inside}/" if inside else "")
        for key in keys[bisect.bisect_left(keys, prefix) :]:
            if not key.startswith(prefix):
                break
            found.append(key)
    return found


def _count_file(key: str, sha256: str, previous_files: dict[str, str], summary: Summary) -> None:
    if sha256 and previous_files.get(key) == sha256:
        summary.files_unchanged += 1
    else:
        (summary.files_changed if key in previous_files else summary.files_added).append(key)


def _read_one(task: tuple[SourceFile, str | None]) -> ParsedFile | None:
    """Read one file and parse it, unless its content hash is the known one (then None)."""
    source, known_sha = task
    try:
        read = read_source(source)
    except OSError as exc:
        return unreadable_file(source, exc)
    defaults = defaults_for(source.root, source.relpath, source.metadata_folders)
    if known_sha is not None and known_sha == content_hash(read.data, defaults.digest):
        return None
    return parse_bytes(source, read, defaults)


def _read_and_pack(task: tuple[SourceFile, str | None]) -> bytes | None:
    """:func:`_read_one`'s parse result packed (``indexer.catalog.pack_parsed``); None when unchanged.

    The building process unpacks it and keeps the bytes as the file's catalog
    record, so the result is encoded once, where the file is parsed, on every core.
    """
    item = _read_one(task)
    return None if item is None else pack_parsed(item)


def _map_files(tasks: list[tuple[SourceFile, str | None]]) -> Iterator[bytes | None]:
    """:func:`_read_and_pack` over every file, in order; on all cores when there are many.

    Parsing is a third of a build. Pool workers exit when this process dies
    (their task pipe closes), so a killed build leaves no worker behind.
    """
    processes = min(os.cpu_count() or 1, MAX_PARSE_PROCESSES)
    if len(tasks) < PARALLEL_PARSE_MIN_FILES or processes < 2:
        yield from map(_read_and_pack, tasks)
        return
    with ParsePool(processes, initializer=gc.enable, context=multiprocessing.get_context("fork")) as pool:
        yield from pool.imap(_read_and_pack, _prefetched(tasks), chunksize=32)


class ParsePool(multiprocessing.pool.Pool):
    """A process pool whose worker-handling thread wakes only when a worker exits or the pool changes.

    CPython's pool (3.8 and later) also wakes that thread whenever a result
    waits unread in the result pipe, and it loops until the result thread has
    read it. Reading files, a result nearly always waits, so the thread spun:
    3.8 of the parent's 10.8 CPU-seconds of reading 100,000 files, on the
    cores the parse workers need. Without worker recycling (no
    ``maxtasksperchild``) it has nothing to do about results.
    """

    def _get_sentinels(self) -> list[Any]:
        return [self._change_notifier._reader]


def _prefetched(tasks: list[tuple[SourceFile, str | None]]) -> Iterator[tuple[SourceFile, str | None]]:
    """``tasks``, asking the kernel to start reading each file as it is handed on.

    The pool's feeder runs some hundreds of files ahead of the workers (as far
    as the task pipe holds), so the files are in memory by the time a worker
    opens them. Files out of the page cache left the parse workers waiting:
    reading 100,000 such files took 51-69 s against 35 s cached, and 36-37 s
    with this (cached, the same 34 s).
    """
    for task in tasks:
        # A vanished file is reported when it is read; some systems have no posix_fadvise.
        with contextlib.suppress(OSError, AttributeError):
            descriptor = os.open(task[0].path, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(descriptor)
        yield task


def _report_problems(sources: _Sources, assembly_warnings: list[Problem], summary: Summary, only_reread: bool) -> None:
    """Skips and warnings of the files read in this run (an update does not repeat old news)."""
    reread_paths = set()
    for item in sources.parsed:
        if only_reread:
            if item.key not in sources.reread:
                continue
            reread_paths.add(item.relpath)
        if item.skipped:
            summary.skipped.append(Problem(item.relpath, item.skipped))
        if item.warnings:
            summary.warnings.extend(Problem(item.relpath, w) for w in item.warnings)
    summary.warnings.extend(w for w in assembly_warnings if not only_reread or w.path in reread_paths)


def _documents_by_root(roots: list[Path], sources: _Sources) -> dict[str, int]:
    """Documents each source folder gave before assembly (0 for a folder that gave none)."""
    return {root.resolve().name: 0 for root in roots if root.is_dir()} | sources.documents_by_root


def _check_plausible(live_info: dict[str, Any], by_root: dict[str, int], total: int) -> None:
    """Refuse a new index that looks like a missing folder rather than a real change."""
    before = live_info.get("documents_by_root") or {}
    for root, count in sorted(before.items()):
        if by_root.get(root) == 0 and count >= LIMITS.shrink_guard_min_documents:
            raise LooksWrong(f"source folder {root!r} gave {count} documents last time and none now")
    previous_total = live_info.get("documents") or 0
    floor = previous_total * LIMITS.shrink_guard_keep_fraction
    if previous_total >= LIMITS.shrink_guard_min_documents and total < floor:
        raise LooksWrong(f"the new index would hold {total} documents, against {previous_total} in the live one")


def is_stale(roots: list[Path], index_root: Path) -> tuple[bool, str]:
    """Whether the live index is missing or was built from other content.

    Compared by content hash, so touching a file does not force a rebuild.
    """
    generation = current_generation(index_root)
    if generation is None:
        return True, "no index yet"
    info = read_build_info(generation)
    if info.get("schema_version") != SCHEMA_VERSION:
        return True, "index was built by another version of the schema"
    if info.get("roots") != [str(r.resolve()) for r in roots]:
        return True, "built from other source folders"
    built = info.get("files") or {}
    found = scan(roots, follow_symlinks=bool(info.get("follow_symlinks")))
    files: dict[str, str] = {}
    for source in found.files:
        try:
            files[source.key] = source_hash(source, read_source(source).data)
        except OSError as exc:  # unreadable: its documents are kept, so it counts as it was
            gone = isinstance(exc, FileNotFoundError | NotADirectoryError)
            files[source.key] = "" if gone else built.get(source.key, "")
    for root_name, inside in found.unreadable:  # a folder that cannot be read: its files as they were
        prefix = file_key(root_name, f"{inside}/" if inside else "")
        files.update({key: sha for key, sha in built.items() if key.startswith(prefix)})
    if files != built:
        return True, "source files changed since the last build"
    return False, "index is up to date"
