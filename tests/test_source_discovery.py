"""Which files under a source folder are sources, in which order, under which relative path."""

from __future__ import annotations

from pathlib import Path, PurePath

from hypothesis import given
from hypothesis import strategies as st

from indexer.folders import defaults_for
from indexer.sources import METADATA_FILE, SOURCE_SUFFIXES, discover, suffix_of

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
