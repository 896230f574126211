"""The fast paths (numpy matching and BM25F, facet columns, date column) give the straightforward answers.

On a few thousand generated documents (benchmarks/generate.py), every query of
the benchmark mix and more is answered twice: by the product, and the plain
way — Whoosh's own matchers on the equivalent Whoosh query, its hits filtered
by their stored date and provider, scores computed posting by posting
(``tests/reference.py``), and facet counts made by reading each hit's stored
fields. Same matches, same scores, same counts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import numpy as np
import pytest

from benchmarks.generate import Generator
from indexer.build import run_build
from indexer.store.schema import stored_documents
from search_web.engine import SearchRequest
from search_web.query import parse_query
from search_web.settings import Limits
from search_web.whoosh_engine import SPARSE_DATE_SHARE, SearchIndex, bm25f_parameters
from tests.reference import matching_documents, tree_scores

# Matches a few dozen of the 2,500 documents: its date range is checked on the matches alone.
FEW_MATCHES_WORD = str(Generator(seed=1, report_share=0).words[800])
QUERIES = [
    ("china", None, None),
    ("china taiwan drone missile sanctions", None, None),
    ("security -china", None, None),
    ("-china", None, None),
    ("china AND (chips OR semiconductor)", None, None),
    ("+taiwan drone missile", None, None),
    ("supply-chain risk", None, None),
    ("export controls", None, None),
    ("china taiwan drone", None, None),
    ("chin* OR taiwan", None, None),
    ("title:russia drone", None, None),
    ("topic:defense china", None, None),
    ("kind:report china", None, None),
    ('"supply chain"', None, None),
    ('"export controls" china', None, None),
    ('"supply chain" OR "export controls"', None, None),
    ('"export controls"', ("2016-01-01", "2022-12-31"), None),
    ("russia", ("2019-01-01", "2020-12-31"), None),
    (FEW_MATCHES_WORD, ("2016-01-01", "2020-12-31"), None),
    ("security", None, "Provider 2"),
    ("market~", None, None),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    Generator(seed=3, report_share=0.03).write(2500, folder / "src")
    (folder / "src" / "undated-briefing.md").write_text(  # a report whose date nothing tells: undated
        "Briefing on export controls\n\nAuthor: A. Analyst\n\nChina and Russia weigh export controls on drones.\n",
        encoding="utf-8",
    )
    run_build([folder / "src"], folder / "ix")
    index = SearchIndex(folder / "ix", Limits(reload_check_s=0))
    yield index
    index.close()


def straightforward(index: SearchIndex, q: str, dates, provider) -> tuple[dict[str, float], dict[str, Counter]]:
    """Scores by document id and facet counts, the plain way.

    Dates and providers have no terms in the index (they are columns), so the
    plain way filters the hits by their stored values.
    """
    gen = index.generation()
    searcher = gen.index.searcher()
    try:
        reader = searcher.reader()
        tree = parse_query(q, reader, index.limits).tree
        reference = tree_scores(reader, tree, bm25f_parameters(index.limits), index.limits.coordination)
        start = end = None
        if dates:
            start, end = (dt.datetime.fromisoformat(d) for d in dates)
            end += dt.timedelta(days=1)
        scores, counts = {}, {"provider": Counter(), "topic": Counter(), "year": Counter()}
        for docnum in matching_documents(searcher, tree):
            stored = reader.stored_fields(docnum)
            published = stored.get("published")
            if dates and not (published and start <= published < end):
                continue
            if provider and stored.get("provider") != provider:
                continue
            scores[stored["id"]] = reference.get(docnum, 0.0)
            if stored.get("provider"):
                counts["provider"][stored["provider"]] += 1
            counts["topic"].update(stored.get("topics") or [])
            if published:
                counts["year"][f"{published.year:04d}"] += 1
        return scores, counts
    finally:
        searcher.close()


def product(index: SearchIndex, q: str, dates, provider) -> tuple[dict[str, float], dict[str, Counter], int]:
    request = SearchRequest(q=q, per_page=50, collapse=False)
    if dates:
        request.date_from, request.date_to = (dt.date.fromisoformat(d) for d in dates)
    if provider:
        request.providers = [provider]
    result = index.search(request, with_corrections=False)
    selected, values = index.matches(request)
    reader = index.generation().searcher().reader()
    scores = {reader.stored_fields(int(d))["id"]: float(values[d]) for d in np.flatnonzero(selected)}
    counts = {
        name: Counter({v["value"]: v["count"] for v in values if v["count"]})
        for name, values in result.facets.items()
        if name in ("provider", "topic", "year")
    }
    return scores, counts, result.total


@pytest.mark.parametrize(("q", "dates", "provider"), QUERIES, ids=[q[0] for q in QUERIES])
def test_same_matches_scores_and_counts_as_plain_whoosh(generated, q, dates, provider):
    plain_scores, plain_counts = straightforward(generated, q, dates, provider)
    scores, counts, total = product(generated, q, dates, provider)
    if "-" in q.replace("supply-chain", ""):  # whoosh3's AndNot over OR-ed fields lets some through
        assert scores.keys() <= plain_scores.keys()
        plain_scores = {doc_id: s for doc_id, s in plain_scores.items() if doc_id in scores}
    assert total == len(scores) == len(plain_scores) > 0
    if provider:  # facets are disjunctive: the provider facet is counted without its own selection
        plain_counts["provider"] = straightforward(generated, q, dates, None)[1]["provider"]
    assert scores.keys() == plain_scores.keys()
    assert max(abs(scores[d] - plain_scores[d]) for d in scores) < 1e-9
    if "-" not in q:
        for name in ("provider", "topic", "year"):
            # Every count shown is the plain count, and the most common value is shown.
            assert counts[name] == {value: plain_counts[name][value] for value in counts[name]}
            if plain_counts[name]:
                best = plain_counts[name].most_common(1)[0][1]
                assert max(counts[name].values()) == best


def test_a_rare_word_takes_the_sparse_date_check(generated):
    """The date range of FEW_MATCHES_WORD's query is checked on its matches alone, and drops some."""
    columns = generated.generation().columns
    everything = product(generated, FEW_MATCHES_WORD, None, None)[2]
    in_range = product(generated, FEW_MATCHES_WORD, ("2016-01-01", "2020-12-31"), None)[2]
    assert 0 < in_range < everything <= columns.size * SPARSE_DATE_SHARE


