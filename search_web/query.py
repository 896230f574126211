"""The query language: user text -> a bounded query tree plus date filters.

Plain words match documents holding any of them, ranked (see
``search_web.whoosh_engine.ranking``): more of the query's words first. Everything else
works as typed: ``"quoted phrases"`` and ``field:value`` must be there,
``AND`` requires both sides, ``OR`` either, ``-word`` / ``NOT word``
excludes (alone: everything but it), ``+word`` requires, parentheses group.
A hyphen or other joiner inside a word joins it (``low-code`` finds "low
code", "low-code" and "lowcode"); only a leading ``-`` excludes. Fields:
title, excerpt, body, provider, topic, author, kind and country (a name or
an ISO code); ``published:2019..2021`` date ranges; pasted links. Everything
expensive is bounded here, before anything is matched: length, nesting,
clause count, wildcard prefixes and their expansion, fuzzy distance.
"""

from __future__ import annotations

import calendar
import datetime as dt
import fnmatch
import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from indexer.analysis import EnglishTokenizer
from indexer.countries import country_word_forms, resolve_country
from indexer.documents import canonical_url, stable_id
from search_web.settings import Limits

# The fields a plain word is looked for in, and scored over together (BM25F).
TEXT_FIELDS = ("title", "excerpt", "related", "body")
# Names a user types -> index fields searched.
FIELD_ALIASES = {
    "title": ("title",),
    "excerpt": ("excerpt",),
    "body": ("body",),
    "related": ("related",),
    "provider": ("provider_text",),
    "topic": ("topic_text",),
    "author": ("author_text",),
    "kind": ("kind",),
    "country": ("country",),
}
# Fields whose values are single lower-case keywords, not analysed text.
KEYWORD_FIELDS = ("kind", "country")
DATE_FIELDS = ("published", "date")
KNOWN_FIELDS = tuple(FIELD_ALIASES) + DATE_FIELDS

_DATE_TERM = re.compile(r"(?<!\S)(?:published|date):(\S*)(?!\S)", re.I)
_COUNTRY_TERM = re.compile(r'(?<![\w.:/])country:(?:"([^"]*)"|([^\s()"]+))', re.I)
_DATE_VALUE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_FIELD_PREFIX = re.compile(r"([A-Za-z_]\w*):(.*)", re.S)
_FUZZY = re.compile(r"(.+?)~(\d*)$")
# A word of letters then digits or digits then letters ("g7", "f35", "5g"): also looked for split ("G-7").
_LETTERS_DIGITS = re.compile(r"^(?:([a-z]+)(\d+)|(\d+)([a-z]+))$")
_TYPED_WORD = re.compile(r"[A-Za-z]{3,}")
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})


class QueryError(ValueError):
    """A query the parser rejects; the message is shown to the user as is."""


