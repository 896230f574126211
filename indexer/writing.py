"""Writing a generation: the parallel build's writers, the update's writer, and the commit.

The folder layout, the pointer and the lock are in ``indexer.store.generations``;
this module fills a new generation and hands it to ``finish_generation``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import mmap
import os
import pickle
import shutil
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from whoosh import index as whoosh_index

from indexer.collector import frozen_for_the_collector
from indexer.documents import Document
from indexer.processes import die_with_parent
from indexer.segment_writing import GroupedSegmentWriter
from indexer.store.schema import BODY_MARKING, STORY_FIELD, build_schema, to_fields

# Whoosh's posting pool spills sorted runs to disk past this estimate and merges them at
# commit. Its estimate is several times the real memory: at 2048, one writer of 46,000
# documents peaked at 1.3 GB (as at 1024) and wrote 706 docs/s, against 459 at 256.
WRITER_MEMORY_MB = 2048
# Builds of this many documents or more are written by one process per core (at most MAX_WRITE_PROCESSES).
PARALLEL_WRITE_MIN_DOCUMENTS = 1000
MAX_WRITE_PROCESSES = 2
# Indexing work of a document besides its text (stored fields, columns, lengths), in characters of text.
DOCUMENT_WORK_CHARS = 1000
PART_PREFIX = "part-"
PART_POLL_SECONDS = 0.1

# progress(stage, done, total): "indexing" per document, "committing" 0/1 then 1/1.
Progress = Callable[[str, int, int], None]
Result = TypeVar("Result")


def write_generation(
    generation: Path,
    documents: Sequence[Document],
    progress: Progress | None = None,
    meanwhile: Callable[[], Result] | None = None,
    stories: Callable[[Sequence[Document]], None] | None = None,
) -> Result | None:
    """Write ``documents`` into a new Whoosh index in ``generation``; returns what ``meanwhile`` returns.

    ``meanwhile`` is the caller's other work on the same documents. It runs
    in this process while the writer processes work, which otherwise only
    waits for them (after the writing when there is one writer). Any error
    cancels the writers (a failed ``add_document`` leaves a writer unusable)
    and propagates; the half-written folder is never swapped in.

    ``stories`` sets every document's ``story`` (``indexer.stories.assign_stories``),
    before ``meanwhile``. With writer processes it runs once they have started:
    they add their documents meanwhile and write the story column after the
    last one (:meth:`GroupedSegmentWriter.add_column`). Made first, the stories
    were a one-core stretch of 8.9 s between reading and writing 100,000
    documents; at a million, writers that could only analyse ahead waited
    77 s for them.
    """
    ix = whoosh_index.create_in(str(generation), build_schema())
    try:
        processes = min(os.cpu_count() or 1, MAX_WRITE_PROCESSES)
        if isinstance(documents, Sequence) and len(documents) >= PARALLEL_WRITE_MIN_DOCUMENTS and processes > 1:
            return _write_in_parts(ix, generation, documents, processes, progress, meanwhile, stories)
        if stories:
            stories(documents)
        _write(ix, [], documents, progress, fresh=True)
        return meanwhile() if meanwhile else None
    finally:
        ix.close()


def _write_in_parts(
    ix: Any,
    generation: Path,
    documents: Sequence[Document],
    processes: int,
    progress: Progress | None,
    meanwhile: Callable[[], Result] | None,
    stories: Callable[[Sequence[Document]], None] | None = None,
) -> Result | None:
    """Write ``documents`` as one segment per process, then list the segments in one index.

    Whoosh's analysis and posting writer are pure Python, so a build uses
    every core by giving each forked child a contiguous share of the
    documents (document numbers keep their order). Unlike Whoosh's
    ``MpWriter``, every child asks the kernel to kill it when the parent dies,
    so a killed build leaves no writer behind. ``stories``: see
    :func:`write_generation`; each child gets its share's stories through a pipe
    once it has added its documents.
    """
    shares = split_by_work(documents, processes)
    counts = mmap.mmap(-1, 8 * processes)  # shared with the children: documents written so far
    parent = os.getpid()
    children: dict[int, int] = {}
    story_pipes: list[int] = []  # the write end of each child's pipe
    senders: list[threading.Thread] = []
    # The children share the parent's memory copy-on-write; a garbage collection
    # in a child would touch every object's header and copy it all.
    with frozen_for_the_collector():
        try:
            for number, share in enumerate(shares):
                part = generation / f"{PART_PREFIX}{number}"
                part.mkdir()
                stories_from = None
                if stories:
                    stories_from, sending_end = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: write one part, never return into the caller's code
                    for other in story_pipes if stories_from is None else [*story_pipes, sending_end]:
                        os.close(other)
                    os._exit(_write_part(part, share, counts, number, parent, stories_from))
                children[pid] = number
                if stories_from is not None:
                    os.close(stories_from)
                    story_pipes.append(sending_end)
            if stories:
                stories(documents)
                for share, sending_end in zip(shares, list(story_pipes), strict=True):
                    story_pipes.remove(sending_end)
                    # A writer reads its stories once it has added its documents; the pipe holds
                    # 64 KB of them, so a thread waits for that while this process goes on.
                    senders.append(send_values_meanwhile(sending_end, [doc.story for doc in share]))
            result = meanwhile() if meanwhile else None
            _wait_for_parts(children, counts, len(documents), progress)
        except BaseException:
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            raise
        finally:
            for sending_end in story_pipes:
                os.close(sending_end)
            for sender in senders:  # done, or its pipe broken by the writer's end
                sender.join()
    if progress:
        progress("committing", 0, 1)
    _join_parts(ix, generation, processes)
    if progress:
        progress("committing", 1, 1)
    return result


def split_by_work(documents: Sequence[Document], parts: int) -> list[Sequence[Document]]:
    """``documents`` cut into ``parts`` contiguous shares of about equal indexing work.

    A document's work is its text plus a fixed cost. Equal counts of
    documents left one writer with most of the long reports: at a million
    documents one part took 21 minutes and the other 26.
    """
    work = np.cumsum([len(d.title) + len(d.excerpt) + len(d.body) + DOCUMENT_WORK_CHARS for d in documents])
    total = int(work[-1]) if len(work) else 0
    cuts = [0, *(int(np.searchsorted(work, total * k / parts)) for k in range(1, parts)), len(documents)]
    return [documents[start:end] for start, end in itertools.pairwise(cuts)]


# A writer process that meets an OSError exits with this plus its errno (ENOSPC: 128).
PART_OS_ERROR_STATUS = 100


def _write_part(
    part: Path, documents: Sequence[Document], counts: mmap.mmap, number: int, parent: int, stories_from: int | None
) -> int:
    """In a forked child: index ``documents`` into ``part``; the exit status says how it went.

    ``stories_from``: a pipe that brings the documents' stories (see :func:`write_generation`).
    """
    try:
        die_with_parent(parent)
        # The pooled postings are hundreds of thousands of lists and tuples that live until the
        # commit, and each collection would walk them all. This process ends when its part is
        # written, which frees whatever a cycle would hold.
        gc.disable()
        part_ix = whoosh_index.create_in(str(part), build_schema())

        def count(stage: str, done: int, _total: int) -> None:
            if stage == "indexing" and (done % 256 == 0 or done == len(documents)):
                struct.pack_into("q", counts, 8 * number, done)

        _write(part_ix, [], documents, count, fresh=True, stories_from=stories_from)
        part_ix.close()
        return 0
    except OSError as exc:  # a full disk and the like: the exit status carries its errno to the parent
        return PART_OS_ERROR_STATUS + exc.errno if exc.errno and exc.errno < 256 - PART_OS_ERROR_STATUS else 1
    except BaseException as exc:  # the parent reports the failure; the message goes to stderr
        with contextlib.suppress(Exception):
            os.write(2, f"indexer: writing part {number} failed: {exc!r}\n".encode())
        return 1


def _wait_for_parts(children: dict[int, int], counts: mmap.mmap, total: int, progress: Progress | None) -> None:
    running = dict(children)
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if progress:
                done = sum(struct.unpack_from("q", counts, 8 * k)[0] for k in children.values())
                progress("indexing", min(done, total), total)
            time.sleep(PART_POLL_SECONDS)
            continue
        if pid not in running:
            continue
        number = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code > PART_OS_ERROR_STATUS:
            failed = code - PART_OS_ERROR_STATUS
            raise OSError(failed, os.strerror(failed), f"part {number} of the new generation")
        if code != 0:
            raise RuntimeError(f"writing part {number} of the index failed (exit status {status})")
    if progress:
        progress("indexing", total, total)


def _join_parts(ix: Any, generation: Path, parts: int) -> None:
    """Move every part's segment files into ``generation`` and list them in its table of contents."""
    storage = ix.storage
    segments = []
    for number in range(parts):
        part = generation / f"{PART_PREFIX}{number}"
        part_ix = whoosh_index.open_dir(str(part))
        for segment in part_ix._segments():
            for name in segment.list_files(part_ix.storage):
                os.replace(part / name, generation / name)
            segments.append(segment)
        part_ix.close()
        shutil.rmtree(part)
    toc = whoosh_index.TOC(ix.schema, segments, ix.latest_generation() + 1)
    toc.write(storage, ix.indexname)


