"""Text analysis for the index: one pass per token, with a C stemmer.

Whoosh pickles the schema, analyzers included, into the index. This module
must therefore stay importable at ``indexer.analysis`` with these class names,
or existing indexes stop opening (see ARCHITECTURE.md).

Whoosh's stock chain (RegexTokenizer | LowercaseFilter | StopFilter |
StemFilter) runs a Python generator per stage per token and a pure-Python
Porter stemmer; the profile of a build is dominated by it. Here the same steps
run in a single loop, and stemming is Snowball English from PyStemmer (C).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import Stemmer
from whoosh.analysis import Token, Tokenizer
from whoosh.formats import Positions

# Words with inner apostrophes or dots stay one token: "China's", "U.S.", "e.g".
TOKEN_PATTERN = re.compile(r"\w+(?:['’.]\w+)*")
MAX_TOKEN_CHARS = 40
# A long text is tokenised in pieces of about this many characters, each cut just before white
# space (no token holds any). Where each piece starts, as a character offset and a word position,
# are the text's marks: the snippet of a long report is then looked for only in the pieces that
# hold the query's words (``search_web.search.snippet_at``).
MARK_PIECE_CHARS = 4096
_WHITE_SPACE = re.compile(r"\s")

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
        self._terms = _WordTerms(self._term_of_new_word, cachesize)  # word as written -> index term
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

    def term_of(self, word: str) -> str:
        """The index term of a word as the tokenizer found it; "" when it is not indexed.

        Cached by the word as written: folding and stemming are most of the
        analysis cost, and a text repeats its words.
        """
        return self._terms[word]

    def _term_of_new_word(self, word: str) -> str:
        folded = fold(word)
        dropped = not folded or len(folded) > MAX_TOKEN_CHARS or folded in self.stop_words
        return "" if dropped else self.stem_word(folded)

    def terms(self, value: str) -> list[str]:
        """The index terms of ``value`` in order: the tokens of ``__call__`` without a Token object each."""
        # map and filter run in C; only a word not seen before costs a Python call.
        return list(filter(None, map(self._terms.__getitem__, TOKEN_PATTERN.findall(value))))

    def words(self, value: str, start: int = 0, end: int | None = None) -> list[str]:
        """The words of ``value[start:end]`` as written: ``terms`` is each one's ``term_of`` but the
        dropped ones (""). ``start`` and ``end`` must not cut a word (pieces are cut at white space)."""
        return TOKEN_PATTERN.findall(value, start, len(value) if end is None else end)

    def marked_terms(self, value: str) -> tuple[list[str], list[int]]:
        """``terms(value)``, and its marks: each piece's first character and first word position, flat."""
        starts = piece_starts(value)
        terms: list[str] = []
        marks: list[int] = []
        for start, end in zip(starts, [*starts[1:], len(value)], strict=True):
            marks += (start, len(terms))
            terms += self.terms(value[start:end])
        return terms, marks

    def term_positions(self, value: str) -> dict[str, list[int]]:
        """Every index term of ``value`` with its word positions (what indexing a field needs)."""
        found: dict[str, list[int]] = {}
        for pos, term in enumerate(self.terms(value)):
            at = found.get(term)
            if at is None:
                found[term] = [pos]
            else:
                at.append(pos)
        return found

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
        pos = start_pos
        for match in TOKEN_PATTERN.finditer(value):
            if removestops:
                term = self.term_of(match.group(0))
            else:
                word = fold(match.group(0))
                term = self.stem_word(word) if word and len(word) <= MAX_TOKEN_CHARS else ""
            if not term:
                continue
            token.text = term
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


def piece_starts(text: str, size: int = MARK_PIECE_CHARS) -> list[int]:
    """Where the pieces of ``text`` start: every ``size`` characters or so, at a white space."""
    starts = [0]
    while len(text) - starts[-1] > size:
        space = _WHITE_SPACE.search(text, starts[-1] + size)
        if space is None:
            break
        starts.append(space.start())
    return starts


class _WordTerms(dict):
    """Word as written -> index term ("" for a dropped word); a word not seen yet is analysed on lookup.

    At ``limit`` words the cache starts over, so that a corpus of generated
    or misspelt words cannot grow it without bound.
    """

    def __init__(self, analyse: Callable[[str], str], limit: int) -> None:
        super().__init__()
        self.analyse, self.limit = analyse, limit

    def __missing__(self, word: str) -> str:
        term = self.analyse(word)
        if len(self) >= self.limit:
            self.clear()
        self[word] = term
        return term


class TermNumbers(dict):
    """Term -> its number, numbered as first seen (a new term is numbered on lookup); "", the term of a
    word the analyzer drops, is 0, so that dropped words are filtered out as false values."""

    def __init__(self) -> None:
        super().__init__({"": 0})

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self)
        return number


class WordNumbers(dict):
    """Word as written -> its term's number in ``numbers`` (0: a word the analyzer drops), the
    analyzer's ``term_of`` looked up once per word.

    At ``limit`` words it starts over (misspelt and generated words would grow it without bound);
    the term numbers stay.
    """

    def __init__(self, term_of: Callable[[str], str], numbers: TermNumbers, limit: int = 200_000) -> None:
        super().__init__()
        self.term_of, self.numbers, self.limit = term_of, numbers, limit

    def __missing__(self, word: str) -> int:
        number = self.numbers[self.term_of(word)]
        if len(self) >= self.limit:
            self.clear()
        self[word] = number
        return number


def english_analyzer() -> EnglishTokenizer:
    """The analyzer of every full-text field."""
    return EnglishTokenizer()


class PackedPositions(Positions):
    """Whoosh's ``Positions`` format with each posting's positions as packed 32-bit integers.

    Whoosh stores a pickled list of gaps per posting; unpickling it is most
    of a phrase query's cost. Packed little-endian integers are read for a
    whole posting block at once with numpy (see ``search_web.term_scoring``),
    and writing them is cheaper too. The frequency is the byte length / 4.
    Indexing an :class:`EnglishTokenizer` field skips Whoosh's per-token
    objects: the tokenizer hands over each term's positions directly.
    """

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        if not isinstance(analyzer, EnglishTokenizer) or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for term, positions in analyzer.term_positions(value).items():
            yield term, len(positions), len(positions) * boost, self.encode(positions)

    def encode(self, poslist: Iterable[int]) -> bytes:
        packed = array("I", poslist)
        if _BIG_ENDIAN:
            packed.byteswap()
        return packed.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        packed = array("I", valuestring)
        if _BIG_ENDIAN:
            packed.byteswap()
        return packed.tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // POSITION_BYTES

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


POSITION_BYTES = 4
_BIG_ENDIAN = sys.byteorder == "big"
