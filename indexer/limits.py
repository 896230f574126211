"""Every limit of the indexer, as a named value with a help text.

Hostile or broken files must not take a build down or exhaust memory, and
a build that looks wrong must not replace a good index. ``python -m indexer
limits`` prints this table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def setting(default: Any, help_text: str) -> Any:
    """A dataclass field that is a named setting with a help text."""
    return field(default=default, metadata={"help": help_text})


def describe_settings(cls: type) -> list[dict[str, Any]]:
    """Name, default and help of every setting of a settings dataclass."""
    return [{"name": f.name, "default": f.default, "help": f.metadata["help"]} for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class IndexLimits:
    """Bounds on what one file or one build may do."""

    max_read_bytes: int = setting(
        3 * 1024 * 1024,
        "Bytes read from one source file (15x the longest real report); the rest is dropped with a warning.",
    )
    max_whole_file_bytes: int = setting(
        64 * 1024 * 1024,
        "Bytes read from a PDF, JSON or JSON Lines file; a larger PDF or JSON file is skipped, JSON Lines cut.",
    )
    max_front_matter_chars: int = setting(1_000_000, "Longest YAML front matter parsed; a longer one skips the file.")
    max_yaml_depth: int = setting(32, "Deepest nesting of lists and mappings in front matter.")
    max_title_chars: int = setting(1_000, "Longest title kept; the rest is dropped with a warning.")
    max_excerpt_chars: int = setting(20_000, "Longest excerpt kept; the rest is dropped with a warning.")
    max_body_chars: int = setting(1_000_000, "Longest body text kept (5x the longest real report).")
    max_list_values: int = setting(100, "Most topics, authors or editors kept per document.")
    max_related_items: int = setting(500, "Most related articles taken from one news record.")
    max_related_text_chars: int = setting(
        100_000, "Longest related-coverage text (its related items' titles and excerpts) searched with a record."
    )
    shrink_guard_min_documents: int = setting(
        10, "A source folder that gave at least this many documents last time may not drop to none."
    )
    shrink_guard_keep_fraction: float = setting(
        0.5, "A new index smaller than this share of the live one is not swapped in (use --allow-shrink)."
    )


LIMITS = IndexLimits()
