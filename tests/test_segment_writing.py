"""How a build writes segments: exactly Whoosh's bytes, faster, in balanced parallel parts.

``indexer.segment_writing`` keeps postings by term and writes them a block at
a time; every file inside the segment it writes must equal, byte for byte,
the one Whoosh's own ``SegmentWriter`` writes for the same documents, with
its pool in memory and when it spills runs to disk. A build splits its
documents into contiguous parts of about equal work, one writer process
each; the joined index must hold what one writer writes.
"""

from __future__ import annotations

import sys

import pytest
from whoosh import index as whoosh_index

from indexer.build import _read_one
from indexer.corpus import assemble
from indexer.schema import build_schema, to_fields
from indexer.segment_writing import GroupedSegmentWriter, TermGroupedPool
from indexer.sources import discover
from indexer.writing import DOCUMENT_WORK_CHARS, _write_in_parts, split_by_work
from tests.conftest import REPO, SEEDS

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import Generator


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segment-sources")
    Generator(seed=11, report_share=0.05).write(700, folder / "generated")
    parsed = [_read_one((source, None)) for source in discover([SEEDS, folder / "generated"])]
    return assemble(parsed).documents


def write(folder, documents, grouped: bool, limitmb: int = 256):
    """Index ``documents`` into a new index in ``folder`` with one writer; returns that writer's pool."""
    folder.mkdir(exist_ok=True)
    ix = whoosh_index.create_in(str(folder), build_schema())
    writer = GroupedSegmentWriter(ix, limitmb=limitmb) if grouped else ix.writer(limitmb=limitmb)
    pool = writer.pool
    for doc in documents:
        writer.add_document(**to_fields(doc))
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
@pytest.mark.parametrize("limitmb", [256, 0.1], ids=["in memory", "spilled runs"])
def test_every_segment_file_equals_whooshs_own(tmp_path, documents, limitmb):
    write(tmp_path / "whoosh", documents, grouped=False, limitmb=limitmb)
    pool = write(tmp_path / "grouped", documents, grouped=True, limitmb=limitmb)
    assert isinstance(pool, TermGroupedPool)
    if limitmb < 1:
        assert pool.run_postings < 1000, "a 0.1 MB pool must spill runs for this test to test them"
    expected, written = segment_files(tmp_path / "whoosh"), segment_files(tmp_path / "grouped")
    assert {"SEGMENT.pst", "SEGMENT.trm", "SEGMENT._stored.col", "SEGMENT._body_len.col"} <= set(expected)
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


def index_contents(folder) -> tuple[list[dict], dict[tuple[str, bytes], list[tuple[int, float]]]]:
    """Stored fields in document order, and every term's postings (document, weight)."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            stored = [dict(fields) for _, fields in reader.iter_docs()]
            postings = {}
            for fieldname, text in reader.all_terms():
                matcher = reader.postings(fieldname, text)
                postings[(fieldname, text)] = [(docnum, weight) for docnum, weight in matcher.items_as("weight")]
        return stored, postings
    finally:
        ix.close()


def test_a_build_in_parallel_parts_holds_what_one_writer_writes(tmp_path, documents):
    write(tmp_path / "one", documents, grouped=True)
    (tmp_path / "parts").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "parts"), build_schema())
    try:
        _write_in_parts(ix, tmp_path / "parts", documents, 2, None)
    finally:
        ix.close()
    assert len(whoosh_index.open_dir(str(tmp_path / "parts"))._segments()) == 2
    assert index_contents(tmp_path / "parts") == index_contents(tmp_path / "one")
