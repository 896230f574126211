"""Text analysis for the index: one pass per token, with a C stemmer.

Whoosh pickles the schema, analyzers included, into the index. This module
must therefore stay importable at ``indexer.analysis`` with these class names,
or existing indexes stop opening (see README, design notes).

Whoosh's stock chain (RegexTokenizer | LowercaseFilter | StopFilter |
StemFilter) runs a Python generator per stage per token and a pure-Python
Porter stemmer; the profile of a build is dominated by it. Here the same steps
run in a single loop, and stemming is Snowball English from PyStemmer (C).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import Stemmer
from whoosh.analysis import Token, Tokenizer

# Words with inner apostrophes or dots stay one token: "China's", "U.S.", "e.g".
TOKEN_PATTERN = re.compile(r"\w+(?:['’.]\w+)*")
MAX_TOKEN_CHARS = 40

# A short list on purpose: "us", "it", "who", "may" are country, sector,
# organisation and month names in this domain, so they are not stop words.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "into",
        "is",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "were",
        "which",
        "while",
        "with",
        "would",
        "you",
        "your",
    ]
)


def fold(word: str) -> str:
    """Lower-case, accent-free, apostrophe- and dot-free form of a word."""
    word = word.lower()
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
        word = word.replace("’", "'")
    if "'" in word:
        if word.endswith("'s"):
            word = word[:-2]
        word = word.replace("'", "")
    return word.replace(".", "")


class EnglishTokenizer(Tokenizer):
    """Tokenise, fold, drop stop words and stem English text in one pass."""

    is_morph = True

    def __init__(self, stem: bool = True, stop_words: frozenset[str] = STOP_WORDS, cachesize: int = 200_000):
        self.stem = stem
        self.stop_words = stop_words
        self.cachesize = cachesize
        self._cache: dict[str, str] = {}
        self._stemmer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # The C stemmer and the cache are rebuilt after unpickling.
        return {"stem": self.stem, "stop_words": self.stop_words, "cachesize": self.cachesize}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnglishTokenizer) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.stem, self.stop_words))

    def stem_word(self, word: str) -> str:
        """Snowball English stem of an already folded word, cached."""
        if not self.stem:
            return word
        cached = self._cache.get(word)
        if cached is None:
            if self._stemmer is None:
                self._stemmer = Stemmer.Stemmer("english")
            cached = self._stemmer.stemWord(word)
            if len(self._cache) >= self.cachesize:
                self._cache.clear()
            self._cache[word] = cached
        return cached

    def normalize(self, word: str) -> str:
        """The index term for one word (what a query term is turned into)."""
        return self.stem_word(fold(word))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Wildcard and prefix text: fold it, but a stem of a prefix is meaningless.
            token.original = value
            token.text = fold(value)
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        stops = self.stop_words if removestops else frozenset()
        pos = start_pos
        for match in TOKEN_PATTERN.finditer(value):
            word = fold(match.group(0))
            if not word or len(word) > MAX_TOKEN_CHARS or word in stops:
                continue
            token.text = self.stem_word(word)
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = match.group(0)
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            pos += 1
            yield token


def english_analyzer() -> EnglishTokenizer:
    """The analyzer of every full-text field."""
    return EnglishTokenizer()
