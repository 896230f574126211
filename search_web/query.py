"""The query language: user text -> a bounded Whoosh query plus date filters.

Words are all required (AND) and ranked; ``"phrases"``, ``OR``, ``-word`` /
``NOT``, ``field:value`` for title, provider, topic, author and kind, and
``published:2019..2021`` date ranges, ``country:china`` (a name or an ISO code). Everything expensive is bounded here,
before Whoosh sees it: length, nesting, clause count, wildcard prefixes and
their expansion, fuzzy distance.
"""

from __future__ import annotations

import calendar
import datetime as dt
import fnmatch
import itertools
import re
from dataclasses import dataclass, field

from whoosh import qparser
from whoosh import query as wq

from indexer.analysis import EnglishTokenizer
from indexer.countries import resolve_country
from indexer.documents import canonical_url, stable_id
from search_web.settings import Limits

TEXT_FIELDS = ("title", "excerpt", "body")
# Names a user types -> index fields searched.
FIELD_ALIASES = {
    "title": "title",
    "excerpt": "excerpt",
    "body": "body",
    "provider": "provider_text",
    "topic": "topic_text",
    "author": "author_text",
    "kind": "kind",
    "country": "country",
}
DATE_FIELDS = ("published", "date")
KNOWN_FIELDS = tuple(FIELD_ALIASES) + DATE_FIELDS

_FIELD_REF = re.compile(r"(?<![\w.:/])([A-Za-z_][\w]*):(?=\S|$)")
_DATE_TERM = re.compile(r"(?<!\S)(?:published|date):(\S*)(?!\S)", re.I)
_COUNTRY_TERM = re.compile(r'(?<![\w.:/])country:(?:"([^"]*)"|([^\s()"]+))', re.I)
_DATE_VALUE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
# Text that is nothing but words of letters and digits: no quotes, fields, wildcards or signs.
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9 ]+")
# Words Whoosh's parser reads as operators (only in capitals).
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})


class QueryError(ValueError):
    """A query the parser rejects; the message is shown to the user as is."""


@dataclass
class ParsedQuery:
    """What the search core runs: a Whoosh query (None = everything) and filters."""

    text_query: wq.Query | None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None  # exclusive
    words: list[str] = field(default_factory=list)  # plain words, for "did you mean"
    expansions_cut: bool = False


def parse_date_bound(value: str, *, end: bool) -> dt.datetime:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the start of that period, or,
    with ``end``, the start of the period after it (an exclusive bound)."""
    match = _DATE_VALUE.match(value.strip())
    if not match:
        raise QueryError(f"'{value}' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(match[1]), match[2] and int(match[2]), match[3] and int(match[3])
    try:
        if day:
            start = dt.datetime(year, month, day)
            return start + dt.timedelta(days=1) if end else start
        if month:
            start = dt.datetime(year, month, 1)
            if not end:
                return start
            return start + dt.timedelta(days=calendar.monthrange(year, month)[1])
        return dt.datetime(year + 1, 1, 1) if end else dt.datetime(year, 1, 1)
    except (ValueError, OverflowError) as exc:
        raise QueryError(f"'{value}' is not a valid date") from exc


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


def _outside_quotes(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_quoted, part) pieces."""
    parts = text.split('"')
    return [(index % 2 == 1, part) for index, part in enumerate(parts)]


def _rewrite_fields(text: str) -> str:
    """Map user field names to index fields; reject unknown ones."""
    pieces = []
    for quoted, part in _outside_quotes(text):
        if not quoted:
            for match in _FIELD_REF.finditer(part):
                name = match.group(1).lower()
                if name not in FIELD_ALIASES:
                    known = ", ".join(f"{f}:" for f in KNOWN_FIELDS)
                    raise QueryError(f"unknown field '{match.group(1)}:'; search one of {known}")
            part = _FIELD_REF.sub(lambda m: FIELD_ALIASES[m.group(1).lower()] + ":", part)
        pieces.append(part)
    return '"'.join(pieces)


def _check_nesting(text: str, limits: Limits) -> None:
    depth = deepest = 0
    for quoted, part in _outside_quotes(text):
        if quoted:
            continue
        for char in part:
            if char == "(":
                depth += 1
                deepest = max(deepest, depth)
            elif char == ")":
                depth = max(depth - 1, 0)
    if deepest > limits.max_nesting:
        raise QueryError(f"parentheses nest {deepest} deep; at most {limits.max_nesting} levels are allowed")


def make_parser(schema) -> qparser.QueryParser:
    """Whoosh's parser, with the syntax users need and nothing costly."""
    parser = qparser.MultifieldParser(list(TEXT_FIELDS), schema, group=qparser.AndGroup)
    parser.remove_plugin_class(qparser.RangePlugin)
    parser.remove_plugin_class(qparser.EveryPlugin)
    parser.remove_plugin_class(qparser.BoostPlugin)
    parser.add_plugin(qparser.PlusMinusPlugin())
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser


