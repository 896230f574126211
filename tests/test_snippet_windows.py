"""Snippet passages of long texts: the fast occurrence scan finds what a word-by-word scan finds."""

from __future__ import annotations

import math
import random

import pytest

from search_web.whoosh_engine import (
    MAX_SNIPPET_HITS,
    WINDOW_LOOP_MAX_HITS,
    best_window,
    best_window_of_few,
    term_hits,
    term_hits_by_regex,
)

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
        expected = term_hits_by_regex(text, terms)[:MAX_SNIPPET_HITS]
        assert term_hits(text, terms) == expected


@pytest.mark.parametrize(
    "text",
    [
        "x'china china_ _china 5china china5 a.b.china U.S. china. CHINA's China’s",
        "chinatown machine. Chin. chin.a china...china",
        "Taiwan's drones, drone-makers and 'drones' over taiwan",
    ],
)
def test_words_begin_where_the_tokenizer_begins_them(text):
    """Inside a word (after a letter, an underscore, or an apostrophe or dot that follows one) is no hit."""
    for terms in TERMS:
        assert term_hits(text, terms) == term_hits_by_regex(text, terms)


def best_window_hit_by_hit(text: str, terms: set[str], limit: int) -> tuple[float, int]:
    """The window choice by sliding over all of a text's first occurrences one by one."""
    return best_window_of_few(text, term_hits(text, terms)[:MAX_SNIPPET_HITS], limit)


def short_text(seed: int) -> str:
    rnd = random.Random(seed)
    words = [rnd.choice(WORDS) for _ in range(rnd.randint(0, 400))]
    return " ".join(w + (". " if rnd.random() < 0.1 else "") for w in words)


def window_cases(seed: int) -> list[tuple[str, set[str], int]]:
    text = long_text(seed) if seed % 3 == 0 else short_text(seed)
    limit = random.Random(seed).choice([21, 40, 120, 240, 600, 5000])
    return [(text, terms, limit) for terms in [*TERMS, {"absent"}]]


@pytest.mark.parametrize("seed", range(60))
def test_the_best_window_is_the_one_sliding_hit_by_hit_finds(seed):
    for text, terms, limit in window_cases(seed):
        assert best_window(text, terms, limit) == best_window_hit_by_hit(text, terms, limit)


def test_the_cases_cover_both_ways_of_choosing_a_window():
    """Few occurrences are slid over in Python, many are counted with arrays: both are compared."""
    counts = [len(term_hits(*case[:2])) for seed in range(60) for case in window_cases(seed)]
    assert any(0 < n <= WINDOW_LOOP_MAX_HITS for n in counts) and any(n > WINDOW_LOOP_MAX_HITS for n in counts)


def test_more_distinct_terms_beat_any_number_of_repetitions():
    filler = "the of " * 200
    text = "china " * 150 + filler + "Drones over Taiwan worry China. " + filler
    terms = {"china", "taiwan", "drone"}
    score, start = best_window(text, terms, 240)
    assert (score, start) == best_window_hit_by_hit(text, terms, 240)
    assert text[start:].startswith("Drones over Taiwan") and score == 30 + math.log1p(3)
