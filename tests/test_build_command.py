"""``python -m indexer build``: summary, exit codes, bad files, determinism, staleness."""

from __future__ import annotations

import gc
import json
import multiprocessing
import multiprocessing.pool
import os
import shutil
from pathlib import Path

import pytest

from benchmarks.generate import Generator
from indexer.analysis import EnglishTokenizer
from indexer.build import (
    PARALLEL_PARSE_MIN_FILES,
    NothingIndexed,
    _map_files,
    _prefetched,
    _read_and_pack,
    _read_one,
    run_build,
)
from indexer.catalog import fingerprint, load_catalog, load_fingerprints, unpack_parsed
from indexer.corpus import assemble
from indexer.documents import Document
from indexer.sources import discover
from indexer.store.generations import SPELLING_FILE, current_generation, read_pointer
from indexer.store.schema import spelling_words, stored_documents
from indexer.writing import PARALLEL_WRITE_MIN_DOCUMENTS
from search_web.whoosh_engine import SearchIndex
from tests.conftest import SEEDS, run_indexer

GOOD_NEWS = """---
title: "Good record"
excerpt: "Semiconductor export controls tighten"
publishedDateTime: 2021-03-04T05:06:07+02:00
sourceUrl: https://example.org/good
provider:
  name: Example
  domain: example.org
topics: [AI, Chips]
---
Body text after the front matter.
"""


