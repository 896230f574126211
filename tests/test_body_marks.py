"""Long bodies are marked, and their snippets are looked for only in the pieces that hold the query's words.

A body longer than ``MARKED_BODY_CHARS`` is tokenised in pieces cut at white
space; where each piece starts (character, word position) is kept in a column.
A search knows the word positions of its rarer terms from the postings it read,
so a hit's snippet scans those pieces only. The snippets must be the ones a
scan of the whole body gives.
"""

from __future__ import annotations

import itertools
import random

import pytest

from benchmarks.generate import Generator
from indexer.analysis import MARK_PIECE_CHARS, TOKEN_PATTERN, EnglishTokenizer, piece_starts
from indexer.build import run_build
from indexer.documents import Document
from indexer.store.schema import MARKED_BODY_CHARS, to_fields
from search_web.engine import SearchRequest
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex, snippet_at

TOKENIZER = EnglishTokenizer()


def long_texts() -> list[str]:
    rng = random.Random(4)
    words = ["China", "chips", "the", "U.S.", "export", "controls", "Taiwan's", "drones", "é", "中国", "2024"]
    spaces = [" ", " ", " ", "\n", "\n\n", "\t", "\u00a0", "\u2003", " — "]
    texts = ["".join(rng.choice(words) + rng.choice(spaces) for _ in range(rng.randint(2000, 9000))) for _ in range(8)]
    texts.append("x" * 30_000 + " end of a text without white space for long")  # no place to cut
    texts.append(("word " * 819) + "w" * 5000 + " tail")  # a cut that falls inside a very long token
    return texts


@pytest.mark.parametrize("text", long_texts(), ids=lambda text: f"{len(text)} chars")
def test_marked_terms_are_the_terms_and_mark_where_each_piece_begins(text):
    terms, marks = TOKENIZER.marked_terms(text)
    assert terms == TOKENIZER.terms(text)
    starts, positions = marks[0::2], marks[1::2]
    assert starts == piece_starts(text) and starts[0] == 0 and positions[0] == 0
    assert all(b - a >= MARK_PIECE_CHARS for a, b in itertools.pairwise(starts))
    for start, position in zip(starts[1:], positions[1:], strict=True):
        assert text[start].isspace()
        assert len(TOKENIZER.terms(text[:start])) == position


def test_only_long_bodies_are_marked_and_fingerprints_leave_marks_out():
    short = Document(id="a", kind="report", title="T", source="s", body="word " * 100)
    long = Document(id="b", kind="report", title="T", source="s", body="word " * (MARKED_BODY_CHARS // 5 + 1))
    assert "body_marks" not in to_fields(short) and "_terms_body" not in to_fields(short)
    fields = to_fields(long)
    assert fields["body_marks"] and fields["_terms_body"] == TOKENIZER.terms(long.body)
    assert "body_marks" not in to_fields(long, derived=False)


@pytest.fixture(scope="module")
def reports_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("marked")
    Generator(seed=5, report_share=0.3).write(400, folder / "src")
    run_build([folder / "src"], folder / "ix")
    index = SearchIndex(folder / "ix", Limits(reload_check_s=0, result_cache_entries=0))
    yield index
    index.close()


def body_words(index: SearchIndex) -> list[str]:
    """Words from the long bodies, from ones in a single report to ones in many."""
    gen = index.generation()
    counts: dict[str, int] = {}
    for docnum in range(gen.doc_count):
        body = gen.stored(docnum, with_body=True)["body"]
        if len(body) > MARKED_BODY_CHARS:
            for word in set(TOKEN_PATTERN.findall(body.lower())):
                counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda word: (counts[word], word))
    return ranked[:: max(1, len(ranked) // 60)]


def test_snippets_from_the_marked_pieces_equal_scanning_the_whole_body(reports_index):
    gen = reports_index.generation()
    guided = 0
    for word in body_words(reports_index):
        for q in (word, f"{word} china"):
            result = reports_index.search(SearchRequest(q=q, per_page=20), with_corrections=False)
            terms = result.terms
            for hit in result.hits:
                docnum = gen.searcher().document_number(id=hit["id"])
                stored = gen.stored(docnum, with_body=True)
                body = stored["body"]
                pieces = gen.body_pieces(docnum, terms, len(body))
                whole, _ = snippet_at(stored.get("excerpt", ""), body, terms, reports_index.limits.snippet_chars)
                assert hit["snippet"] == whole, (q, hit["id"])
                if pieces is not None:
                    guided += 1
                    assert sum(end - start for start, end in pieces) < len(body)
    assert guided >= 50, "the marked pieces must be used for this test to test them"


def test_a_term_whose_positions_are_not_at_hand_scans_the_whole_body(reports_index):
    gen = reports_index.generation()
    long_docs = [n for n in range(gen.doc_count) if len(gen.stored(n, with_body=True)["body"]) > MARKED_BODY_CHARS]
    assert long_docs
    # Never searched in this generation: no positions kept, so no pieces.
    assert gen.term_scorer.positions_in("body", "neverseenword", long_docs[0]) is None
    assert gen.body_pieces(long_docs[0], {"neverseenword"}, 10**6) is None
