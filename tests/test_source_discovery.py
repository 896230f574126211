"""Which files under a source folder are sources, in which order, under which relative path."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path, PurePath

from hypothesis import given
from hypothesis import strategies as st

from indexer.folders import defaults_for
from indexer.sources import METADATA_FILE, SOURCE_SUFFIXES, discover, scan, suffix_of
from tests.conftest import REPO

NAMES = [
    "a.md",
    "B.MD",
    "report.txt",
    "réport été.txt",
    "archive.tar.gz",
    "noext",
    "trailing.",
    "double..md",
    "feed.jsonl",
    "page.HTML",
    ".hidden.md",
    "notes.md~",
]


def reference(root: Path) -> list[tuple[str, Path]]:
    """The sources under ``root`` the plain way: folders and names sorted, hidden ones left out,
    a suffix as ``PurePath`` reads it."""
    found = []

    def walk(folder: Path) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        for path in entries:
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in SOURCE_SUFFIXES:
                found.append((path.relative_to(root).as_posix(), path))
        for path in entries:
            if path.is_dir() and not path.name.startswith("."):
                walk(path)

    walk(root)
    return found


def test_discovery_finds_the_sources_a_plain_walk_finds(tmp_path):
    root = tmp_path / "sources"
    for folder in ["", "2024", "2024/may", "zeta dir", ".git", "2024/.cache", "ünï"]:
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in NAMES:
            (root / folder / name).write_text("x", "utf-8")
    found = [(source.relpath, source.path) for source in discover([root])]
    assert found == reference(root.resolve())
    assert ("2024/may/B.MD", root.resolve() / "2024/may/B.MD") in found
    assert not any(".git" in relpath or "archive" in relpath or "trailing" in relpath for relpath, _ in found)
    assert all(source.root == root.resolve() for source in discover([root]))


def test_a_single_file_root_is_its_own_source(tmp_path):
    single = tmp_path / "one.md"
    single.write_text("x", "utf-8")
    (source,) = discover([single])
    assert (source.root, source.relpath, source.path) == (tmp_path.resolve(), "one.md", single.resolve())


def test_discovery_tells_each_file_which_of_its_folders_hold_metadata(tmp_path):
    """Folder defaults read only the folders discovery found a _source.yaml in; they must be the
    defaults of looking at every folder on the way (nearer overrides farther, bad ones passed over)."""
    root = tmp_path / "sources"
    metadata = {
        "": "provider: Root Publisher\ntopics: [Trade]\n",
        "a": "provider: A Publisher\nprovider_domain: a.example\n",
        "a/b/c": "topics: [Chips]\nlanguage: fr\n",
        "d": "kind: [not, a, kind]\n",  # bad: passed over
        ".hidden": "provider: Hidden\n",
    }
    for folder in ["", "a", "a/b", "a/b/c", "a/x", "d", "d/e", ".hidden", "z"]:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "news.md").write_text("x", "utf-8")
    for folder, text in metadata.items():
        (root / folder / METADATA_FILE).write_text(text, "utf-8")
    found = {source.relpath: source for source in discover([root])}
    assert found["a/b/c/news.md"].metadata_folders == ("", "a", "a/b/c")
    assert found["a/x/news.md"].metadata_folders == ("", "a")
    assert found["z/news.md"].metadata_folders == ("",)
    for source in found.values():
        told = defaults_for(source.root, source.relpath, source.metadata_folders)
        assert told == defaults_for(source.root, source.relpath), source.relpath
    assert defaults_for(found["a/b/c/news.md"].root, "a/b/c/news.md").values == {
        "provider": "A Publisher",
        "provider_domain": "a.example",
        "topics": ["Chips"],
        "language": "fr",
    }
    assert defaults_for(found["d/e/news.md"].root, "d/e/news.md").values["provider"] == "Root Publisher"


# Few characters, dots among them, so that every shape of name comes up. Names that start with
# a dot are hidden: never sources, whatever their suffix.
FILE_NAMES = st.text(alphabet="aZé .1_~", min_size=1, max_size=8).filter(lambda name: not name.startswith("."))


@given(FILE_NAMES)
def test_a_suffix_is_read_as_purepath_reads_it(name):
    assert suffix_of(name) == PurePath(name).suffix.lower()


def test_names_that_are_not_utf8_are_sources_under_a_name_of_text(tmp_path):
    root = tmp_path / "odd"
    (root / os.fsdecode(b"dir\xfe")).mkdir(parents=True)
    (root / os.fsdecode(b"bad\xff.md")).write_bytes(b"# T\n\nbody\n")
    (root / os.fsdecode(b"dir\xfe") / "x.md").write_bytes(b"# T\n\nbody\n")
    found = {source.relpath: source for source in discover([root])}
    assert set(found) == {"bad\\xff.md", "dir\\xfe/x.md"}
    for relpath, source in found.items():
        relpath.encode("utf-8")  # every key is text
        assert source.path.read_bytes() == b"# T\n\nbody\n"  # and the file is still reached


def test_only_regular_files_are_read_and_the_rest_is_named(tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    (root / "good.md").write_text("x", "utf-8")
    os.mkfifo(root / "pipe.md")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(root / "socket.txt"))
        found = scan([root])
    assert [source.relpath for source in found.files] == ["good.md"]
    assert dict((path, reason) for _, path, reason in found.skipped) == {
        "pipe.md": "not a regular file (a named pipe): not read",
        "socket.txt": "not a regular file (a socket): not read",
    }


def test_links_that_leave_the_source_folder_are_not_followed_unless_asked(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0", "utf-8")
    root = tmp_path / "sources"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inner.md").write_text("x", "utf-8")
    (root / "passwd.txt").symlink_to(outside / "secret.txt")
    (root / "inner-link.md").symlink_to(root / "sub" / "inner.md")
    (root / "outside-folder").symlink_to(outside)
    (root / "sub" / "loop").symlink_to(root)
    (root / "gone.md").symlink_to(tmp_path / "nothing.md")
    found = scan([root])
    assert [source.relpath for source in found.files] == ["inner-link.md", "sub/inner.md"]
    reasons = {path: reason for _, path, reason in found.skipped}
    assert reasons == {
        "gone.md": "a link to nothing (its target is gone)",
        "outside-folder": "a link to a folder: not followed (--follow-symlinks)",
        "passwd.txt": "a link to a file outside the source folder: not read (--follow-symlinks)",
        "sub/loop": "a link to a folder: not followed (--follow-symlinks)",
    }
    followed = scan([root], follow_symlinks=True)
    assert [source.relpath for source in followed.files] == [
        "inner-link.md",
        "passwd.txt",
        "outside-folder/secret.txt",
        "sub/inner.md",
    ]
    assert {path: reason for _, path, reason in followed.skipped}["sub/loop"] == (
        "a link to a folder it is inside: a loop"
    )


def test_a_folder_that_cannot_be_listed_is_named_unreadable(tmp_path):
    root = tmp_path / "sources"
    (root / "locked").mkdir(parents=True)
    (root / "open.md").write_text("x", "utf-8")
    (root / "locked" / "hidden.md").write_text("x", "utf-8")
    found = listing_as_a_reader_without_privileges(root)
    assert found["files"] == ["open.md"]
    assert found["unreadable"] == [["sources", "locked"]]
    assert found["skipped"] == [["sources", "locked", "cannot read folder: Permission denied"]]


SCAN_AS_PLAIN_READER = """
import json, sys
from pathlib import Path
from indexer.sources import scan
found = scan([Path(sys.argv[1])])
print(json.dumps({"files": [s.relpath for s in found.files], "unreadable": found.unreadable, "skipped": found.skipped}))
"""


def listing_as_a_reader_without_privileges(root: Path) -> dict:
    """Scan ``root`` with its folder ``locked`` made unreadable, in a process that honours permissions
    (root, which reads everything, runs it without the capabilities that let it)."""
    locked = root / "locked"
    locked.chmod(0)
    try:
        result = subprocess.run(
            [*without_read_privileges(), sys.executable, "-c", SCAN_AS_PLAIN_READER, str(root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def without_read_privileges() -> list[str]:
    """A command prefix that runs a program unable to read what its permissions forbid."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def test_no_depth_of_folders_is_too_deep(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    depth = 1100  # deeper than Python's recursion limit
    descriptors = [os.open(root, os.O_RDONLY)]
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=descriptors[-1])
            descriptors.append(os.open("d", os.O_RDONLY, dir_fd=descriptors[-1]))
        with open(os.open("deep.md", os.O_WRONLY | os.O_CREAT, dir_fd=descriptors[-1]), "w") as handle:
            handle.write("x")
        found = scan([root])
        assert [source.relpath.count("/") for source in found.files] == [depth]
    finally:  # removed from the bottom up here: a recursive removal would fail as the walk did
        os.unlink("deep.md", dir_fd=descriptors[-1])
        for above in range(len(descriptors) - 2, -1, -1):
            os.close(descriptors[above + 1])
            os.rmdir("d", dir_fd=descriptors[above])
        os.close(descriptors[0])


def test_followed_links_read_each_folder_once(tmp_path):
    """Two links to each next folder, sixteen deep, made 131,071 copies of one file."""
    folders = [tmp_path / "fan" / f"level{n}" for n in range(17)]
    for folder in folders:
        folder.mkdir(parents=True)
    (folders[-1] / "x.md").write_text("x", "utf-8")
    for here, below in itertools.pairwise(folders):
        (here / "a").symlink_to(below)
        (here / "b").symlink_to(below)
    found = scan([folders[0]], follow_symlinks=True)
    assert len(found.files) == 1
    assert {reason for _, _, reason in found.skipped} == {"a link to a folder read already (through another path)"}


def test_two_names_are_never_shown_alike(tmp_path):
    root = tmp_path / "names"
    root.mkdir()
    (root / os.fsdecode(b"bad\xff.txt")).write_text("x", "utf-8")
    (root / "bad\\xff.txt").write_text("x", "utf-8")  # a name that holds the characters \xff
    shown = sorted(source.relpath for source in scan([root]).files)
    assert len(set(shown)) == 2
