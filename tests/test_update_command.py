"""``python -m indexer update``: re-read only what changed and give the same index as a rebuild."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from indexer.catalog import CATALOG_FILE, CATALOG_FORMAT, catalog_header, fingerprint, load_catalog, load_fingerprints
from indexer.documents import Document
from indexer.store.generations import current_generation, read_pointer, writer_lock
from indexer.store.schema import stored_documents as documents_with_bodies
from search_web.whoosh_engine import SearchIndex
from tests.conftest import SEEDS, run_indexer, write_news_records


def stored_documents(index_dir: Path) -> dict[str, dict]:
    index = SearchIndex(index_dir)
    try:
        return {s["id"]: s for s in documents_with_bodies(index.generation().searcher().reader())}
    finally:
        index.close()


def update(sources: Path, index: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    summary_path = tmp_path / "update.json"
    result = run_indexer("update", str(sources), "--index", str(index), "--summary-json", str(summary_path), *extra)
    assert result.returncode == 0, result.stderr
    return result, json.loads(summary_path.read_text("utf-8"))


def test_update_rereads_only_changed_files_and_equals_a_rebuild(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 40, related=2)
    shutil.copytree(SEEDS, sources / "seeds")
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    before = stored_documents(index)
    assert len(before) == 40 * 3 + 3

    (sources / "r1.md").write_text((sources / "r1.md").read_text("utf-8").replace("Sanctions item 1", "Tariffs 1"))
    (sources / "r2.md").unlink()  # its two related articles must go with it
    write_news_records(sources, 1, start=100, related=2)
    result, summary = update(sources, index, tmp_path)

    assert summary["command"] == "update" and summary["swapped"] is True
    assert summary["added"] == {"files": ["src/r100.md"], "documents": 3}
    assert summary["updated"] == {"files": ["src/r1.md"], "documents": 1}
    assert summary["deleted"] == {"files": ["src/r2.md"], "documents": 3}
    assert summary["unchanged_files"] == 40 - 2 + 2  # 38 records and the 2 seed files
    assert summary["skipped"] == [] and summary["documents_indexed"] == 40 * 3 + 3
    # Only the changed documents went through the analyser, not the whole index.
    assert "indexer: indexing 4 documents" in result.stderr

    after = stored_documents(index)
    assert after[next(i for i, d in after.items() if d["source"] == "r1.md" and d["kind"] == "news")]["title"] == (
        "Tariffs 1"
    )
    assert not any(d["source"] == "r2.md" for d in after.values())
    assert sum(d["source"] == "r100.md" for d in after.values()) == 3

    assert run_indexer("build", str(sources), "--index", str(tmp_path / "rebuilt")).returncode == 0
    assert after == stored_documents(tmp_path / "rebuilt")
    fingerprints = load_fingerprints(current_generation(index))
    assert fingerprints == load_fingerprints(current_generation(tmp_path / "rebuilt"))


def test_update_keeps_unchanged_segments_instead_of_rewriting_them(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 20)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    old_segments = {p.name: p.stat().st_ino for p in current_generation(index).glob("*.seg")}
    write_news_records(sources, 1, start=50)
    update(sources, index, tmp_path)
    new_segments = {p.name: p.stat().st_ino for p in current_generation(index).glob("*.seg")}
    shared = {name for name in old_segments if new_segments.get(name) == old_segments[name]}
    assert shared, "the unchanged segment should be hard-linked into the new generation"


def test_touched_but_unchanged_files_are_not_reread(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 5)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    live = current_generation(index)
    later = time.time() + 60
    for path in sources.iterdir():
        os.utime(path, (later, later))
    result, summary = update(sources, index, tmp_path)
    assert summary["swapped"] is False and summary["unchanged_files"] == 5
    assert summary["added"]["files"] == summary["updated"]["files"] == summary["deleted"]["files"] == []
    assert "nothing changed" in result.stdout and current_generation(index) == live


def test_same_mtime_but_changed_content_is_reread(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 5)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    path = sources / "r3.md"
    stat = path.stat()
    path.write_text(path.read_text("utf-8").replace("Sanctions item 3", "Sanctions item 3 revised"), "utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    _, summary = update(sources, index, tmp_path)
    assert summary["updated"] == {"files": ["src/r3.md"], "documents": 1}


def test_update_without_an_index_builds_in_full(tmp_path):
    sources = tmp_path / "src"
    write_news_records(sources, 3)
    _, summary = update(sources, tmp_path / "ix", tmp_path)
    assert summary["documents_indexed"] == 3 and summary["added"]["documents"] == 3
    assert "built in full" in summary["note"]


@pytest.mark.parametrize("damage", ["truncated", "another document model", "not a catalog", "missing"])
def test_an_update_builds_in_full_from_a_catalog_it_cannot_use(tmp_path, damage):
    """The catalog's records are pickled parse results: cut short, written for another document model
    (its header names Document's fields), or no catalog at all, and the update re-reads every file
    (and says so) instead of trusting it; the index equals a rebuild."""
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 6, related=1)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    catalog = current_generation(index) / CATALOG_FILE
    assert load_catalog(current_generation(index)) is not None
    if damage == "truncated":
        catalog.write_bytes(catalog.read_bytes()[:-20])
    elif damage == "another document model":
        records = catalog.read_bytes()
        _header, rest = pickle.loads(records), records[len(pickle.dumps(catalog_header())) :]
        catalog.write_bytes(pickle.dumps(("geosearch catalog", CATALOG_FORMAT, ("id", "title"))) + rest)
    elif damage == "not a catalog":
        catalog.write_text('{"relpath": "r1.md"}\n', "utf-8")
    else:
        catalog.unlink()
    assert load_catalog(current_generation(index)) is None
    (sources / "r1.md").write_text((sources / "r1.md").read_text("utf-8").replace("Sanctions item 1", "Tariffs 1"))
    _, summary = update(sources, index, tmp_path)
    assert "built in full" in summary["note"]
    assert summary["unchanged_files"] == 5 and summary["updated"]["files"] == ["src/r1.md"]
    assert run_indexer("build", str(sources), "--index", str(tmp_path / "rebuilt")).returncode == 0
    assert stored_documents(index) == stored_documents(tmp_path / "rebuilt")
    assert load_catalog(current_generation(index)) is not None  # the update wrote a sound one


def test_update_defaults_to_the_folders_of_the_live_index(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 3)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    write_news_records(sources, 1, start=3)
    result = run_indexer("update", "--index", str(index), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    assert len(stored_documents(index)) == 4


def test_update_reports_skipped_files_it_read(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 3)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    (sources / "broken.md").write_text("---\ntitle: [unclosed\n---\n", "utf-8")
    _, summary = update(sources, index, tmp_path)
    assert [s["path"] for s in summary["skipped"]] == ["broken.md"]
    assert summary["skipped"][0]["reason"].startswith("line 3: broken YAML")
    assert summary["documents_indexed"] == 3
    write_news_records(sources, 1, start=3)
    _, summary = update(sources, index, tmp_path)
    assert summary["skipped"] == []  # still broken, but not read again: no news to report
    assert summary["documents_indexed"] == 4


def test_a_second_writer_process_gets_index_busy(tmp_path):
    sources, index = tmp_path / "src", tmp_path / "ix"
    write_news_records(sources, 40)
    assert run_indexer("build", str(sources), "--index", str(index)).returncode == 0
    live = read_pointer(index)["generation"]
    # The lock a running build holds (taken here, so that no race with a quick build decides the test).
    with writer_lock(index):
        for command in ("update", "build"):
            second = run_indexer(command, str(sources), "--index", str(index))
            assert second.returncode == 3, second.stderr
            assert "index busy" in second.stderr
    assert read_pointer(index)["generation"] == live
    assert run_indexer("update", str(sources), "--index", str(index)).returncode == 0  # free again


def full_document(**changes) -> Document:
    """A document with every field the index holds set (built afresh each call)."""
    values = {
        "id": "u-1",
        "kind": "news",
        "title": "Chip export controls",
        "source": "news/a.md",
        "excerpt": "Export controls tighten.",
        "body": "Café body ✓ " * 3,
        "url": "https://example.org/a",
        "url_text": "",
        "amp_url": "https://example.org/a/amp",
        "provider": "Example",
        "provider_domain": "example.org",
        "topics": ["Trade", "Chips"],
        "published": dt.datetime(2024, 5, 1, 8, 0),
        "authors": ["A. Writer"],
        "editors": ["E. Ditor"],
        "parent_id": "",
        "related_ids": ["u-2"],
        "quality": 3,
        "language": "en",
        "page_starts": [0],
        "countries": ["US", "CN"],
        "story": "s-1",
    }
    return Document(**(values | changes))


def test_a_fingerprint_changes_with_every_value_the_index_holds_and_only_with_them():
    """Updates rewrite exactly the documents whose fingerprint changed: equal documents must hash
    equal, and any change of what the index holds (the body included, text moved between the body
    and another field included) must change the hash."""
    base = fingerprint(full_document())
    assert fingerprint(full_document()) == base
    changes = {
        "kind": "related",
        "title": "Chip export control",
        "source": "news/b.md",
        "excerpt": "Export controls tighten",
        "body": "Cafe body ✓ " * 3,
        "url": "https://example.org/b",
        "url_text": "ftp://example.org/a",
        "amp_url": "",
        "provider": "Example Inc",
        "provider_domain": "example.com",
        "topics": ["Chips", "Trade"],
        "published": dt.datetime(2024, 5, 1, 8, 1),
        "authors": ["A. Writer", "B"],
        "editors": [],
        "parent_id": "u-0",
        "related_ids": [],
        "quality": 4,
        "language": "fr",
        "page_starts": [0, 10],
        "countries": ["US"],
        "story": "s-2",
    }
    fingerprints = {name: fingerprint(full_document(**{name: value})) for name, value in changes.items()}
    assert base not in fingerprints.values(), [n for n, f in fingerprints.items() if f == base]
    assert len(set(fingerprints.values())) == len(changes)
    moved = full_document(excerpt="Export controls tighten. Café", body="body ✓ " + "Café body ✓ " * 2)
    assert fingerprint(moved) != base
    assert fingerprint(full_document(body="")) != fingerprint(full_document(body="\0"))
