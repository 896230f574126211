"""The relevance evaluation (benchmarks/relevance): judged as its README says, and the product ranks at
or above both off-the-shelf anchors on it, for all queries and for each half."""

from __future__ import annotations

import pytest

from benchmarks import ranking_eval
from search_web.whoosh_engine import SearchIndex


@pytest.fixture(scope="module")
def report(corpus_index):
    index = SearchIndex(corpus_index)
    try:
        yield ranking_eval.evaluate(
            ranking_eval.all_rankings(index), ranking_eval.load_queries(), ranking_eval.load_judgments()
        )
    finally:
        index.close()


def test_the_queries_are_judged_by_the_rules():
    queries = ranking_eval.load_queries()
    judgments = ranking_eval.load_judgments()
    assert len(queries) >= 60
    assert {item["kind"] for item in queries} >= {"keyword", "natural", "joiner", "acronym", "misspelling", "platform"}
    assert len({item["q"] for item in queries}) == len(queries)
    assert sorted(item["half"] for item in queries).count("A") == len(queries) // 2
    raw = ranking_eval.yaml.safe_load(ranking_eval.JUDGMENTS.read_text("utf-8"))["queries"]
    for item in raw:
        assert item["judged"], item["q"]
        for key, judged in item["judged"].items():
            assert judged["grade"] in (0, 1, 2) and judged["note"].strip(), (item["q"], key)
            assert "#" in key, key
    for item in queries:
        assert any(judgments[item["q"]].values()), f"{item['q']}: nothing relevant was judged"


def test_every_judged_document_is_in_the_index(corpus_index):
    index = SearchIndex(corpus_index)
    try:
        keys = {doc["key"] for doc in ranking_eval.corpus_documents(index)}
    finally:
        index.close()
    for q, grades in ranking_eval.load_judgments().items():
        assert set(grades) <= keys, (q, set(grades) - keys)


@pytest.mark.parametrize("part", ["all", "A", "B"])
@pytest.mark.parametrize("measure", ["ndcg", "recall"])
def test_the_product_ranks_at_or_above_both_anchors(report, part, measure):
    summary = report["summary"]
    product = summary["product"][part][measure]
    for anchor in ("tantivy", "sqlite"):
        assert product >= summary[anchor][part][measure], (anchor, part, measure, summary)


def test_the_product_finds_nearly_everything_judged_relevant(report):
    assert report["summary"]["product"]["all"]["recall"] >= 0.95
    assert report["summary"]["product"]["all"]["ndcg"] >= 0.8


def test_measures():
    assert ranking_eval.ndcg(["a", "b"], {"a": 2, "b": 1}) == 1.0
    assert ranking_eval.ndcg(["b", "a"], {"a": 2, "b": 1}) < 1.0
    assert ranking_eval.ndcg(["x"], {"a": 2}) == 0.0
    assert ranking_eval.recall(["a", "x"], {"a": 2, "b": 1, "c": 0}) == 0.5
    assert ranking_eval.recall(["a"], {"a": 2}, cutoff=0) == 0.0


def test_the_fts5_query_is_any_word():
    assert ranking_eval.fts5_any_word('low-code "supply chain" -china U.S.') == '"low code" OR "supply chain" OR "U S"'