def test_a_date_range_is_the_documents_dated_within_it(generated):
    """Columns.dated_within slices the date order (and keeps the mask); comparing every date must agree."""
    columns = generated.generation().columns
    assert 0 < np.count_nonzero(columns.dated) < columns.size, "undated documents must be among them"
    dates = sorted(set(columns.date[columns.dated].tolist()))
    bounds = [None, dates[0], dates[-1], dates[-1] + 1, *random.Random(5).sample(dates, 5)]
    for start in bounds:
        for end in bounds:
            expected = columns.dated.copy()
            if start is not None:
                expected &= columns.date >= start
            if end is not None:
                expected &= columns.date < end
            mask = columns.dated_within(start, end)
            assert np.array_equal(mask, expected), (start, end)
            assert columns.dated_within(start, end) is mask and not mask.flags.writeable


def test_fast_path_answers_frequent_terms_over_all_matches(generated):
    plain_scores, _ = straightforward(generated, "china", None, None)
    scores, _, total = product(generated, "china", None, None)
    assert total == len(plain_scores) > 1000
    assert scores.keys() == plain_scores.keys()


def test_excluded_words_are_excluded_where_plain_whoosh_lets_one_through(generated):
    """whoosh3 3.54.0 hazard: AndNot over OR-ed fields returned a document holding the excluded word."""
    from indexer.analysis import TOKEN_PATTERN, EnglishTokenizer

    normalize = EnglishTokenizer().normalize

    plain_scores, _ = straightforward(generated, "security -china", None, None)
    scores, _, total = product(generated, "security -china", None, None)
    reader = generated.generation().searcher().reader()
    by_id = {fields["id"]: fields for fields in stored_documents(reader)}

    related = {reader.stored_fields(d)["id"] for d in reader.postings("related", "china").all_ids()}

    def holds_china(doc_id: str) -> bool:
        text = " ".join(by_id[doc_id].get(f) or "" for f in ("title", "excerpt", "body"))
        return doc_id in related or any(normalize(w) == "china" for w in TOKEN_PATTERN.findall(text))

    assert total == len(scores) > 0
    assert not any(holds_china(doc_id) for doc_id in scores)
    leaked = [doc_id for doc_id in plain_scores if holds_china(doc_id)]
    assert set(plain_scores) - set(leaked) == set(scores)