def update_generation(
    generation: Path,
    delete_ids: Iterable[str],
    documents: Sequence[Document],
    progress: Progress | None = None,
) -> None:
    """Delete and (re)add documents in ``generation``, a copy of the live index."""
    ix = whoosh_index.open_dir(str(generation))
    try:
        _write(ix, list(delete_ids), documents, progress)
    finally:
        ix.close()


def _write(
    ix: Any,
    delete_ids: list[str],
    documents: Sequence[Document],
    progress: Progress | None,
    fresh: bool = False,
    stories_from: int | None = None,
) -> None:
    """Add ``documents`` (after deleting ``delete_ids``) and commit; ``fresh``: ``ix`` is a new, empty index.

    ``stories_from`` (a fresh index only): a pipe that brings the documents'
    stories, read once every document is added; their column is written then.
    """
    if fresh:  # long bodies are marked by the writer as it tokenises them
        writer = GroupedSegmentWriter(ix, limitmb=WRITER_MEMORY_MB, marking=BODY_MARKING)
    else:
        writer = ix.writer(limitmb=WRITER_MEMORY_MB)
    try:
        for doc_id in delete_ids:
            writer.delete_by_term("id", doc_id)
        for number, doc in enumerate(documents, start=1):
            fields = to_fields(doc, marks=not fresh)
            if stories_from is not None:
                del fields[STORY_FIELD]  # not made yet: written below
            writer.add_document(**fields)
            if progress:
                progress("indexing", number, len(documents))
        if stories_from is not None:
            stories = receive_values(stories_from)
            if len(stories) != len(documents):
                raise RuntimeError(f"{len(stories)} stories came for {len(documents)} documents")
            writer.add_column(STORY_FIELD, stories)
        if progress:
            progress("committing", 0, 1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    if progress:
        progress("committing", 1, 1)


def send_values(pipe: int, values: list[Any]) -> None:
    """Send ``values`` through the write end of a pipe, and close it."""
    data = pickle.dumps(values, protocol=5)
    with os.fdopen(pipe, "wb") as sending:
        sending.write(struct.pack("<q", len(data)))
        sending.write(data)


def send_values_meanwhile(pipe: int, values: list[Any]) -> threading.Thread:
    """:func:`send_values` from a thread of its own, which is returned (join it).

    A pipe holds 64 KB: sending more waits until the other end reads it. A
    reader that has died breaks the pipe; that is not an error here (its
    exit status tells).
    """

    def send() -> None:
        with contextlib.suppress(BrokenPipeError):
            send_values(pipe, values)

    sender = threading.Thread(target=send, name="send-values", daemon=True)
    sender.start()
    return sender


def receive_values(pipe: int) -> list[Any]:
    """What :func:`send_values` sent through the read end of a pipe, which is then closed."""
    with os.fdopen(pipe, "rb") as receiving:
        (size,) = struct.unpack("<q", receiving.read(8))
        data = receiving.read(size)
    if len(data) != size:
        raise RuntimeError(f"the pipe closed after {len(data)} of {size} bytes")
    return pickle.loads(data)
