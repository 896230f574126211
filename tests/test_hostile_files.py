"""Hostile and oversized files: refused fast or cut to size, never a crash, never unbounded memory."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer import sources
from indexer.corpus import ParsedFile, parse_file
from indexer.limits import LIMITS
from indexer.sources import SourceFile
from tests.conftest import REPO, run_indexer, write_news_records

HANG_SECONDS = 5.0  # far above any honest parse of these files; only a hang or an expansion gets near it


def parse(tmp_path: Path, name: str, content: str | bytes) -> tuple[ParsedFile, float]:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, "utf-8")
    else:
        path.write_bytes(content)
    started = time.monotonic()
    parsed = parse_file(SourceFile(tmp_path, name, path))
    return parsed, time.monotonic() - started


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return "---\ntitle: Laughs\nrelated: *j\ntopics: *j\n" + "\n".join(lines) + "\n---\n"


def test_yaml_alias_bomb_is_refused_fast(tmp_path):
    parsed, seconds = parse(tmp_path, "bomb.md", billion_laughs())
    assert parsed.documents == []
    assert parsed.skipped == "line 3: refused YAML front matter: YAML aliases (*name) are refused"
    assert seconds < HANG_SECONDS


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/name:os.system",
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
    ],
)
def test_python_tags_are_refused_and_never_run(tmp_path, tag):
    marker = tmp_path / "ran"
    content = f"---\ntitle: Tagged\nexcerpt: {tag.format(marker=marker)}\n---\n"
    parsed, _ = parse(tmp_path, "tagged.md", content)
    assert parsed.skipped.startswith("line 3: refused YAML front matter: YAML tag !!python/")
    assert not marker.exists()


def test_deep_nesting_in_front_matter_is_refused(tmp_path):
    parsed, seconds = parse(tmp_path, "deep.md", "---\ntitle: " + "[" * 50_000 + "\n---\n")
    assert parsed.skipped == f"line 2: refused YAML front matter: nested more than {LIMITS.max_yaml_depth} levels deep"
    assert seconds < HANG_SECONDS


def test_control_bytes_without_a_nul_are_refused_as_binary(tmp_path):
    parsed, _ = parse(tmp_path, "controls.txt", bytes(range(1, 32)) * 40 + b"some words " * 20)
    assert parsed.documents == [] and parsed.skipped == "binary file, not text"
    # Tabs, newlines and form feeds are text, and a few stray control bytes pass.
    text = "Title line\n\n" + "Column\tvalue\f\r\n" * 200 + "odd \x07 bell\n"
    parsed, _ = parse(tmp_path, "spaced.txt", text.encode("utf-8"))
    assert len(parsed.documents) == 1 and parsed.skipped is None


def test_oversized_front_matter_is_refused(tmp_path):
    padding = "x" * (LIMITS.max_front_matter_chars + 10)
    parsed, _ = parse(tmp_path, "fat.md", f"---\ntitle: Fat\nexcerpt: {padding}\n---\n")
    assert parsed.skipped.startswith("line 2: front matter is 1,000,0")


def test_over_long_body_is_cut_and_the_document_kept(tmp_path):
    words = " ".join(f"word{n % 997}" for n in range(LIMITS.max_body_chars // 4))
    parsed, _ = parse(tmp_path, "long.txt", f"A long report\n\n{words}\n")
    [doc] = parsed.documents
    assert doc.title == "A long report"
    assert len(doc.body) == LIMITS.max_body_chars
    assert any(f"only the first {LIMITS.max_body_chars:,} were kept" in w for w in parsed.warnings)


def test_file_beyond_the_read_limit_is_read_up_to_it_with_a_warning(tmp_path):
    line = "Ünïcode text of a report that goes on and on. " * 20 + "\n"
    content = "A huge report\n\n" + line * (LIMITS.max_read_bytes // len(line.encode()) + 50)
    parsed, _ = parse(tmp_path, "huge.txt", content)
    [doc] = parsed.documents
    assert doc.title == "A huge report"
    assert "Ünïcode" in doc.body and "\ufffd" not in doc.body  # not cut inside a character
    assert parsed.warnings[0].startswith("file is ") and "were read" in parsed.warnings[0]


def test_too_many_related_items_and_topics_are_capped(tmp_path):
    related = "".join(f"  - title: Story {n}\n    sourceUrl: https://x.example/{n}\n" for n in range(700))
    topics = ", ".join(f"topic{n}" for n in range(300))
    parsed, _ = parse(tmp_path, "many.md", f"---\ntitle: Many\ntopics: [{topics}]\nrelated:\n{related}---\n")
    assert len(parsed.documents) == 1 + LIMITS.max_related_items
    assert len(parsed.documents[0].topics) == LIMITS.max_list_values
    assert any("700 related items" in w for w in parsed.warnings)


def test_bad_files_beside_good_ones_lose_nothing_in_a_build(tmp_path):
    sources = tmp_path / "src"
    write_news_records(sources, 5)
    (sources / "bomb.md").write_text(billion_laughs(), "utf-8")
    (sources / "tagged.md").write_text("---\ntitle: x\nexcerpt: !!python/name:os.system\n---\n", "utf-8")
    (sources / "noise.txt").write_bytes(bytes(random.Random(3).randrange(256) for _ in range(5000)))
    summary_path = tmp_path / "summary.json"
    result = run_indexer("build", str(sources), "--index", str(tmp_path / "ix"), "--summary-json", str(summary_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text("utf-8"))
    assert summary["documents_indexed"] == 5
    assert {s["path"] for s in summary["skipped"]} == {"bomb.md", "tagged.md", "noise.txt"}


MEASURE_PEAK = """
import resource, sys
from indexer.cli import main
status = main(["build", sys.argv[1], "--index", sys.argv[2], "--quiet"])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kb(sources: Path, index: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE_PEAK, str(sources), str(index)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    status, peak = result.stdout.split()
    assert status == "0", result.stderr
    return int(peak)


def write_report(folder: Path, megabytes: int) -> None:
    rng = random.Random(megabytes)
    words = ["sanctions", "export", "chips", "drone", "treaty", "ceasefire", "<b>markup</b>", "[link](http://x.org)"]
    line = " ".join(rng.choice(words) + str(rng.randrange(10_000)) for _ in range(2_000)) + "\n"
    folder.mkdir()
    with open(folder / "report.txt", "w", encoding="utf-8") as handle:
        handle.write(f"A {megabytes} MB report\n\n")
        for _ in range(megabytes * 1_000_000 // len(line) + 1):
            handle.write(line)


def test_memory_stays_bounded_while_indexing_a_5_mb_text_file(tmp_path):
    write_report(tmp_path / "five", 5)
    write_report(tmp_path / "twenty", 20)
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "small.txt").write_text("A small report\n\nA line of text.", "utf-8")
    baseline = peak_rss_kb(tmp_path / "small", tmp_path / "ix-small")
    five = peak_rss_kb(tmp_path / "five", tmp_path / "ix-five")
    twenty = peak_rss_kb(tmp_path / "twenty", tmp_path / "ix-twenty")
    # The file is read up to max_read_bytes and its body cut to max_body_chars: the extra
    # memory is a small multiple of those limits and does not grow with the file.
    assert five - baseline < 100 * 1024, f"a 5 MB file took {(five - baseline) // 1024} MB more than a tiny one"
    assert twenty - five < 20 * 1024, f"a 20 MB file took {(twenty - five) // 1024} MB more than a 5 MB one"


@pytest.mark.parametrize("extra", [-2, -1, 0, 1, 2, 5000])
def test_a_file_is_read_whole_up_to_the_limit_and_no_further(tmp_path, monkeypatch, extra):
    """Around the read limit: every byte up to it, none beyond, and the whole size reported."""
    limit = 4096
    monkeypatch.setattr(sources, "LIMITS", dataclasses.replace(sources.LIMITS, max_read_bytes=limit))
    content = bytes(random.Random(extra).randrange(256) for _ in range(limit + extra))
    (tmp_path / "a.txt").write_bytes(content)
    read = sources.read_source(SourceFile(tmp_path, "a.txt", tmp_path / "a.txt"))
    assert read.data == content[:limit]
    assert read.size == len(content) and read.truncated == (len(content) > limit)


def test_a_file_larger_than_it_measured_is_read_on_to_its_end_or_the_limit(monkeypatch):
    """A regular file measured before it grew is read past its measured size. The kernel's files
    in /proc measure 0 bytes and hold more: the same path, every time."""
    proc = Path("/proc/self/mountinfo")
    whole = sources.read_source(SourceFile(proc.parent, proc.name, proc))
    assert os.stat(proc).st_size == 0 and len(whole.data) > 100
    monkeypatch.setattr(sources, "LIMITS", dataclasses.replace(sources.LIMITS, max_read_bytes=64))
    cut = sources.read_source(SourceFile(proc.parent, proc.name, proc))
    assert cut.data == whole.data[:64] and cut.truncated


def test_a_named_pipe_is_refused_at_once_and_never_waited_on(tmp_path):
    """A pipe would block the reader for ever while it holds the writer lock (issue 23): a file that
    became one after it was found is refused when it is opened, without waiting for a writer."""
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    started = time.monotonic()
    parsed = parse_file(SourceFile(tmp_path, "pipe.txt", fifo))
    assert time.monotonic() - started < HANG_SECONDS
    assert parsed.skipped == "cannot read file: not a regular file (it changed since it was found)"
    assert parsed.documents == []
