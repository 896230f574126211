"""Queries of plain words are made without Whoosh's parser, and equal what the parser makes."""

from __future__ import annotations

import random
import sys

import pytest
from whoosh import query as wq

from indexer.analysis import STOP_WORDS
from indexer.schema import build_schema
from search_web.query import QueryError, make_parser, parse_query, plain_words_query
from search_web.settings import Limits
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import Generator


@pytest.fixture(scope="module")
def parser():
    return make_parser(build_schema())


def sample_queries() -> list[str]:
    """Word queries as analysts type them: vocabulary words, stop words, numbers, odd case, repeats."""
    rng = random.Random(7)
    vocabulary = [str(word) for word in Generator(seed=1, report_share=0).words[:5000]]
    pool = vocabulary + sorted(STOP_WORDS) + ["2024", "g7", "5g", "x" * 45, "Running", "RUNS", "ran", "us", "who"]
    queries = [" ".join(rng.choice(pool) for _ in range(rng.randint(1, 6))) for _ in range(1500)]
    queries += [word.upper() for word in vocabulary[:100]] + [word.title() for word in vocabulary[100:200]]
    queries += ["the", "the of and", "china  china", "taiwan china taiwan", "  drone  ", "a b", "0", "and"]
    return queries


def test_plain_word_queries_equal_the_parsers(parser):
    for text in sample_queries():
        made = plain_words_query(text, parser)
        assert made is not None, text
        assert made == parser.parse(text), text


@pytest.mark.parametrize(
    "text",
    [
        "china OR taiwan",
        "china AND taiwan",
        "NOT china",
        "china ANDNOT taiwan",
        '"supply chain"',
        "title:china",
        "chin*",
        "china~",
        "-china",
        "+china",
        "(china)",
        "China's",
        "U.S.",
        "drone-maker",
        "",
        "Zürich",
    ],
)
def test_anything_but_plain_words_goes_to_the_parser(parser, text):
    assert plain_words_query(text, parser) is None


def test_operators_in_lower_case_are_words(parser):
    # Whoosh reads only capitals as operators: "or" is a stop word, "not" a word.
    for text in ("china or taiwan", "china not taiwan", "and"):
        assert plain_words_query(text, parser) == parser.parse(text)


def test_word_queries_keep_the_clause_limit(parser):
    """The made query is bounded as the parser's was: And + per word an Or of three terms."""
    limits = Limits(max_clauses=9)
    assert isinstance(parse_query("china taiwan", parser, None, limits).text_query, wq.And)  # 1 + 2 * 4 parts
    with pytest.raises(QueryError, match="13 parts"):
        parse_query("china taiwan drone", parser, None, limits)
