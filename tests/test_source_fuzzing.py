"""Fuzzing the file reader: any bytes, names and folder shapes; every build finishes, keeps the good.

Hypothesis makes folders of good records beside arbitrary bytes, front matter
with arbitrary values, other encodings, empty files, names that are not
UTF-8, named pipes and links of every kind. The real indexer builds each one
in its own process, and every run must finish in time with exit status 0,
index every good record, and account for every other file: indexed, or named
among the skipped or warned files with a reason; an update right after it
finds nothing changed. (500 examples ran clean before this was committed;
the suite runs 60.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_web.engine import SearchRequest
from search_web.whoosh_engine import SearchIndex
from tests.conftest import REPO

INDEXER = [sys.executable, "-m", "indexer"]
SUFFIXES = [".md", ".txt", ".json", ".jsonl", ".html", ".pdf", ".markdown", ".md~", ""]
NAME_TEXT = st.text(st.sampled_from("abcxyz_- éü0129"), min_size=1, max_size=8)
RAW_NAME = st.one_of(NAME_TEXT.map(os.fsencode), st.binary(min_size=1, max_size=6)).map(
    lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_").lstrip(b".") or b"x"
)
ODD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
CONTENT = st.one_of(
    st.binary(max_size=400),
    ODD_TEXT.map(lambda t: f'---\ntitle: "{t}"\nexcerpt: {t}\n---\n{t}\n'.encode("utf-8", "surrogatepass")),
    ODD_TEXT.map(lambda t: f"---\n{t}\n---\n".encode()),
    ODD_TEXT.map(lambda t: f"{t}\n\n{t} {t}\n".encode("utf-16")),
    ODD_TEXT.map(lambda t: f"Title {t}\n\nBody {t}\n".encode("latin-1", "replace")),
    ODD_TEXT.map(lambda t: json.dumps({"value": [{"name": t, "url": "https://x.example/" + t[:5]}]}).encode()),
    st.sampled_from([b"", b"\n\n", b"---\n", b"\xef\xbb\xbf---\ntitle: x\n", b"\r\r\r", b"%PDF-1.4 not a pdf"]),
)
SPECIAL = st.sampled_from(["fifo", "link-outside", "link-sibling", "link-dangling", "link-loop", "folder"])
ENTRY = st.tuples(
    st.lists(RAW_NAME, min_size=0, max_size=2),  # folders on the way
    RAW_NAME,
    st.sampled_from(SUFFIXES),
    st.one_of(CONTENT, SPECIAL),
)


def shown(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def make(root: Path, entries: list) -> tuple[dict[str, str], set[str]]:
    """Write the entries under ``root``; returns the good records (path -> unique word) and the
    paths of every other regular source file written."""
    good, others = {}, set()
    for number in range(3):
        (root / f"good{number}.md").write_text(
            f'---\ntitle: "Good zqgood{number}"\nsourceUrl: https://good.example/{number}\n---\nBody.\n', "utf-8"
        )
        good[f"good{number}.md"] = f"zqgood{number}"
    for folders, name, suffix, content in entries:
        folder = root.joinpath(*(os.fsdecode(part) for part in folders))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # a file already holds that name
        path = folder / (os.fsdecode(name) + suffix)
        if os.path.lexists(path) or path.name.startswith("."):
            continue
        if content == "fifo":
            os.mkfifo(path)
        elif content == "link-outside":
            path.symlink_to("/etc/hostname")
        elif content == "link-sibling":
            path.symlink_to(root / "good0.md")
        elif content == "link-dangling":
            path.symlink_to(root / "no-such-file")
        elif content == "link-loop":
            path.symlink_to(root)
        elif content == "folder":
            path.mkdir()
        else:
            path.write_bytes(content)
            if suffix not in (".md~", ""):
                relative = path.relative_to(root).parts
                others.add("/".join(shown(os.fsencode(part)) for part in relative))
    return good, others


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, max_size=12))
def test_every_build_finishes_keeps_the_good_files_and_names_the_rest(entries):
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "downloads"
        root.mkdir()
        good, others = make(root, entries)
        summary_path = Path(work) / "summary.json"  # --quiet is left out: progress lines must not fail either
        result = subprocess.run(
            [*INDEXER, "build", str(root), "--index", str(Path(work) / "ix"), "--summary-json", str(summary_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        summary = json.loads(summary_path.read_text("utf-8"))
        named = {item["path"] for item in summary["skipped"] + summary["warnings"]}
        assert all(item["path"] and item["reason"] for item in summary["skipped"] + summary["warnings"])
        index = SearchIndex(Path(work) / "ix")
        try:
            for word in good.values():
                assert index.search(SearchRequest(q=word)).total == 1, word
            sources = {hit["source"] for hit in index.search(SearchRequest(per_page=50, collapse=False)).hits}
            sources |= {hit["source"] for hit in index.search(SearchRequest(page=2, per_page=50, collapse=False)).hits}
        finally:
            index.close()
        assert others <= sources | named, others - sources - named
        again = subprocess.run(
            [*INDEXER, "update", str(root), "--index", str(Path(work) / "ix")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0 and "nothing changed" in again.stdout, again.stderr[-3000:]
