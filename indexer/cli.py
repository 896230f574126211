"""``python -m indexer``: build or update the index from source folders.

Exit status: 0 done (bad files are skipped and listed), 1 nothing could be
indexed, 2 usage error, 3 index busy (another build or update is running),
4 the new index looks wrong and was not swapped in, 5 the index folder could
not be written (disk full, no permission, an I/O error), 130 interrupted. In
every case but 0 the live index is left as it was.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path

from indexer.build import IncompleteIndex, LooksWrong, NothingIndexed, Summary, is_stale, run_build, run_update
from indexer.limits import IndexLimits, describe_settings
from indexer.store.generations import IndexBusy, current_generation, read_build_info

DEFAULT_SOURCES = [Path("seeds")]
DEFAULT_INDEX = Path("index_data")
EXIT_NOTHING_INDEXED = 1
EXIT_BUSY = 3
EXIT_NOT_SWAPPED = 4
EXIT_CANNOT_WRITE = 5
EXIT_INTERRUPTED = 130


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description="Index news records and report pages.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="rebuild the whole index from the source folders")
    build.add_argument("sources", nargs="*", type=Path, help="source folders (default: seeds/)")
    _add_common(build)
    build.add_argument("--if-stale", action="store_true", help="only build when the index is missing or out of date")
    update = commands.add_parser(
        "update", help="re-read only added, changed and removed files and update their documents in place"
    )
    update.add_argument(
        "sources", nargs="*", type=Path, help="source folders (default: those of the live index, else seeds/)"
    )
    _add_common(update)
    commands.add_parser("limits", help="list the indexer's limits with their values and help")
    return parser


def _add_common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index folder (default: index_data/)")
    command.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this path")
    command.add_argument(
        "--allow-shrink", action="store_true", help="swap in a new index even if it is far smaller than the live one"
    )
    command.add_argument("--quiet", action="store_true", help="no progress and no summary on stdout")
    command.add_argument(
        "--follow-symlinks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read links to files outside the source folders and walk links to folders "
        "(default: no; update: as the live index was built)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)  # exits with status 2 on usage errors
    if args.command == "limits":
        for limit in describe_settings(IndexLimits):
            print(f"{limit['name']} (default {limit['default']}): {limit['help']}")
        return 0
    sources = args.sources or default_sources(args.command, args.index)
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        parser.error(f"source folder not found: {', '.join(missing)}")
    if args.command == "build" and args.if_stale:
        stale, reason = is_stale(sources, args.index)
        if not stale:
            print(f"{args.index}: {reason}")
            return 0
        print(f"{args.index}: {reason}; building")
    run = run_update if args.command == "update" else run_build
    progress = None if args.quiet else (ProgressBar() if sys.stderr.isatty() else StageLog())
    try:
        summary = run(
            sources, args.index, progress, allow_shrink=args.allow_shrink, follow_symlinks=args.follow_symlinks
        )
    except KeyboardInterrupt:
        print("\ninterrupted; the live index was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except IndexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except NothingIndexed as exc:
        print(f"error: {exc}; the live index was left as it was", file=sys.stderr)
        return EXIT_NOTHING_INDEXED
    except (LooksWrong, IncompleteIndex) as exc:
        hint = " (run again with --allow-shrink if this is intended)" if isinstance(exc, LooksWrong) else ""
        print(f"error: not swapped in: {exc}; the live index was left as it was{hint}", file=sys.stderr)
        return EXIT_NOT_SWAPPED
    except OSError as exc:
        if not _inside(exc.filename, args.index):  # not the index's: a file of the sources, say
            print(f"error: {exc}; the live index was left as it was", file=sys.stderr)
            return EXIT_NOTHING_INDEXED
        print(f"error: {describe_write_error(exc, args.index)}; the live index was left as it was", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    finally:
        if progress:
            progress.finish()
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    if not args.quiet:
        print(format_summary(summary, args.index))
    return 0


def _inside(filename: object, index: Path) -> bool:
    """Whether an error's file is the index folder's (or names none: then it was met writing it)."""
    if filename is None or not isinstance(filename, str) or not filename.startswith("/"):
        return True  # "part 1 of the new generation", or no file: the writers' own
    return Path(filename).resolve().is_relative_to(index.resolve())


def describe_write_error(error: OSError, index: Path) -> str:
    """What went wrong writing the index, in words: the cause, and the file it happened to."""
    causes = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file grew past the size this system allows",
        errno.EACCES: "no permission",
        errno.EROFS: "the file system is read-only",
        errno.EIO: "an input/output error",
    }
    cause = causes.get(error.errno or 0, error.strerror or str(error))
    where = error.filename or index
    return f"{cause} while writing {where} (the index at {index})"


def default_sources(command: str, index: Path) -> list[Path]:
    """An update re-reads the folders the live index was built from; a build reads seeds/."""
    if command == "update":
        generation = current_generation(index)
        roots = read_build_info(generation).get("roots") if generation else None
        if roots:
            return [Path(r) for r in roots]
    return DEFAULT_SOURCES


def format_summary(summary: Summary, index: Path) -> str:
    """The human summary printed after a build or update."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.documents_by_kind.items())) or "none"
    where = f"{index}/{summary.generation}"
    lines = []
    if summary.command == "update" or summary.files_changed or summary.files_removed:
        lines.append(
            f"Files: {len(summary.files_added)} added, {len(summary.files_changed)} changed, "
            f"{len(summary.files_removed)} removed, {summary.files_unchanged} unchanged. "
            f"Documents: {summary.documents_added} added, {summary.documents_updated} updated, "
            f"{summary.documents_deleted} deleted."
        )
    verb = "Indexed" if summary.swapped else "Index holds"
    lines.append(
        f"{verb} {summary.documents_indexed} documents ({kinds}) from {summary.files_seen} files "
        f"in {summary.seconds:.1f} s into {where}"
    )
    if summary.note:
        lines.append(f"Note: {summary.note}")
    if summary.skipped:
        lines.append(f"Skipped {len(summary.skipped)} files:")
        lines += [f"  {p.path}: {p.reason}" for p in summary.skipped]
    if summary.warnings:
        lines.append(f"{len(summary.warnings)} warnings:")
        lines += [f"  {p.path}: {p.reason}" for p in summary.warnings]
    return "\n".join(lines)


class StageLog:
    """One line on stderr per stage (for logs and cron mails, where a bar would be noise)."""

    def __init__(self) -> None:
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stage = stage
            what = {"reading": "files", "indexing": "documents"}.get(stage, "")
            sys.stderr.write(f"indexer: {stage} {total if what else ''} {what}".rstrip() + "\n")
            sys.stderr.flush()

    def finish(self) -> None:
        pass


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
