"""Snippets and highlighting: the best-matching passage of a text, HTML-escaped, its query words in ``<mark>``.

Words are matched as the index sees them: each word of the text is turned
into its index term by the analyzer, and marked when that term is one of the
query's. A snippet is the window of a result's excerpt or body (a PDF: of one
of its pages) holding the most distinct query terms.
"""

from __future__ import annotations

import bisect
import functools
import html
import math
import re
from collections.abc import Iterator

import numpy as np

from indexer.analysis import TOKEN_PATTERN, EnglishTokenizer

# Snippets look at many words per request: the analyzer's own cache maps each word as
# written to its index term ("" for a stop word, which no query term can be).
_term = EnglishTokenizer().term_of


def _matching_words(text: str, terms: set[str]) -> Iterator[tuple[re.Match[str], str]]:
    """Every word of ``text`` whose index term is one of ``terms``, with that term."""
    for match in TOKEN_PATTERN.finditer(text):
        term = _term(match.group(0))
        if term in terms:
            yield match, term


def term_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """The (start, end) offsets of every word of ``text`` whose index term is one of ``terms``."""
    return [(match.start(), match.end()) for match, _ in _matching_words(text, terms)]


def highlight(text: str, terms: set[str]) -> str:
    """HTML-escaped ``text`` with every query term wrapped in ``<mark>``."""
    if not terms:
        return html.escape(text)
    out, last = [], 0
    for start, end in term_spans(text, terms):
        out.append(html.escape(text[last:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


# Windows are looked for among the first this many term occurrences of a text (bounds the work on
# a long report that names the query term hundreds of times).
MAX_SNIPPET_HITS = 200
# Up to this many occurrences, the best window is found by sliding over them in Python: on an
# excerpt's few occurrences the fixed cost of numpy's calls outweighs that loop, on a long
# report's many the loop costs more than the array operations.
WINDOW_LOOP_MAX_HITS = 32


def term_hits(text: str, terms: set[str], pieces: list[tuple[int, int]] | None = None) -> list[tuple[int, str]]:
    """Offsets and terms of the first words of ``text`` that are query terms (at most MAX_SNIPPET_HITS).

    With ``pieces`` (ascending, each cut at white space), only those ranges of
    ``text`` are looked at: the ones that hold the first occurrences.

    A stem is (nearly always) a prefix of the words it comes from, so for each
    stem a pattern that begins with its prefix finds, in the lower-cased text,
    the words that begin with it (:func:`_occurrence_patterns`): the regex
    engine looks for a literal prefix in C, and only the words found are
    normalised. Long reports have tens of thousands of words.
    """
    if pieces is not None:
        found: list[tuple[int, str]] = []
        for start, end in pieces:
            found += [(start + at, term) for at, term in term_hits(text[start:end], terms)]
            if len(found) >= MAX_SNIPPET_HITS:
                break
        return found[:MAX_SNIPPET_HITS]
    lowered = text.lower()
    if len(lowered) != len(text):  # rare letters whose lower case is longer: offsets would shift
        return term_hits_by_regex(text, terms)[:MAX_SNIPPET_HITS]
    hits: dict[int, str] = {}  # offset -> term
    # Only the first MAX_SNIPPET_HITS occurrences of all terms together are used: once that many
    # are known before some offset, no term needs looking for after it. A natural query's five
    # frequent words in a long report were otherwise looked for up to 200 times each.
    last = len(text)  # the last offset where an occurrence can still be among the first ones
    for pattern in _occurrence_patterns(frozenset(terms)):
        found = 0
        for match in pattern.finditer(lowered):
            if match.start() > last:
                break
            term = _term(match.group())
            if term in terms:
                hits[match.start()] = term
                found += 1
                if found == MAX_SNIPPET_HITS:
                    break
        if len(hits) >= MAX_SNIPPET_HITS:
            last = sorted(hits)[MAX_SNIPPET_HITS - 1]
    return sorted(hits.items())[:MAX_SNIPPET_HITS]


@functools.lru_cache(maxsize=256)
def _occurrence_patterns(terms: frozenset[str]) -> tuple[re.Pattern[str], ...]:
    """For each prefix of ``terms``' stems: the lower-case words (as ``TOKEN_PATTERN`` cuts them) that
    begin with it. A word begins where no word character precedes, nor an apostrophe or dot that
    follows one (``TOKEN_PATTERN`` would have gone on through it). A pattern of one literal prefix
    is searched for in C; an alternation of them would try its branches at every position holding
    one of their first letters."""
    patterns = []
    prefixes = sorted({term[: max(3, len(term) - 1)] for term in terms})
    # A prefix that begins with another ("russia" of "russian" after "russi" of "russia") finds no
    # word the other does not.
    for prefix in [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]:
        literal = re.escape(prefix)
        patterns.append(re.compile(rf"{literal}(?<!\w{literal})(?<!\w['’.]{literal})\w*(?:['’.]\w+)*"))
    return tuple(patterns)  # shared by every caller (cached)


def term_hits_by_regex(text: str, terms: set[str]) -> list[tuple[int, str]]:
    """Offsets and terms of every word of ``text`` that is a query term, found word by word
    (what :func:`term_hits` finds faster, and its fallback)."""
    return [(match.start(), term) for match, term in _matching_words(text, terms)]


def best_window(
    text: str, terms: set[str], limit: int, pieces: list[tuple[int, int]] | None = None
) -> tuple[float, int]:
    """Score and start offset of the ``limit``-character window of ``text`` that best matches.

    Distinct terms in the window count most, repetitions a little (log-damped).
    """
    hits = term_hits(text, terms, pieces)
    if len(hits) <= WINDOW_LOOP_MAX_HITS:
        return best_window_of_few(text, hits, limit)
    # Each window starts at a hit and holds the hits before its start + limit - 20. Its score
    # orders windows as (distinct terms, hits) do, since log1p of at most MAX_SNIPPET_HITS
    # hits is below 10: the best is the first with the most of both, found with arrays.
    starts = np.fromiter((start for start, _ in hits), dtype=np.int64, count=len(hits))
    ends = np.searchsorted(starts, starts + (limit - 20), "left")
    numbers: dict[str, int] = {}
    codes = np.fromiter((numbers.setdefault(term, len(numbers)) for _, term in hits), dtype=np.int64)
    seen = np.zeros((len(hits) + 1, len(numbers)), dtype=np.int64)
    np.cumsum(codes[:, None] == np.arange(len(numbers)), axis=0, out=seen[1:])
    first = np.arange(len(hits))
    distinct = np.count_nonzero(seen[ends] > seen[first], axis=1)
    best = int(np.argmax(distinct * (MAX_SNIPPET_HITS + 1) + (ends - first)))
    best_score = int(distinct[best]) * 10 + math.log1p(int(ends[best]) - best)
    return best_score, _sentence_start(text, hits[best][0])


def best_window_of_few(text: str, hits: list[tuple[int, str]], limit: int) -> tuple[float, int]:
    """:func:`best_window` over a few ``hits``, sliding over them one by one."""
    best_score, best_start = 0.0, 0
    end = 0
    counts: dict[str, int] = {}
    for first, (start, term) in enumerate(hits):
        while end < len(hits) and hits[end][0] < start + limit - 20:
            counts[hits[end][1]] = counts.get(hits[end][1], 0) + 1
            end += 1
        score = len(counts) * 10 + math.log1p(end - first)
        if score > best_score:
            best_score, best_start = score, start
        counts[term] -= 1
        if not counts[term]:
            del counts[term]
    return best_score, _sentence_start(text, best_start)


def _sentence_start(text: str, position: int) -> int:
    """Move ``position`` back to the start of its sentence when that is close by."""
    window = text[max(0, position - 120) : position]
    cut = max(window.rfind(". "), window.rfind("\n"), window.rfind("? "), window.rfind("! "))
    if cut < 0:
        return position
    return max(0, position - 120) + cut + 1 + (window[cut] != "\n")


def snippet_at(
    excerpt: str,
    body: str,
    terms: set[str],
    limit: int,
    page_starts: list[int] | None = None,
    pieces: list[tuple[int, int]] | None = None,
) -> tuple[str, int | None]:
    """The best-matching passage of excerpt or body (escaped, terms marked) and where it
    starts in ``body`` (None: from the excerpt).

    With ``page_starts`` (a PDF), the passage is looked for within each page, so
    that it never runs across a page break and its page is the page it is on.
    With ``pieces`` (:meth:`Generation.body_pieces`), only those ranges of the
    body are scanned for the query's words, rather than lower-casing and
    searching the whole of a long report for each result shown.
    """
    if not terms:
        return html.escape(_clip(excerpt or body, 0, limit)), None if excerpt else 0
    excerpt_score, excerpt_start = best_window(excerpt, terms, limit)
    if pieces is not None and len(page_starts or []) <= 1:
        body_score, body_start = best_window(body, terms, limit, pieces)
        page_text, page_start = body, 0
    else:
        body_score, page_text, page_start, body_start = _best_body_window(body, terms, limit, page_starts or [0])
    if body_score > excerpt_score:
        return highlight(_clip(page_text, body_start, limit), terms), page_start + body_start
    if excerpt_score or excerpt:
        return highlight(_clip(excerpt, excerpt_start, limit), terms), None
    return highlight(_clip(body, 0, limit), terms), 0


def _best_body_window(body: str, terms: set[str], limit: int, page_starts: list[int]) -> tuple[float, str, int, int]:
    """Score, page text, page offset and start within the page of the best window of ``body``."""
    best = (0.0, body, 0, 0)
    for number, page_start in enumerate(page_starts):
        page_end = page_starts[number + 1] if number + 1 < len(page_starts) else len(body)
        text = body if len(page_starts) == 1 else body[page_start:page_end]
        score, start = best_window(text, terms, limit)
        if score > best[0]:
            best = (score, text, page_start, start)
    return best


def best_body_offset(body: str, terms: set[str], limit: int, page_starts: list[int] | None = None) -> int | None:
    """Where the best-matching passage of ``body`` starts, or None when no term is in it."""
    score, _, page_start, start = _best_body_window(body, terms, limit, page_starts or [0])
    return page_start + start if score else None


def joined_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ascending ranges with each run of touching ones made one."""
    joined: list[tuple[int, int]] = []
    for start, end in ranges:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def page_of(page_starts: list[int], offset: int) -> int:
    """The 1-based page holding ``offset`` of a body whose pages start at ``page_starts``."""
    return max(1, bisect.bisect_right(page_starts, offset))


def _clip(text: str, start: int, limit: int) -> str:
    """About ``limit`` characters from ``start``, cut at word boundaries."""
    if start > 0:
        # Begin a little before the passage so that it reads in context.
        if start <= 80:
            start = 0  # the text's own beginning is close enough
        else:
            back = text.rfind(" ", 0, start - 40 + 1)
            start = back + 1 if back >= 0 and start - back < 80 else start
    piece = text[start : start + limit]
    if start + limit < len(text):
        piece = piece.rsplit(" ", 1)[0] + " …"
    return ("… " if start > 0 else "") + piece.strip()
