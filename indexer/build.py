"""The full rebuild: folders -> parsed files -> documents -> new generation -> swap."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.corpus import ParsedFile, Problem, assemble, parse_file
from indexer.schema import SCHEMA_VERSION
from indexer.sources import SourceFile, content_hash, discover
from indexer.writing import (
    current_generation,
    new_generation,
    read_build_info,
    remove_stale_generations,
    swap_in,
    write_generation,
    writer_lock,
)

Progress = Callable[[str, int, int], None]


@dataclass
class Summary:
    """What a build did; written as ``--summary-json``."""

    files_seen: int = 0
    documents_indexed: int = 0
    documents_by_kind: dict[str, int] = field(default_factory=dict)
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    generation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "documents_indexed": self.documents_indexed,
            "documents_by_kind": dict(sorted(self.documents_by_kind.items())),
            "skipped": [p.to_dict() for p in self.skipped],
            "warnings": [p.to_dict() for p in self.warnings],
            "seconds": round(self.seconds, 3),
        }


class NothingIndexed(RuntimeError):
    """The sources gave no document at all; the live index is left alone."""


def manifest_key(source: SourceFile) -> str:
    """Key of a file in the build manifest: its folder's name and its path."""
    return f"{source.root_name}/{source.relpath}"


def run_build(roots: list[Path], index_root: Path, progress: Progress | None = None) -> Summary:
    """Rebuild the index at ``index_root`` from every file under ``roots``."""
    started = time.monotonic()
    with writer_lock(index_root):
        remove_stale_generations(index_root)
        sources = list(discover(roots))
        summary = Summary(files_seen=len(sources))
        parsed: list[ParsedFile] = []
        for number, source in enumerate(sources, start=1):
            parsed.append(parse_file(source))
            if progress:
                progress("reading", number, len(sources))
        for item in parsed:
            if item.skipped:
                summary.skipped.append(Problem(item.relpath, item.skipped))
            summary.warnings.extend(Problem(item.relpath, w) for w in item.warnings)
        assembly = assemble(parsed)
        summary.warnings.extend(assembly.warnings)
        if not assembly.documents:
            raise NothingIndexed("nothing could be indexed: no source file gave a document")
        generation = new_generation(index_root)
        written = 0

        def count_one() -> None:
            nonlocal written
            written += 1
            if progress:
                progress("indexing", written, len(assembly.documents))

        build_info = {
            "roots": [str(r.resolve()) for r in roots],
            "files": {manifest_key(s): p.sha256 for s, p in zip(sources, parsed, strict=True)},
        }
        try:
            summary.documents_indexed = write_generation(generation, assembly.documents, build_info, count_one)
        except BaseException:
            remove_stale_generations(index_root)
            raise
        swap_in(index_root, generation)
        remove_stale_generations(index_root)
        summary.documents_by_kind = dict(Counter(d.kind for d in assembly.documents))
        summary.generation = generation.name
        summary.seconds = time.monotonic() - started
        return summary


def is_stale(roots: list[Path], index_root: Path) -> tuple[bool, str]:
    """Whether the live index is missing or was built from other content.

    Compared by content hash, so touching a file does not force a rebuild.
    """
    generation = current_generation(index_root)
    if generation is None:
        return True, "no index yet"
    info = read_build_info(generation)
    if info.get("schema_version") != SCHEMA_VERSION:
        return True, "index was built by another version of the schema"
    if info.get("roots") != [str(r.resolve()) for r in roots]:
        return True, "built from other source folders"
    files: dict[str, str] = {}
    for source in discover(roots):
        try:
            files[manifest_key(source)] = content_hash(source.path.read_bytes())
        except OSError:
            files[manifest_key(source)] = ""
    if files != info.get("files"):
        return True, "source files changed since the last build"
    return False, "index is up to date"