# --- the query tree -------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One index term looked for in ``fields`` (scored over them together when they are text fields).

    ``forms``: other index terms of the same word, counted as occurrences of it
    (a country's name and its demonyms: "russia", "russian").
    """

    text: str
    fields: tuple[str, ...]
    forms: tuple[str, ...] = ()

    @property
    def texts(self) -> tuple[str, ...]:
        """The term and its other forms, whose occurrences all count as the term's."""
        return (self.text, *self.forms)


@dataclass(frozen=True)
class Phrase:
    """Index terms one right after another in one of ``fields``."""

    terms: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AnyOf:
    """Matches where any child matches; the scores of the children that match add up."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class AllOf:
    """Matches where every child matches (``Not`` children: where it does not)."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Every document the child does not match."""

    child: Node


@dataclass(frozen=True)
class Clauses:
    """A sequence of query parts as typed: each one required, optional or excluded.

    A document must hold every required part, and at least one optional part
    when nothing is required; with neither, everything but the excluded.
    At the top of a query, documents that hold more of the positive parts
    rank higher (``search_web.whoosh_engine.ranking``).
    """

    must: tuple[Node, ...] = ()
    should: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()

    @property
    def positive(self) -> tuple[Node, ...]:
        """The required parts, then the optional ones (the parts a document may hold)."""
        return self.must + self.should


@dataclass(frozen=True)
class Nothing:
    """Matches no document (a word no index holds, an empty expansion)."""


Node = Term | Phrase | AnyOf | AllOf | Not | Clauses | Nothing
NOTHING = Nothing()
MUST, SHOULD, MUST_NOT = "must", "should", "must_not"


@dataclass
class ParsedQuery:
    """What the search core runs: a query tree (None = everything) and date filters."""

    tree: Node | None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None  # exclusive
    words: list[str] = field(default_factory=list)  # plain words as typed, for corrections
    expansions_cut: bool = False


# --- dates, countries, links ----------------------------------------------------


def parse_date_bound(value: str, *, end: bool) -> dt.datetime:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the start of that period, or,
    with ``end``, the start of the period after it (an exclusive bound; see
    :func:`day_after` for the calendar's end)."""
    match = _DATE_VALUE.match(value.strip())
    if not match:
        raise QueryError(f"'{value}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match[1]), match[2] and int(match[2]), match[3] and int(match[3])
    try:
        if day:
            start = dt.datetime(year, month, day)
            return day_after(start.date()) if end else start
        if month:
            start = dt.datetime(year, month, 1)
            if not end:
                return start
            return day_after(dt.date(year, month, calendar.monthrange(year, month)[1]))
        return day_after(dt.date(year, 12, 31)) if end else dt.datetime(year, 1, 1)
    except (ValueError, OverflowError) as exc:
        raise QueryError(f"'{value}' is not a valid date") from exc


def day_after(day: dt.date) -> dt.datetime:
    """The start of the day after ``day``: the exclusive end of a range through it. After the
    calendar's last day (9999-12-31) comes none: its last moment stands in."""
    if day >= dt.date.max:
        return dt.datetime.max
    following = day + dt.timedelta(days=1)
    return dt.datetime(following.year, following.month, following.day)


def _take_date_terms(text: str) -> tuple[str, dt.datetime | None, dt.datetime | None]:
    date_from = date_to = None
    for match in _DATE_TERM.finditer(text):
        value = match.group(1)
        low, sep, high = value.partition("..")
        if not sep:
            low = high = value
        if not (low or high):
            raise QueryError("published: needs a date or a range such as published:2019..2021")
        if low:
            start = parse_date_bound(low, end=False)
            date_from = max(date_from, start) if date_from else start
        if high:
            stop = parse_date_bound(high, end=True)
            date_to = min(date_to, stop) if date_to else stop
    return _DATE_TERM.sub(" ", text), date_from, date_to


def _resolve_countries(text: str) -> str:
    """``country:china`` / ``country:"United States"`` -> ``country:cn`` (the indexed code)."""

    def code(match: re.Match[str]) -> str:
        value = match.group(1) if match.group(1) is not None else match.group(2)
        resolved = resolve_country(value)
        if resolved is None:
            raise QueryError(f"unknown country '{value[:40]}' in country:; use a name or an ISO code such as CN")
        return f"country:{resolved.lower()}"

    return _COUNTRY_TERM.sub(code, text)


_PASTED_URL = re.compile(r"https?://[^\s\"<>]+", re.I)


def _take_urls(text: str) -> tuple[str, Node | None]:
    """Pasted links become a search for the document at that address.

    A document's id is derived from its canonical URL, so the id field finds
    it without indexing URLs; the rest of the text is searched as usual.
    """
    ids = []
    for match in _PASTED_URL.finditer(text):
        url = canonical_url(match.group(0).rstrip(".,;:!?)]}'\""))
        if url:
            ids.append(stable_id("u", url))
    if not ids:
        return text, None
    rest = _PASTED_URL.sub(" ", text)
    if not re.search(r"\w", rest):
        rest = ""  # only the brackets or punctuation the link was pasted with
    return rest, AnyOf(tuple(Term(doc_id, ("id",)) for doc_id in dict.fromkeys(ids)))


def _check_nesting(text: str, limits: Limits) -> None:
    depth = deepest = 0
    for index, part in enumerate(text.split('"')):
        if index % 2:
            continue  # inside quotes
        for char in part:
            if char == "(":
                depth += 1
                deepest = max(deepest, depth)
            elif char == ")":
                depth = max(depth - 1, 0)
    if deepest > limits.max_nesting:
        raise QueryError(f"parentheses nest {deepest} deep; at most {limits.max_nesting} levels are allowed")


# --- parsing --------------------------------------------------------------------


def parse_query(text: str, reader: Any, limits: Limits, analyzer: EnglishTokenizer | None = None) -> ParsedQuery:
    """Turn the user's query text into a bounded :class:`ParsedQuery`.

    ``reader`` (a Whoosh reader) expands wildcards and fuzzy words into the
    index terms they stand for; ``analyzer`` is the text fields' analyzer.
    """
    _check_nesting(text, limits)
    if len(text) > limits.max_query_chars:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {limits.max_query_chars}")
    text = text.replace("\x00", " ")
    text, url_query = _take_urls(text)
    text, date_from, date_to = _take_date_terms(text)
    text = _resolve_countries(text).strip()
    parser = _Parser(_lex(text), reader, limits, analyzer or EnglishTokenizer())
    tree = parser.parse()
    if parser.clauses > limits.max_clauses:
        raise QueryError(f"the query has {parser.clauses} parts; at most {limits.max_clauses} are allowed")
    if url_query is not None:
        tree = url_query if tree is None else Clauses(must=(url_query,), should=(tree,))
    return ParsedQuery(tree, date_from, date_to, parser.words, parser.cut)


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "phrase", "field", "(", ")", "op", "sign"
    value: str = ""


def _lex(text: str) -> list[_Token]:
    """The query's words, phrases, field names, parentheses, operators and leading signs."""
    tokens: list[_Token] = []
    at, size = 0, len(text)
    while at < size:
        char = text[at]
        if char.isspace():
            at += 1
        elif char in "()":
            tokens.append(_Token(char))
            at += 1
        elif char == '"':
            end = text.find('"', at + 1)
            end = size if end < 0 else end
            tokens.append(_Token("phrase", text[at + 1 : end]))
            at = end + 1
        elif char in "+-":
            # A sign only where a word begins: "low-code" keeps its hyphen; a lone "-" is nothing.
            if at + 1 < size and not text[at + 1].isspace():
                tokens.append(_Token("sign", char))
            at += 1
        else:
            end = at
            while end < size and not text[end].isspace() and text[end] not in '()"':
                end += 1
            word = text[at:end]
            at = end
            prefix = _FIELD_PREFIX.fullmatch(word)
            if prefix and (prefix.group(2) or (at < size and text[at] in '("')):
                tokens.append(_Token("field", prefix.group(1)))
                if prefix.group(2):
                    tokens.append(_Token("word", prefix.group(2)))
            elif word in OPERATORS:
                if word == "ANDNOT":
                    tokens += [_Token("op", "AND"), _Token("op", "NOT")]
                elif word != "ANDMAYBE":  # "a ANDMAYBE b": b is optional, as every plain word is
                    tokens.append(_Token("op", word))
            else:
                tokens.append(_Token("word", word))
    return tokens


class _Parser:
    """Recursive descent over the tokens: sequence > OR > AND > NOT / signs > atoms."""

    def __init__(self, tokens: list[_Token], reader: Any, limits: Limits, analyzer: EnglishTokenizer) -> None:
        self.tokens = tokens
        self.at = 0
        self.reader = reader
        self.limits = limits
        self.analyzer = analyzer
        self.clauses = 0
        self.cut = False
        self.words: list[str] = []
        self.dropped = False  # a word was left out as a stop word
        self.fuzzy_words = 0

    def parse(self) -> Node | None:
        tree = self._sequence(TEXT_FIELDS)
        while self.at < len(self.tokens):  # a stray ")" ends a sequence early: read on after it
            self.at += 1
            more = self._sequence(TEXT_FIELDS)
            tree = _merge(tree, more)
        if not tree.positive and not tree.must_not:
            # Stop words alone ("the of") look for nothing: they match nothing, as typed.
            return Clauses(should=(NOTHING,)) if self.dropped else None
        return tree

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _sequence(self, fields: tuple[str, ...]) -> Clauses:
        items: dict[tuple[str, Node], None] = {}  # in order, each part once
        while (token := self._peek()) is not None and token.kind != ")":
            item = self._either(fields)
            if item is not None:
                items[item] = None
        must = tuple(node for occur, node in items if occur == MUST)
        should = tuple(node for occur, node in items if occur == SHOULD)
        must_not = tuple(node for occur, node in items if occur == MUST_NOT)
        # An optional part that can match nothing (a wildcard no index term begins so) holds nothing.
        kept = tuple(node for node in should if node != NOTHING)
        return Clauses(must, kept or (should[:1] if not must else ()), must_not)

    def _either(self, fields: tuple[str, ...]) -> tuple[str, Node] | None:
        return self._chain(fields, "OR", self._both, SHOULD, AnyOf)

    def _both(self, fields: tuple[str, ...]) -> tuple[str, Node] | None:
        return self._chain(fields, "AND", self._unary, MUST, AllOf)

    def _chain(self, fields: tuple[str, ...], operator: str, operand: Any, occur: str, combine: Any):
        """Operands joined by ``operator``: one of them as it is, several as ``combine`` of them."""
        parts = [operand(fields)]
        while (token := self._peek()) is not None and token == _Token("op", operator):
            self.at += 1
            self.clauses += 1
            parts.append(operand(fields))
        kept = [part for part in parts if part is not None]
        if len(kept) <= 1:
            return kept[0] if kept else None
        # Either of two filters is a filter too: "country:cn OR country:us" stays required.
        if all(part[0] == MUST for part in kept):
            occur = MUST
        return occur, combine(tuple(_as_node(part) for part in kept))

    def _unary(self, fields: tuple[str, ...]) -> tuple[str, Node] | None:
        """An atom after any run of ``NOT``, ``-`` and ``+`` (read in a loop: a thousand signs are
        one query, not a thousand calls deep); an even number of negations cancels out."""
        negated = required = False
        while (token := self._peek()) is not None and (token.kind == "sign" or token == _Token("op", "NOT")):
            if token.value == "+":
                required = True
            else:
                negated = not negated
            self.at += 1
        item = self._atom(fields)
        if item is None:
            return None
        if negated:
            return MUST_NOT, item[1]
        return (MUST, item[1]) if required else item

    def _atom(self, fields: tuple[str, ...]) -> tuple[str, Node] | None:
        token = self._peek()
        if token is None or token.kind == ")":
            return None
        self.at += 1
        self.clauses += 1
        if token.kind == "op":  # an operator with nothing to join ("AND OR NOT")
            return None
        if token.kind == "field":
            name = token.value.lower()
            if name not in FIELD_ALIASES:
                known = ", ".join(f"{f}:" for f in KNOWN_FIELDS)
                raise QueryError(f"unknown field '{token.value}:'; search one of {known}")
            inner = self._atom(FIELD_ALIASES[name])
            # A field names what a document must have: a filter, whatever it holds.
            return None if inner is None else (MUST, inner[1])
        if token.kind == "(":
            group = self._sequence(fields)
            if self._peek() is not None:
                self.at += 1  # its ")"
            if not (group.positive or group.must_not):
                return None
            # A group that requires something (a field, a phrase) is required itself: parentheses
            # never loosen what is inside them.
            return (MUST if group.must else SHOULD), _simplified(group)
        if token.kind == "phrase":
            node = self._phrase(token.value, fields)
            return None if node is None else (MUST, node)
        node = self._word(token.value, fields)
        return None if node is None else (SHOULD, node)

    # -- words ---------------------------------------------------------------

    def _terms(self, text: str, fields: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """The words of ``text`` as written and their index terms ("" for a dropped word) in ``fields``."""
        if fields[0] in KEYWORD_FIELDS:
            value = text.strip().lower()
            return ([value], [value]) if value else ([], [])
        words = self.analyzer.words(text)
        return words, [self.analyzer.term_of(word) for word in words]

    def _phrase_terms(self, terms: list[str]) -> tuple[str, ...]:
        """The terms a phrase looks for one after another: the index leaves dropped words out of the
        positions, and a stop word written otherwise ("ins" of "plug-ins", whose stem is "in") too,
        so that "plug-ins" meets "plug-in" (where "in" was dropped)."""
        return tuple(term for term in terms if term and term not in self.analyzer.stop_words)

    def _phrase(self, text: str, fields: tuple[str, ...]) -> Node | None:
        """A quoted phrase's node; None when all its words are stop words (then it is no part)."""
        words, terms = self._terms(text, fields)
        kept = self._phrase_terms(terms)
        if not kept:
            self.dropped = self.dropped or bool(words)
            return None
        return Term(kept[0], fields) if len(kept) == 1 else Phrase(kept, fields)

    def _word(self, text: str, fields: tuple[str, ...]) -> Node | None:
        """A word's node; None when it is a stop word, or only punctuation (then it is no part)."""
        text = text.strip("+-")
        fuzzy = _FUZZY.fullmatch(text)
        if fuzzy:
            return self._fuzzy(fuzzy.group(1), int(fuzzy.group(2) or 1), fields)
        if "*" in text or "?" in text:
            return self._pattern(text, fields)
        words, terms = self._terms(text, fields)
        kept = [term for term in terms if term]
        if not kept:
            self.dropped = self.dropped or bool(words)
            return None
        if len(words) == 1:
            if fields == TEXT_FIELDS and _TYPED_WORD.fullmatch(words[0]):
                self.words.append(words[0])
            forms = _word_forms(self.analyzer).get(kept[0], ()) if fields[0] not in KEYWORD_FIELDS else ()
            return Term(kept[0], fields, forms) if forms else self._joined_letters_digits(kept[0], fields)
        # Words joined by hyphens, slashes, ampersands...: the parts one after another, or as one word.
        joined = self.analyzer.term_of("".join(words))
        kept = list(self._phrase_terms(terms)) or kept
        parts = Term(kept[0], fields) if len(kept) == 1 else Phrase(tuple(kept), fields)
        self.clauses += 1
        return AnyOf(tuple(dict.fromkeys([parts, Term(joined, fields)]))) if joined else parts

    def _joined_letters_digits(self, term: str, fields: tuple[str, ...]) -> Node:
        """``g7`` also as ``g 7`` ("G-7", "G 7"); any other term as it is."""
        split = _LETTERS_DIGITS.match(term) if fields[0] not in KEYWORD_FIELDS else None
        if split is None:
            return Term(term, fields)
        parts = tuple(part for part in split.groups() if part)
        self.clauses += 1
        return AnyOf((Term(term, fields), Phrase(parts, fields)))

    def _fuzzy(self, text: str, distance: int, fields: tuple[str, ...]) -> Node | None:
        _, terms = self._terms(text, fields)
        term = next((t for t in terms if t), "")
        if not term:
            return None
        self.fuzzy_words += 1
        if self.fuzzy_words > self.limits.max_fuzzy_words:  # each one walks the fields' term lists
            raise QueryError(f"at most {self.limits.max_fuzzy_words} fuzzy words (word~) are allowed in one query")
        distance = min(distance, self.limits.max_fuzzy_distance)
        found: dict[str, None] = {}
        for name in fields:
            if name in self.reader.schema:
                for word in itertools.islice(self.reader.terms_within(name, term, distance, prefix=1), 1000):
                    found[_text(word)] = None
        return self._expanded(list(found), fields)

    def _pattern(self, pattern: str, fields: tuple[str, ...]) -> Node:
        pattern = pattern.lower()
        literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
        if not pattern.strip("*?"):
            raise QueryError("a lone * wildcard would match everything; leave the box empty to browse all documents")
        if len(literal) < self.limits.min_prefix_chars:
            raise QueryError(
                f"'{pattern}': a wildcard needs at least {self.limits.min_prefix_chars} letters before the * or ?"
            )
        rest = pattern[len(literal) :]
        matcher = None if rest.strip("*") == "" else re.compile(fnmatch.translate(pattern)).match
        found: dict[str, None] = {}
        for name in fields:
            if name not in self.reader.schema:
                continue
            # Scan a bounded number of terms under the literal prefix.
            scanned = itertools.islice(self.reader.expand_prefix(name, literal), self.limits.max_expansions * 20)
            for word in map(_text, scanned):
                if matcher is None or matcher(word):
                    found[word] = None
        return self._expanded(sorted(found), fields)

    def _expanded(self, terms: list[str], fields: tuple[str, ...]) -> Node:
        if len(terms) > self.limits.max_expansions:
            self.cut = True
            terms = terms[: self.limits.max_expansions]
        self.clauses += len(terms) // 10
        if self.clauses > self.limits.max_clauses:  # refused before more expansions are looked up
            raise QueryError(f"the query has over {self.limits.max_clauses} parts; at most that many are allowed")
        if not terms:
            return NOTHING
        return Term(terms[0], fields) if len(terms) == 1 else AnyOf(tuple(Term(t, fields) for t in terms))


@functools.lru_cache(maxsize=8)  # analyzers are equal by their settings: one entry serves every index
def _word_forms(analyzer: EnglishTokenizer) -> dict[str, tuple[str, ...]]:
    """Index term -> the other index terms of the same word (``indexer.countries.country_word_forms``)."""
    forms: dict[str, tuple[str, ...]] = {}
    for group in country_word_forms():
        terms = sorted({analyzer.term_of(word) for word in group} - {""})
        for term in terms:
            forms[term] = tuple(t for t in terms if t != term)
    return forms


def _text(term: Any) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


def _as_node(item: tuple[str, Node]) -> Node:
    occur, node = item
    return Not(node) if occur == MUST_NOT else node


def _simplified(group: Clauses) -> Node:
    """A group of one optional part is that part."""
    if len(group.should) == 1 and not group.must and not group.must_not:
        return group.should[0]
    return group


def _merge(first: Clauses, second: Clauses) -> Clauses:
    return Clauses(first.must + second.must, first.should + second.should, first.must_not + second.must_not)


# --- what a query looks for -----------------------------------------------------


def query_terms(tree: Node | None) -> set[str]:
    """Index terms of the text fields a query looks for (for highlighting).

    Terms under a NOT are left out: they are what the user does not want.
    """
    terms: set[str] = set()
    for node in positive_leaves(tree):
        if set(node.fields) & set(TEXT_FIELDS):
            terms.update(node.terms if isinstance(node, Phrase) else node.texts)
    return terms


def positive_leaves(tree: Node | None) -> list[Term | Phrase]:
    """The terms and phrases of a tree that are not excluded, in order."""
    found: list[Term | Phrase] = []

    def walk(node: Node) -> None:
        if isinstance(node, Term | Phrase):
            found.append(node)
        elif isinstance(node, AnyOf | AllOf):
            for child in node.children:
                walk(child)
        elif isinstance(node, Clauses):
            for child in node.positive:
                walk(child)

    if tree is not None:
        walk(tree)
    return found