def write_bad_and_good(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.md").write_text(GOOD_NEWS, "utf-8")
    (folder / "broken.md").write_text("---\ntitle: [unclosed\nexcerpt: x\n---\n", "utf-8")
    (folder / "list.md").write_text("---\n- a\n- b\n---\n", "utf-8")
    (folder / "empty.txt").write_text("", "utf-8")
    (folder / "blank.md").write_text("   \n\n", "utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (folder / "unclosed.md").write_text("---\ntitle: x\n", "utf-8")
    (folder / "nothing.md").write_text("---\nquality: 3\n---\n", "utf-8")
    (folder / "title-only.txt").write_text("Just a title\n\n", "utf-8")
    (folder / "latin1.txt").write_bytes(
        "Rapport sur la sécurité\n\nLa Commission européenne a publié un rapport détaillé.".encode("latin-1")
    )
    (folder / "2022-05-06-dated-report.txt").write_text(
        "Dated report\n\nAuthor: A. Writer\n\nText of the dated report here.", "utf-8"
    )


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(tmp_path):
    sources = tmp_path / "src"
    write_bad_and_good(sources)
    summary_path = tmp_path / "summary.json"
    result = run_indexer("build", str(sources), "--index", str(tmp_path / "ix"), "--summary-json", str(summary_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text("utf-8"))
    assert {"files_seen", "documents_indexed", "documents_by_kind", "skipped", "warnings", "seconds"} <= set(summary)
    assert summary["command"] == "build" and summary["swapped"] is True
    assert len(summary["added"]["files"]) == 11 and summary["added"]["documents"] == 3
    assert summary["files_seen"] == 11
    reasons = {s["path"]: s["reason"] for s in summary["skipped"]}
    assert set(reasons) == {
        "broken.md",
        "list.md",
        "empty.txt",
        "blank.md",
        "binary.txt",
        "unclosed.md",
        "nothing.md",
        "title-only.txt",
    }
    assert reasons["broken.md"].startswith("line 3: broken YAML")
    assert "not a mapping" in reasons["list.md"]
    assert "empty" in reasons["empty.txt"] and "empty" in reasons["blank.md"]
    assert "binary" in reasons["binary.txt"]
    assert "never closed" in reasons["unclosed.md"]
    assert "nothing to index" in reasons["nothing.md"] and "nothing to index" in reasons["title-only.txt"]
    assert summary["documents_by_kind"] == {"news": 1, "report": 2}
    assert summary["documents_indexed"] == 3
    assert isinstance(summary["seconds"], float)
    assert "Skipped 8 files" in result.stdout and "broken.md: line 3" in result.stdout

    index = SearchIndex(tmp_path / "ix")
    stored = {s["source"]: s for s in stored_documents(index.generation().searcher().reader())}
    index.close()
    assert stored["latin1.txt"]["title"] == "Rapport sur la sécurité"  # decoded, not dropped
    assert stored["2022-05-06-dated-report.txt"]["published"].isoformat() == "2022-05-06T00:00:00"
    assert stored["2022-05-06-dated-report.txt"]["authors"] == ["A. Writer"]
    good = stored["good.md"]
    assert good["published"].isoformat() == "2021-03-04T03:06:07"  # +02:00 converted to UTC
    assert good["body"] == "Body text after the front matter."
    assert good["topics"] == ["AI", "Chips"]


def test_exit_1_when_nothing_could_be_indexed(tmp_path):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "empty.md").write_text("", "utf-8")
    result = run_indexer("build", str(sources), "--index", str(tmp_path / "ix"))
    assert result.returncode == 1
    assert "nothing could be indexed" in result.stderr
    assert read_pointer(tmp_path / "ix") is None


def test_the_catalog_is_written_while_reading_and_its_scratch_file_never_outlives_a_run(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_bad_and_good(sources)
    index.mkdir()
    (index / ".catalog-records-4242.tmp").write_text("left by a killed run\n", "utf-8")
    (index / ".catalog-lines-4343.tmp").write_text("left by a killed run of a version before\n", "utf-8")
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    assert not list(index.glob(".catalog-*"))
    built = load_catalog(current_generation(index))
    assert sorted(key.rsplit("/", 1)[1] for key in built.files) == sorted(p.name for p in sources.iterdir())
    (sources / "good.md").write_text(GOOD_NEWS.replace("Good record", "Better record"), "utf-8")
    assert run_indexer("update", str(sources), "--index", str(index)).returncode == 0
    updated = load_catalog(current_generation(index))
    assert updated.files.keys() == built.files.keys()
    changed = [key for key in built.files if updated.files[key] != built.files[key]]
    assert len(changed) == 1 and changed[0].endswith("/good.md")  # unchanged files keep their records
    assert [doc.title for doc in updated.parsed(changed[0]).documents] == ["Better record"]
    for path in sources.iterdir():
        path.unlink()
    (sources / "empty.md").write_text("", "utf-8")
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 1
    assert not list(index.glob(".catalog-*"))


def test_exit_2_on_usage_errors(tmp_path):
    assert run_indexer("build", str(tmp_path / "missing")).returncode == 2
    assert run_indexer("build", "--no-such-option").returncode == 2
    assert run_indexer().returncode == 2


def test_defaults_are_seeds_and_index_data(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    result = run_indexer("build", "--summary-json", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert current_generation(tmp_path / "index_data") is not None
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["documents_by_kind"] == {"news": 1, "related": 1, "report": 1}


def test_rebuild_gives_same_ids_and_stored_fields(tmp_path):
    from tests.conftest import CORPUS

    sources = [SEEDS] + ([CORPUS / "news-ai", CORPUS / "reports"] if CORPUS.is_dir() else [])
    args = [str(s) for s in sources]
    snapshots = []
    for name in ("one", "two"):
        assert run_indexer("build", *args, "--index", str(tmp_path / name)).returncode == 0
        index = SearchIndex(tmp_path / name)
        docs = {s["id"]: s for s in stored_documents(index.generation().searcher().reader())}
        index.close()
        snapshots.append(docs)
    assert len(snapshots[0]) >= 3
    assert snapshots[0].keys() == snapshots[1].keys()
    assert snapshots[0] == snapshots[1]


def test_if_stale_skips_an_up_to_date_index_and_rebuilds_after_a_change(tmp_path):
    sources = tmp_path / "src"
    shutil.copytree(SEEDS, sources)
    index = tmp_path / "ix"
    assert run_indexer("build", str(sources), "--index", str(index), "--if-stale").returncode == 0
    first = current_generation(index)
    again = run_indexer("build", str(sources), "--index", str(index), "--if-stale")
    assert "up to date" in again.stdout and current_generation(index) == first
    (sources / "000_4f1eaadcec2915f8.txt").touch()  # same content: still fresh
    assert "up to date" in run_indexer("build", str(sources), "--index", str(index), "--if-stale").stdout
    (sources / "new.md").write_text(GOOD_NEWS, "utf-8")
    changed = run_indexer("build", str(sources), "--index", str(index), "--if-stale")
    assert changed.returncode == 0 and "changed" in changed.stdout
    assert current_generation(index) != first


def test_second_writer_gets_index_busy(tmp_path):
    from indexer.store.generations import writer_lock

    with writer_lock(tmp_path / "ix"):
        result = run_indexer("build", str(SEEDS), "--index", str(tmp_path / "ix"))
    assert result.returncode == 3
    assert "index busy" in result.stderr


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_news_detected_by_content_not_extension(tmp_path, suffix):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / f"record{suffix}").write_text(GOOD_NEWS, "utf-8")
    (sources / f"report{'.md' if suffix == '.txt' else '.txt'}").write_text("# A report\n\nSome text here.", "utf-8")
    assert (
        run_indexer(
            "build", str(sources), "--index", str(tmp_path / "ix"), "--summary-json", str(tmp_path / "s.json")
        ).returncode
        == 0
    )
    assert json.loads((tmp_path / "s.json").read_text())["documents_by_kind"] == {"news": 1, "report": 1}


def test_only_fields_searched_as_words_have_terms(seed_index):
    """Dates, providers, years and stories are columns: indexing their terms made builds 2.6 times slower."""
    from search_web.query import FIELD_ALIASES

    index = SearchIndex(seed_index)
    try:
        reader = index.generation().searcher().reader()
        fields_with_terms = {fieldname for fieldname, _ in reader.all_terms()}
        columns = {name for name in ("provider", "year", "date_key", "story") if reader.has_column(name)}
    finally:
        index.close()
    assert fields_with_terms >= {"id", "title", "body"}
    assert fields_with_terms <= {"id", *(name for names in FIELD_ALIASES.values() for name in names)}
    assert columns == {"provider", "year", "date_key", "story"}


def test_a_build_gives_the_garbage_collector_back_as_it_found_it(tmp_path):
    """Reading and assembling run with the cyclic collector paused, and what they made is then frozen
    out of its sight until the run ends; whatever the outcome, both are restored."""
    assert gc.isenabled() and gc.get_freeze_count() == 0
    run_build([SEEDS], tmp_path / "index")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingIndexed):
        run_build([tmp_path / "empty"], tmp_path / "other")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        run_build([SEEDS], tmp_path / "third")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_build_keeps_what_it_read_out_of_the_collector_s_sight_while_it_writes(tmp_path):
    """Once read and assembled, the documents are frozen (``gc.freeze``): the first collections after the
    collector resumed walked every one of them, 8 s at a million documents. Objects frozen before the
    build stay frozen after it."""
    frozen_while_writing = []

    def progress(stage: str, _done: int, _total: int) -> None:
        if stage == "indexing":
            frozen_while_writing.append(gc.get_freeze_count())

    run_build([SEEDS], tmp_path / "index", progress)
    assert frozen_while_writing and min(frozen_while_writing) > 0, "not frozen while the index was written"
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen_before = gc.get_freeze_count()
        run_build([SEEDS], tmp_path / "again")
        assert gc.get_freeze_count() >= frozen_before
    finally:
        gc.unfreeze()


def test_no_collection_of_the_building_process_walks_what_reading_made(tmp_path):
    """What reading and assembly made (with the collector paused) is frozen before the collector
    resumes. Frozen after, the first young-generation collection walked every document: 8 s on one
    core at a million documents."""
    Generator(seed=5, report_share=0).write(1500, tmp_path / "sources")
    building = os.getpid()
    read_all: list[bool] = []
    documents_walked: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "reading" and done == total:
            read_all.append(True)

    def watch(phase: str, info: dict) -> None:
        if phase == "start" and read_all and info["generation"] < 2 and os.getpid() == building:
            young = (o for g in range(info["generation"] + 1) for o in gc.get_objects(g))
            documents_walked.append(sum(type(o) is Document for o in young))

    gc.callbacks.append(watch)
    try:
        summary = run_build([tmp_path / "sources"], tmp_path / "index", progress)
    finally:
        gc.callbacks.remove(watch)
    assert summary.documents_indexed >= 1500
    assert documents_walked, "no young collection after reading: nothing was observed"
    assert max(documents_walked) == 0, documents_walked


def test_the_spelling_dictionary_counts_each_word_once_per_document(tmp_path):
    """The did-you-mean dictionary is, per document, the set of unstemmed terms of its title and
    excerpt, counted over documents: checked against that plain definition."""
    Generator(seed=9, report_share=0.1).write(300, tmp_path / "sources")
    documents = assemble([_read_one((source, None)) for source in discover([tmp_path / "sources"])]).documents
    edge_texts = [
        ("Café’s café CAFÉ the it", "U.S. exports—and the U.S.'s; x'y o'neill"),
        ("", "word word word"),
        ("Ending with word", "word starting"),
        ("a " * 50 + "Ünïcödé", "ünïcödé " + "x" * 41),
    ]
    documents += [
        Document(id=f"edge-{n}", kind="report", title=title or "untitled", source="s", excerpt=excerpt)
        for n, (title, excerpt) in enumerate(edge_texts)
    ]
    tokenizer = EnglishTokenizer(stem=False)
    plain: dict[str, int] = {}
    for doc in documents:
        for word in set(tokenizer.terms(f"{doc.title}\n{doc.excerpt}")):
            plain[word] = plain.get(word, 0) + 1
    assert spelling_words(documents) == plain
    assert plain["word"] == 2 and plain["cafe"] == 1 and "the" not in plain


def test_a_parallel_build_writes_the_fingerprints_and_spelling_of_its_documents(tmp_path):
    """A build makes these while its writer processes work; they must be those of the documents it wrote."""
    Generator(seed=5, report_share=0.05).write(PARALLEL_WRITE_MIN_DOCUMENTS, tmp_path / "sources")
    summary = run_build([tmp_path / "sources"], tmp_path / "index")
    documents = assemble([_read_one((source, None)) for source in discover([tmp_path / "sources"])]).documents
    assert summary.documents_indexed == len(documents) >= PARALLEL_WRITE_MIN_DOCUMENTS
    assert summary.documents_added == len(documents) and summary.documents_deleted == 0
    generation = current_generation(tmp_path / "index")
    assert load_fingerprints(generation) == {doc.id: fingerprint(doc) for doc in documents}
    assert json.loads((generation / SPELLING_FILE).read_text("utf-8")) == spelling_words(documents)
    assert len(load_catalog(generation).files) == PARALLEL_WRITE_MIN_DOCUMENTS


def test_files_are_handed_to_the_parse_workers_in_order_after_a_read_ahead_request(tmp_path):
    """The prefetch is advice to the kernel: every task passes unchanged, a vanished file included."""
    Generator(seed=6, report_share=0.1).write(40, tmp_path / "sources")
    (tmp_path / "sources" / "vanished.md").write_text(GOOD_NEWS, "utf-8")
    tasks = [(source, None) for source in discover([tmp_path / "sources"])]
    (tmp_path / "sources" / "vanished.md").unlink()
    assert list(_prefetched(tasks)) == tasks
    parsed = [unpack_parsed(packed) for packed in map(_read_and_pack, _prefetched(tasks))]
    vanished = [item for item in parsed if item.relpath == "vanished.md"]
    assert len(vanished) == 1 and "cannot read file" in vanished[0].skipped
    assert sum(len(item.documents) for item in parsed) >= 40


def test_the_parse_pool_s_worker_handler_does_not_spin_while_results_wait(tmp_path, monkeypatch):
    """CPython's pool wakes its worker-handling thread whenever a result waits unread, and it
    loops until the result is read: CPU taken from the parse workers. Ours waits for worker
    exits and pool changes only; it must still hand back every file's result in order."""
    wakeups = []
    stock_wait = multiprocessing.pool.Pool._wait_for_updates

    def counted_wait(sentinels, change_notifier, timeout=None):
        wakeups.append(1)
        return stock_wait(sentinels, change_notifier, timeout)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_wait_for_updates", staticmethod(counted_wait))
    Generator(seed=7, report_share=0.05).write(PARALLEL_PARSE_MIN_FILES, tmp_path / "sources")
    tasks = [(source, None) for source in discover([tmp_path / "sources"])]
    parsed = [unpack_parsed(packed) for packed in _map_files(tasks)]
    ours = len(wakeups)
    assert [item.relpath for item in parsed] == [source.relpath for source, _ in tasks]
    del wakeups[:]
    with multiprocessing.get_context("fork").Pool(2) as stock:
        stock_parsed = [unpack_parsed(packed) for packed in stock.imap(_read_and_pack, tasks, chunksize=32)]
    assert stock_parsed == parsed
    print(f"worker handler wakeups: ours {ours}, stock {len(wakeups)}")
    assert ours <= 5  # start, the last result, the pool's end
    assert len(wakeups) > 50  # the stock pool, on the same files: thousands here
