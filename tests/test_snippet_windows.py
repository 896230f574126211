"""Snippet passages of long texts: the fast occurrence scan finds what a word-by-word scan finds."""

from __future__ import annotations

import random

import pytest

from search_web.search import MAX_SNIPPET_HITS, _term_hits, _term_hits_by_regex

WORDS = ["china", "chinatown", "machine", "taiwan", "drone", "drones", "export", "controls", "the", "of", "chin"]
TERMS = [{"china"}, {"china", "taiwan", "drone"}, {"export", "control"}, {"drone", "chin"}]


def long_text(seed: int) -> str:
    """Thousands of words, with runs so that one term passes the cap long before another appears."""
    rnd = random.Random(seed)
    parts = ["china"] * rnd.randint(0, 400) + [rnd.choice(WORDS) for _ in range(rnd.randint(0, 3000))]
    parts += ["drone taiwan"] * rnd.randint(0, 300)
    if seed % 2:
        rnd.shuffle(parts)
    return " ".join(parts) + "."


@pytest.mark.parametrize("seed", range(40))
def test_the_first_occurrences_of_all_terms_are_those_a_word_scan_finds(seed):
    text = long_text(seed)
    for terms in TERMS:
        expected = _term_hits_by_regex(text, terms)[:MAX_SNIPPET_HITS]
        assert _term_hits(text, terms) == expected