def parse_query(text: str, parser: qparser.QueryParser, reader, limits: Limits) -> ParsedQuery:
    """Turn the user's query text into a bounded :class:`ParsedQuery`."""
    _check_nesting(text, limits)
    if len(text) > limits.max_query_chars:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {limits.max_query_chars}")
    text = text.replace("\x00", " ")
    text, url_query = _take_urls(text)
    text, date_from, date_to = _take_date_terms(text)
    text = _rewrite_fields(_resolve_countries(text)).strip()
    words = [
        w
        for q, part in _outside_quotes(text)
        if not q
        for w in re.findall(r"(?<![\w:*~-])[A-Za-z]{3,}\b(?![:*~])", part)
    ]
    words = [w for w in words if w not in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")]
    if not text:
        return ParsedQuery(url_query, date_from, date_to, words)
    try:
        parsed = plain_words_query(text, parser)
        if parsed is None:
            parsed = parser.parse(text)
    except RecursionError as exc:
        raise QueryError("the query is nested too deeply") from exc
    except Exception as exc:  # Whoosh raises many kinds for odd syntax
        raise QueryError(f"the query could not be read ({type(exc).__name__}); check quotes and parentheses") from exc
    bounded = _Bounder(reader, limits)
    result = bounded.visit(parsed)
    if bounded.clauses > limits.max_clauses:
        raise QueryError(f"the query has {bounded.clauses} parts; at most {limits.max_clauses} are allowed")
    if url_query is not None:
        result = wq.And([result, url_query])
    return ParsedQuery(result, date_from, date_to, words, bounded.cut)


def plain_words_query(text: str, parser: qparser.QueryParser) -> wq.Query | None:
    """The query ``parser`` makes of ``text`` when ``text`` is plain words; None for anything else.

    Most queries are a few words. Whoosh's parser took 0.2-0.4 ms for them
    (a plugin pass per token), as long as matching and ranking a rare word;
    their query is made here instead: each distinct word's index term looked
    for in every text field, and all of them required.
    ``tests/test_plain_word_queries.py`` checks it equals the parser's.
    """
    if not _PLAIN_WORDS.fullmatch(text):
        return None
    words = text.split()
    analyzer = parser.schema[TEXT_FIELDS[0]].analyzer
    if _OPERATORS.intersection(words) or not isinstance(analyzer, EnglishTokenizer):
        return None
    if any(parser.schema[name].analyzer != analyzer for name in TEXT_FIELDS[1:]):
        return None
    # A word of letters and digits is one token; a stop word (term "") is dropped as Whoosh drops it.
    terms = dict.fromkeys(filter(None, map(analyzer.term_of, words)))
    clauses = [wq.Or([wq.Term(name, term) for name in TEXT_FIELDS]) for term in terms]
    if not clauses:
        return wq.NullQuery
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


_PASTED_URL = re.compile(r"https?://[^\s\"<>]+", re.I)


def _take_urls(text: str) -> tuple[str, wq.Query | None]:
    """Pasted links become a search for the document at that address.

    A document's id is derived from its canonical URL, so the id field finds
    it without indexing URLs; the rest of the text is searched as usual.
    """
    ids = []
    for match in _PASTED_URL.finditer(text):
        url = canonical_url(match.group(0).rstrip(".,;:!?)]}'"))
        if url:
            ids.append(stable_id("u", url))
    if not ids:
        return text, None
    rest = _PASTED_URL.sub(" ", text)
    if not re.search(r"\w", rest):
        rest = ""  # only the brackets or punctuation the link was pasted with
    return rest, wq.Or([wq.Term("id", doc_id) for doc_id in dict.fromkeys(ids)])


class _Bounder:
    """Walks a parsed query: counts clauses, expands wildcards with a cap."""

    def __init__(self, reader, limits: Limits):
        self.reader = reader
        self.limits = limits
        self.clauses = 0
        self.cut = False

    def visit(self, node: wq.Query) -> wq.Query:
        self.clauses += 1
        if isinstance(node, wq.Every):
            raise QueryError("a lone * wildcard would match everything; leave the box empty to browse all documents")
        if isinstance(node, wq.Prefix | wq.Wildcard):
            return self._expand(node)
        if isinstance(node, wq.FuzzyTerm):
            node.maxdist = min(node.maxdist, self.limits.max_fuzzy_distance)
            node.prefixlength = max(node.prefixlength, 1)
            return node
        if node.is_leaf():
            return node
        return node.apply(self.visit)

    def _expand(self, node: wq.PatternQuery) -> wq.Query:
        pattern = node.text
        literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
        if len(literal) < self.limits.min_prefix_chars:
            raise QueryError(
                f"'{pattern}': a wildcard needs at least {self.limits.min_prefix_chars} letters before the * or ?"
            )
        matcher = None if isinstance(node, wq.Prefix) else re.compile(fnmatch.translate(pattern)).match
        # Scan a bounded number of terms under the literal prefix.
        scanned = itertools.islice(self.reader.expand_prefix(node.fieldname, literal), self.limits.max_expansions * 20)
        terms = []
        for term in scanned:
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if matcher is None or matcher(word):
                terms.append(word)
                if len(terms) > self.limits.max_expansions:
                    self.cut = True
                    terms = terms[: self.limits.max_expansions]
                    break
        self.clauses += len(terms) // 10
        if not terms:
            return wq.NullQuery
        return wq.Or([wq.Term(node.fieldname, t) for t in terms], boost=node.boost)


def query_terms(parsed: wq.Query | None) -> set[str]:
    """Index terms of the text fields a query looks for (for highlighting).

    Terms under a NOT are left out: they are what the user does not want.
    """
    terms: set[str] = set()
    if parsed is None:
        return terms

    def walk(node: wq.Query) -> None:
        if isinstance(node, wq.Not):
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
            return
        if isinstance(node, wq.Term | wq.Phrase | wq.FuzzyTerm):
            for fieldname, text in node.iter_all_terms():
                if fieldname in TEXT_FIELDS:
                    terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
            return
        for child in node.children():
            walk(child)

    walk(parsed)
    return terms
