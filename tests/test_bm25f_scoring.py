"""BM25F as the ranking defines it: per word, field-weighted, length-normalised frequencies summed
over title, excerpt, related coverage and body, then one saturation and one idf.

The numpy scores are compared with the formula computed posting by posting
through Whoosh's reader (tests/reference.py), on the corpus and on small
indexes made to show what the formula must do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_web.engine import SearchRequest
from search_web.query import TEXT_FIELDS, Phrase, Term, parse_query
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex, bm25f_parameters
from tests.conftest import build_index
from tests.reference import leaf_scores

WORDS = ["china", "sanction", "recognit", "power", "app", "export", "lowcod", "movidius", "zzzz"]
PHRASES = [("export", "control"), ("power", "app"), ("suppli", "chain"), ("face", "recognit")]


def scores_of(index: SearchIndex, node) -> dict[int, float]:
    gen = index.generation()
    if isinstance(node, Term):
        ids, values = gen.term_scorer.term_scores(node.texts, node.fields)
    else:
        ids, values = gen.term_scorer.phrase_scores(node.terms, node.fields)
    return dict(zip(ids.tolist(), values.tolist(), strict=True))


def assert_same(ours: dict[int, float], reference: dict[int, float]) -> None:
    assert ours.keys() == reference.keys()
    assert all(math.isclose(ours[d], reference[d], rel_tol=1e-9, abs_tol=1e-12) for d in ours)


@pytest.fixture(scope="module")
def corpus(corpus_index):
    index = SearchIndex(corpus_index)
    yield index
    index.close()


@pytest.mark.parametrize("node", [Term(w, TEXT_FIELDS) for w in WORDS] + [Phrase(p, TEXT_FIELDS) for p in PHRASES])
def test_scores_are_the_formula_on_the_corpus(corpus, node):
    reader = corpus.generation().searcher().reader()
    assert_same(scores_of(corpus, node), leaf_scores(reader, node, bm25f_parameters(corpus.limits)))


def test_a_country_and_its_demonyms_are_counted_as_one_word(corpus):
    node = Term("russian", TEXT_FIELDS, ("russia",))
    reader = corpus.generation().searcher().reader()
    ours = scores_of(corpus, node)
    assert_same(ours, leaf_scores(reader, node, bm25f_parameters(corpus.limits)))
    assert len(ours) > len(scores_of(corpus, Term("russian", TEXT_FIELDS)))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four records: the word in every field, in the title only, in the body only, and once in a long body."""
    folder = tmp_path_factory.mktemp("bm25f")
    records = {
        "everywhere": ("Sanctions on chips", "New sanctions announced", "Sanctions follow sanctions."),
        "title": ("Sanctions on chips", "Talks in Geneva", ""),
        "body": ("Talks on chips", "Talks in Geneva", "The sanctions were discussed."),
        "long": ("Talks on chips", "Talks in Geneva", "sanctions " + "diplomacy talks " * 400),
    }
    for name, (title, excerpt, body) in records.items():
        (folder / "src").mkdir(exist_ok=True)
        (folder / "src" / f"{name}.md").write_text(
            f'---\ntitle: "{title}"\nexcerpt: "{excerpt}"\nsourceUrl: https://example.org/{name}\n---\n{body}\n',
            "utf-8",
        )
    build_index([folder / "src"], folder / "ix")
    return folder / "ix"


def by_source(index: SearchIndex, q: str) -> dict[str, float]:
    selected, scores = index.matches(SearchRequest(q=q))
    reader = index.generation().searcher().reader()
    return {reader.stored_fields(int(d))["source"][:-3]: float(scores[d]) for d in np.flatnonzero(selected)}


def test_one_saturation_and_one_idf_over_all_fields(small):
    limits = Limits()
    index = SearchIndex(small, limits)
    scores = by_source(index, "sanctions")
    index.close()
    assert set(scores) == {"everywhere", "title", "body", "long"}
    df = 4
    idf = math.log(1 + (4 - df + 0.5) / (df + 0.5))
    # However often and wherever the word occurs, one saturation bounds the score by idf * (k1 + 1):
    # per-field BM25 added up would pass it for the record holding the word in every field.
    assert all(score < idf * (limits.bm25_k1 + 1) for score in scores.values())
    assert scores["everywhere"] > max(scores["title"], scores["body"])
    assert scores["body"] > scores["long"], "one occurrence in a long body counts less than in a short one"


def test_field_weights_and_normalisation_are_settings(small):
    plain = SearchIndex(small, Limits())
    body_first = SearchIndex(small, Limits(weight_title=0.2, weight_excerpt=0.2, weight_body=5.0))
    unnormalised = SearchIndex(small, Limits(b_body=0.0))
    try:
        weighted, reweighted = by_source(plain, "sanctions"), by_source(body_first, "sanctions")
        assert reweighted["title"] / reweighted["body"] < weighted["title"] / weighted["body"] / 4
        # Without length normalisation the long body's single occurrence counts as much as the short one's.
        free = by_source(unnormalised, "sanctions")
        assert math.isclose(free["long"], free["body"])
        assert by_source(plain, "sanctions")["long"] < by_source(plain, "sanctions")["body"]
    finally:
        for index in (plain, body_first, unnormalised):
            index.close()


def test_lengths_are_normalised_against_the_whole_collections_average(small):
    index = SearchIndex(small)
    scorer = index.generation().term_scorer
    try:
        for name in TEXT_FIELDS:
            assert scorer.average_lengths[name] == pytest.approx(scorer.lengths[name].mean() or 1.0)
    finally:
        index.close()


def test_coordination_ranks_documents_holding_more_words_first(small):
    index = SearchIndex(small, Limits(coordination=1.0))
    flat = SearchIndex(small, Limits(coordination=0.0))
    try:
        coordinated, summed = by_source(index, "sanctions geneva"), by_source(flat, "sanctions geneva")
        assert coordinated.keys() == summed.keys() == {"everywhere", "title", "body", "long"}
        # "title", "body" and "long" hold both words; "everywhere" one: its score is halved.
        assert math.isclose(coordinated["everywhere"], summed["everywhere"] / 2)
        for name in ("title", "body", "long"):
            assert math.isclose(coordinated[name], summed[name])
        tree = parse_query("sanctions geneva", index.generation().searcher().reader(), index.limits).tree
        assert len(tree.positive) == 2
    finally:
        index.close()
        flat.close()
