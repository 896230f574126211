"""Bodies live in a column of their own, uncompressed, not among the compressed stored fields.

Every hit and document page reads its body from there (``indexer.store.schema.body_reader``);
the body must be the document's, whatever segment it is in and after an update merged
segments, and a result that shows no body must not read one.
"""

from __future__ import annotations

from pathlib import Path

from indexer.store.schema import BODY_COLUMN
from indexer.writing import PARALLEL_WRITE_MIN_DOCUMENTS
from search_web.engine import SearchRequest
from search_web.whoosh_engine import SearchIndex
from tests.conftest import SEEDS, run_indexer

REPORT = "Report {number}: Zürich talks\n\nAuthor: Ana Núñez\n\n{body}\n"


def body_of(number: int) -> str:
    # Non-ASCII text and a length that differs per report: a body read at the wrong offset shows.
    return f"Paragraph on semiconductor policy {number} — 中国 and the EU. " * (number % 7 + 1)


def write_reports(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / f"2024-01-{number % 28 + 1:02d}-report-{number}.txt").write_text(
            REPORT.format(number=number, body=body_of(number)), "utf-8"
        )


def documents_by_title(index_dir: Path) -> dict[str, dict]:
    index = SearchIndex(index_dir)
    try:
        gen = index.generation()
        reader = gen.searcher().reader()
        assert reader.has_column(BODY_COLUMN)
        found = {}
        for _, stored in reader.iter_docs():
            assert "body" not in stored, "the body is kept in its column, not among the stored fields"
            found[stored["title"]] = index.document(stored["id"])
        return found
    finally:
        index.close()


def test_every_document_reads_its_own_body_across_parallel_segments(tmp_path):
    count = PARALLEL_WRITE_MIN_DOCUMENTS + 200  # written by parallel writers: several segments
    write_reports(tmp_path / "reports", count)
    result = run_indexer("build", str(tmp_path / "reports"), str(SEEDS), "--index", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    documents = documents_by_title(tmp_path / "index")
    for number in range(count):
        assert documents[f"Report {number}: Zürich talks"]["body"] == body_of(number).strip()
    announcement = [doc for doc in documents.values() if doc["body"].startswith("We are proud to announce")]
    assert len(announcement) == 1  # the seed report
    assert any(doc["body"] == "" for doc in documents.values())  # a news record without a body


def test_bodies_stay_with_their_documents_when_an_update_merges_segments(tmp_path):
    write_reports(tmp_path / "reports", 30)
    assert run_indexer("build", str(tmp_path / "reports"), "--index", str(tmp_path / "index")).returncode == 0
    for number in (3, 17):  # changed bodies, rewritten by the update
        path = next((tmp_path / "reports").glob(f"*-report-{number}.txt"))
        path.write_text(REPORT.format(number=number, body="Rewritten: " + body_of(number + 1)), "utf-8")
    next((tmp_path / "reports").glob("*-report-9.txt")).unlink()
    assert run_indexer("update", str(tmp_path / "reports"), "--index", str(tmp_path / "index")).returncode == 0
    documents = documents_by_title(tmp_path / "index")
    assert "Report 9: Zürich talks" not in documents
    for number in set(range(30)) - {9}:
        expected = ("Rewritten: " + body_of(number + 1)) if number in (3, 17) else body_of(number)
        assert documents[f"Report {number}: Zürich talks"]["body"] == expected.strip()


def test_snippets_come_from_the_body_column(tmp_path):
    write_reports(tmp_path / "reports", 10)
    assert run_indexer("build", str(tmp_path / "reports"), "--index", str(tmp_path / "index")).returncode == 0
    index = SearchIndex(tmp_path / "index")
    try:
        hits = index.search(SearchRequest(q="semiconductor"), with_corrections=False).hits
    finally:
        index.close()
    assert len(hits) == 10
    # Only the body holds the word (titles and excerpts do not), so each snippet is read from it.
    assert all("<mark>semiconductor</mark>" in hit["snippet"] for hit in hits)
