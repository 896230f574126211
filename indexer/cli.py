"""``python -m indexer``: build the index from source folders.

Exit status: 0 done (bad files are skipped and listed), 1 nothing could be
indexed, 2 usage error, 3 index busy (another build or update is running).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from indexer.build import NothingIndexed, Summary, is_stale, run_build
from indexer.writing import IndexBusy

DEFAULT_SOURCES = [Path("seeds")]
DEFAULT_INDEX = Path("index_data")
EXIT_NOTHING_INDEXED = 1
EXIT_BUSY = 3


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description="Index news records and report pages.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="rebuild the whole index from the source folders")
    build.add_argument("sources", nargs="*", type=Path, help="source folders (default: seeds/)")
    build.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index folder (default: index_data/)")
    build.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this path")
    build.add_argument("--if-stale", action="store_true", help="only build when the index is missing or out of date")
    build.add_argument("--quiet", action="store_true", help="no progress bar and no summary on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)  # exits with status 2 on usage errors
    sources = args.sources or DEFAULT_SOURCES
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        parser.error(f"source folder not found: {', '.join(missing)}")
    if args.if_stale:
        stale, reason = is_stale(sources, args.index)
        if not stale:
            print(f"{args.index}: {reason}")
            return 0
        print(f"{args.index}: {reason}; building")
    progress = None if args.quiet or not sys.stderr.isatty() else ProgressBar()
    try:
        summary = run_build(sources, args.index, progress)
    except IndexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except NothingIndexed as exc:
        print(f"error: {exc}; the live index was left as it was", file=sys.stderr)
        return EXIT_NOTHING_INDEXED
    finally:
        if progress:
            progress.finish()
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    if not args.quiet:
        print(format_summary(summary, args.index))
    return 0


def format_summary(summary: Summary, index: Path) -> str:
    """The human summary printed after a build."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.documents_by_kind.items())) or "none"
    lines = [
        f"Indexed {summary.documents_indexed} documents ({kinds}) from {summary.files_seen} files "
        f"in {summary.seconds:.1f} s into {index}/{summary.generation}",
    ]
    if summary.skipped:
        lines.append(f"Skipped {len(summary.skipped)} files:")
        lines += [f"  {p.path}: {p.reason}" for p in summary.skipped]
    if summary.warnings:
        lines.append(f"{len(summary.warnings)} warnings:")
        lines += [f"  {p.path}: {p.reason}" for p in summary.warnings]
    return "\n".join(lines)


class ProgressBar:
    """A one-line progress bar on stderr, shown only on a terminal."""

    WIDTH = 30

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        line = f"\r{stage:>8} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        if line != self.last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.last = line

    def finish(self) -> None:
        if self.last:
            sys.stderr.write("\n")
