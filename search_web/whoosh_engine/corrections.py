"""Spelling corrections: words of a query that no document holds, and what to search instead.

The dictionary is the unstemmed words of titles and excerpts with their
document counts (``spelling.json``, written by each build beside the
index). A word is corrected only when no document holds it, to the closest
dictionary word (the most frequent among equally close ones), at most one
edit away for words of up to four letters and two for longer ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from whoosh import spelling

from indexer.analysis import EnglishTokenizer, fold

# Words this short are corrected at most one edit away: two edits turn them into too many others.
SHORT_WORD_CHARS = 4


class WordCorrector(spelling.Corrector):
    """Suggests the closest dictionary words; among equally close ones, the most frequent."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.words = spelling.ListCorrector(sorted(counts))

    @classmethod
    def from_file(cls, path: Path) -> WordCorrector:
        """The corrector over a generation's dictionary; empty when the file is missing or damaged."""
        try:
            counts = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            counts = {}
        return cls(counts if isinstance(counts, dict) else {})

    def _suggestions(self, text: str, maxdist: int, prefix: int):
        for score, word in self.words._suggestions(text, maxdist, prefix):
            yield score - 0.5 / self.counts[word], word


def unmatched_words(words: list[str], reader: Any, analyzer: EnglishTokenizer, fields: tuple[str, ...]) -> list[str]:
    """The words (as typed) whose index term no document holds in any of ``fields``."""
    missing = []
    for word in dict.fromkeys(words):
        term = analyzer.normalize(word)
        if term and not any(name in reader.schema and reader.doc_frequency(name, term) for name in fields):
            missing.append(word)
    return missing


def corrected_query(query: str, missing: list[str], corrector: spelling.Corrector, max_chars: int) -> str | None:
    """``query`` with each of the ``missing`` words replaced by its correction where it stands as a
    word of its own (not inside a field, a phrase or a link); None when none has a correction or the
    corrected query would be longer than ``max_chars``."""
    pieces = re.split(r"(\s+)", query)
    changed = False
    for word in missing:
        folded = fold(word)
        distance = 1 if len(folded) <= SHORT_WORD_CHARS else 2
        options = corrector.suggest(folded, limit=1, maxdist=distance, prefix=1)
        if not options or options[0] == folded:
            continue
        for number, piece in enumerate(pieces):
            standing = _STANDING_WORD.fullmatch(piece)
            if standing and standing.group(2) == word:
                pieces[number] = standing.group(1) + options[0] + standing.group(3)
                changed = True
                break
    corrected = "".join(pieces)
    return corrected if changed and corrected != query and len(corrected) <= max_chars else None


# A word as a piece of a query between spaces: brackets before it, brackets and punctuation after.
_STANDING_WORD = re.compile(r"([(\[{]*)([^\s()\[\]{}\"':]+?)([)\]},.;!?]*)")
