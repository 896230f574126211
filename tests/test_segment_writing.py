"""How a build writes segments: Whoosh's format, faster, in balanced parallel parts.

``indexer.segment_writing`` keeps postings by term and writes them a block at
a time; with Whoosh's block format every file inside the segment it writes
must equal, byte for byte, the one Whoosh's own ``SegmentWriter`` writes for
the same documents, with its pool in memory and when it spills runs to disk.
With the build's own block format (pickle protocol 5, fewer blocks
compressed) Whoosh must read back the same postings from fewer bytes. A build splits its
documents into contiguous parts of about equal work, one writer process
each; the joined index must hold what one writer writes.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from benchmarks.generate import Generator
from indexer import writing
from indexer.build import _read_one
from indexer.corpus import assemble
from indexer.segment_writing import OUR_FORMAT, WHOOSHS_FORMAT, GroupedSegmentWriter, SegmentFormat, TermGroupedPool
from indexer.sources import discover
from indexer.store.schema import BODY_MARKING, STORY_FIELD, build_schema, story_reader, to_fields
from indexer.stories import assign_stories
from indexer.writing import (
    DOCUMENT_WORK_CHARS,
    PARALLEL_WRITE_MIN_DOCUMENTS,
    PART_PREFIX,
    _write_in_parts,
    split_by_work,
    write_generation,
)
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def parsed_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segment-sources")
    Generator(seed=11, report_share=0.05).write(700, folder / "generated")
    (folder / "copies").mkdir()
    for number in range(3):  # one story told by three providers
        (folder / "copies" / f"{number}.md").write_text(
            "---\ntitle: Drone makers race to meet new export controls on chips\n"
            f"publishedDateTime: 2024-05-0{number + 1}T08:00:00Z\n"
            f"sourceUrl: https://provider{number}.example.org/drones\nprovider: {{name: Provider {number}}}\n---\n",
            encoding="utf-8",
        )
    return [_read_one((source, None)) for source in discover([SEEDS, folder / "generated", folder / "copies"])]


@pytest.fixture(scope="module")
def documents(parsed_files):
    return assemble(parsed_files).documents


def write(
    folder,
    documents,
    grouped: bool,
    limitmb: int = 256,
    segment_format: SegmentFormat = WHOOSHS_FORMAT,
    marks: bool = False,
):
    """Index ``documents`` into a new index in ``folder`` with one writer; returns that writer's pool.

    ``segment_format``: the grouped writer's choices (by default Whoosh's own). ``marks``: the grouped
    writer marks long bodies itself (as a build's writers do) instead of taking marks and terms from
    ``to_fields``.
    """
    folder.mkdir(exist_ok=True)
    ix = whoosh_index.create_in(str(folder), build_schema())
    if grouped:
        marking = BODY_MARKING if marks else None
        writer = GroupedSegmentWriter(ix, limitmb=limitmb, segment_format=segment_format, marking=marking)
    else:
        writer = ix.writer(limitmb=limitmb)
    pool = writer.pool
    for doc in documents:
        writer.add_document(**to_fields(doc, marks=not (grouped and marks)))
    writer.commit()
    ix.close()
    return pool


def segment_files(folder) -> dict[str, bytes]:
    """Every file inside the index's one segment, named without the segment's random id."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        (segment,) = ix._segments()
        storage = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
        return {
            name.replace(segment.segment_id(), "SEGMENT"): storage.open_file(name).read() for name in storage.list()
        }
    finally:
        ix.close()


# 0.1 MB: the pool (fields other than the packed text, which stays in memory as tokens) spills runs.
@pytest.mark.parametrize("marks", [False, True], ids=["marks given", "marks made by the writer"])
@pytest.mark.parametrize("limitmb", [256, 0.1], ids=["in memory", "spilled runs"])
def test_every_segment_file_equals_whooshs_own(tmp_path, documents, limitmb, marks):
    assert sum(len(doc.body) > BODY_MARKING.min_chars for doc in documents) >= 10, "too few long bodies"
    write(tmp_path / "whoosh", documents, grouped=False, limitmb=limitmb)
    pool = write(tmp_path / "grouped", documents, grouped=True, limitmb=limitmb, marks=marks)
    assert isinstance(pool, TermGroupedPool)
    if limitmb < 1:
        assert pool.run_postings < 1000, "a 0.1 MB pool must spill runs for this test to test them"
    expected, written = segment_files(tmp_path / "whoosh"), segment_files(tmp_path / "grouped")
    assert {"SEGMENT.pst", "SEGMENT.trm", "SEGMENT._stored.col", "SEGMENT._body_len.col"} <= set(expected)
    assert "SEGMENT.body_marks.col" in expected
    assert sorted(written) == sorted(expected)
    for name, content in expected.items():
        assert written[name] == content, name


def test_the_spilled_runs_are_really_written(tmp_path, documents):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = GroupedSegmentWriter(ix, limitmb=0.1)
    for doc in documents:
        writer.add_document(**to_fields(doc))
    runs = len(writer.pool.runs)
    writer.commit()
    ix.close()
    assert runs >= 2


def test_an_index_with_segments_is_refused(tmp_path, documents):
    write(tmp_path, documents[:5], grouped=True)
    ix = whoosh_index.open_dir(str(tmp_path))
    try:
        with pytest.raises(ValueError, match="fresh indexes only"):
            GroupedSegmentWriter(ix)
    finally:
        ix.close()


def work_of(doc) -> int:
    return len(doc.title) + len(doc.excerpt) + len(doc.body) + DOCUMENT_WORK_CHARS


@pytest.mark.parametrize("parts", [2, 3])
def test_parts_are_contiguous_complete_and_of_about_equal_work(documents, parts):
    shares = split_by_work(documents, parts)
    assert len(shares) == parts
    assert [doc.id for share in shares for doc in share] == [doc.id for doc in documents]
    work = [sum(map(work_of, share)) for share in shares]
    largest = max(map(work_of, documents))
    assert max(work) - min(work) <= 2 * largest, work
    counts = [len(share) for share in shares]
    assert max(counts) - min(counts) > 1, "generated reports make equal work differ from equal counts"


def index_contents(folder) -> tuple[list[dict], dict[tuple[str, bytes], list[tuple[int, float, bytes]]]]:
    """Stored fields in document order, and every term's postings (document, weight, value)."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            stored = [dict(fields) for _, fields in reader.iter_docs()]
            postings = {}
            for fieldname, text in reader.all_terms():
                matcher, found = reader.postings(fieldname, text), []
                while matcher.is_active():
                    found.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
                postings[(fieldname, text)] = found
        return stored, postings
    finally:
        ix.close()


def test_small_blocks_are_written_uncompressed_and_read_back_the_same(tmp_path, documents):
    assert OUR_FORMAT.compress_from > WHOOSHS_FORMAT.compress_from
    write(tmp_path / "whoosh", documents, grouped=False)
    write(tmp_path / "grouped", documents, grouped=True, segment_format=SegmentFormat(2, OUR_FORMAT.compress_from, 3))
    assert index_contents(tmp_path / "grouped") == index_contents(tmp_path / "whoosh")
    whooshs = len(segment_files(tmp_path / "whoosh")["SEGMENT.pst"])
    assert whooshs < len(segment_files(tmp_path / "grouped")["SEGMENT.pst"]) < 1.25 * whooshs


def test_the_builds_blocks_are_read_back_the_same_from_fewer_bytes(tmp_path, documents):
    write(tmp_path / "whoosh", documents, grouped=False)
    write(tmp_path / "grouped", documents, grouped=True, segment_format=OUR_FORMAT)
    assert index_contents(tmp_path / "grouped") == index_contents(tmp_path / "whoosh")
    whooshs, ours = (segment_files(tmp_path / name)["SEGMENT.pst"] for name in ("whoosh", "grouped"))
    # Protocol 2 pickles bytes as a call re-encoding them as text; protocol 5 writes them as they are.
    assert b"_codecs" in whooshs and b"_codecs" not in ours
    assert len(ours) < 0.8 * len(whooshs)


def test_stored_fields_are_kept_uncompressed_and_read_back_the_same(tmp_path, documents):
    """A document's stored fields go into a zlib stream of level 0 (compressing them was 24 of a
    writer's 400 µs a document); Whoosh's reader decompresses it as it does its own."""
    assert OUR_FORMAT.stored_compression == 0 and WHOOSHS_FORMAT.stored_compression == 3
    write(tmp_path / "whoosh", documents, grouped=False)
    write(tmp_path / "grouped", documents, grouped=True, segment_format=OUR_FORMAT)
    assert index_contents(tmp_path / "grouped") == index_contents(tmp_path / "whoosh")
    whooshs, ours = (segment_files(tmp_path / name)["SEGMENT._stored.col"] for name in ("whoosh", "grouped"))
    title = documents[0].title.encode("utf-8")
    assert title in ours and title not in whooshs
    assert len(whooshs) < len(ours) < 2.5 * len(whooshs)


def test_a_build_in_parallel_parts_holds_what_one_writer_writes(tmp_path, documents):
    write(tmp_path / "one", documents, grouped=True)
    (tmp_path / "parts").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "parts"), build_schema())
    try:
        _write_in_parts(ix, tmp_path / "parts", documents, 2, None, None)
    finally:
        ix.close()
    assert len(whoosh_index.open_dir(str(tmp_path / "parts"))._segments()) == 2
    assert index_contents(tmp_path / "parts") == index_contents(tmp_path / "one")


def test_the_callers_other_work_runs_while_the_writers_work_and_its_result_comes_back(tmp_path, documents):
    many = (documents * (PARALLEL_WRITE_MIN_DOCUMENTS // len(documents) + 1))[:PARALLEL_WRITE_MIN_DOCUMENTS]
    before = child_processes()
    generation = tmp_path / "parallel"
    generation.mkdir()
    assert write_generation(generation, many, None, lambda: len(child_processes() - before)) == 2  # writers not reaped
    assert child_processes() <= before
    assert not list(generation.glob(f"{PART_PREFIX}*"))
    assert len(whoosh_index.open_dir(str(generation))._segments()) == 2
    # One writer: the other work comes after the writing.
    (tmp_path / "serial").mkdir()
    assert write_generation(tmp_path / "serial", documents[:5], None, lambda: "done") == "done"
    assert whoosh_index.open_dir(str(tmp_path / "serial")).doc_count() == 5


def child_processes() -> set[int]:
    """Processes whose parent is this one (zombies included: an unreaped child is a leak too)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            children.add(int(stat.parent.name))
    return children


def test_a_failure_of_the_other_work_stops_the_writers_and_propagates(tmp_path, documents):
    many = (documents * (PARALLEL_WRITE_MIN_DOCUMENTS // len(documents) + 1))[:PARALLEL_WRITE_MIN_DOCUMENTS]
    before = child_processes()
    seen_writers = []

    def fails():
        seen_writers.extend(child_processes() - before)
        raise RuntimeError("the other work failed")

    with pytest.raises(RuntimeError, match="the other work failed"):
        write_generation(tmp_path, many, None, fails)
    assert len(seen_writers) == 2
    assert child_processes() <= before


def test_stories_made_while_the_writers_start_are_written_as_if_made_before(tmp_path, parsed_files):
    assigned_first = assemble(parsed_files).documents
    assert len({doc.story for doc in assigned_first}) < len(assigned_first), "some stories must have several items"
    later = assemble(parsed_files, stories=False).documents
    assert not any(doc.story for doc in later)
    for name, documents, stories in (("first", assigned_first, None), ("later", later, assign_stories)):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), build_schema())
        try:
            _write_in_parts(ix, tmp_path / name, documents, 2, None, None, stories)
        finally:
            ix.close()
    assert [doc.story for doc in later] == [doc.story for doc in assigned_first]
    assert index_contents(tmp_path / "later") == index_contents(tmp_path / "first")


def cpu_seconds(pids: set[int]) -> float:
    """User and system CPU time the processes ``pids`` have used."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def test_the_writers_add_their_documents_while_the_stories_are_made(tmp_path, documents):
    many = (documents * 6)[: 3 * PARALLEL_WRITE_MIN_DOCUMENTS]
    before = child_processes()
    spent = []

    def slow_stories(_documents):
        writers = child_processes() - before
        time.sleep(0.05)
        start = cpu_seconds(writers)
        time.sleep(0.8)
        spent.append(cpu_seconds(writers) - start)

    write_generation(tmp_path, many, None, None, slow_stories)
    # Waiting for the stories, the writers would use no CPU at all.
    assert spent[0] >= 0.1, spent
    assert whoosh_index.open_dir(str(tmp_path)).doc_count() == len(many)


def test_a_writer_adds_every_document_before_it_reads_the_stories(tmp_path, documents):
    """The stories are sent only once the writer has said it added the last document: a writer that
    waited for them first would never get there."""
    share = documents[:40]
    stories = [f"s-{number}" for number in range(len(share))]
    receiving, sending = os.pipe()
    all_added = threading.Event()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "indexing" and done == total:
            all_added.set()

    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = threading.Thread(target=writing._write, args=(ix, [], share, progress, True, receiving))
    writer.start()
    try:
        assert all_added.wait(timeout=60), "the writer did not add its documents before the stories came"
    finally:
        writing.send_values(sending, stories)
        writer.join()
    reader = whoosh_index.open_dir(str(tmp_path)).reader()
    story_of = story_reader(reader)
    assert [story_of(n) for n in range(reader.doc_count_all())] == stories
    assert [fields["id"] for _, fields in reader.iter_docs()] == [doc.id for doc in share]
    assert not any(STORY_FIELD in fields for _, fields in reader.iter_docs())  # a column, not a stored field


def test_only_a_column_only_field_is_written_at_the_end_and_only_for_every_document(tmp_path, documents):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = GroupedSegmentWriter(ix)
    try:
        for doc in documents[:3]:
            fields = to_fields(doc)
            del fields[STORY_FIELD]
            writer.add_document(**fields)
        with pytest.raises(ValueError, match="not a column-only field"):
            writer.add_column("title", ["a", "b", "c"])
        with pytest.raises(ValueError, match="2 values"):
            writer.add_column(STORY_FIELD, ["a", "b"])
        writer.add_column(STORY_FIELD, ["a", "b", "c"])
        with pytest.raises(ValueError, match="already"):
            writer.add_column(STORY_FIELD, ["a", "b", "c"])
    finally:
        writer.cancel()
