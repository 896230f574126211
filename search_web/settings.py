"""Every limit of the search service, as a named setting with a default and a help text.

Override any of them in ``create_app({"LIMITS": {"max_query_chars": 500}})``
or on the command line with ``--setting max_query_chars=500``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from indexer.limits import describe_settings, setting


@dataclass(frozen=True)
class Limits:
    """Every setting of the search service: the bounds that keep one query or request from taking
    it down, and the ranking's parameters (chosen on ``benchmarks/relevance``; see its README)."""

    max_query_chars: int = setting(1000, "Longest query string accepted, in characters.")
    max_nesting: int = setting(8, "Deepest nesting of parentheses in a query.")
    max_clauses: int = setting(64, "Most words, phrases and operators one query may hold.")
    min_prefix_chars: int = setting(3, "Letters needed before a * wildcard (no leading wildcards).")
    max_expansions: int = setting(200, "Most index terms one wildcard or prefix may expand to.")
    max_fuzzy_distance: int = setting(1, "Largest edit distance of a fuzzy term (word~).")
    max_fuzzy_words: int = setting(4, "Most fuzzy terms (word~) one query may hold: each reads the term lists.")
    time_budget_s: float = setting(
        5.0,
        "Seconds a search may spend matching before it is cut short (a first search for a very "
        "frequent word reads its whole posting list: ~2 s at a million documents).",
    )
    max_result_depth: int = setting(1000, "Deepest result reachable by paging (page * per_page).")
    page_sizes: tuple[int, ...] = setting((10, 20, 50), "Allowed values of per_page.")
    default_page_size: int = setting(10, "per_page when none is given.")
    facet_values_shown: int = setting(15, "Values listed per facet (selected values are always listed).")
    max_filter_values: int = setting(50, "Most values one facet parameter may select.")
    max_param_values: int = setting(200, "Most repeated values of any one parameter before a 400.")
    snippet_chars: int = setting(260, "Length of a result snippet, in characters.")
    reload_check_s: float = setting(1.0, "How often the app checks for a newly swapped-in index, in seconds.")
    result_cache_entries: int = setting(
        512, "Search results kept per index generation for repeated requests (paging back, facet toggles); 0: none."
    )
    more_like_this: int = setting(5, "Documents shown under 'more like this'.")
    story_members_shown: int = setting(10, "Other documents listed under a collapsed story's '+N more'.")
    max_export_rows: int = setting(10_000, "Most rows one CSV or JSON Lines export may hold.")
    feed_entries: int = setting(50, "Entries in an Atom feed of a search (the newest matches).")
    timeline_spike_min_count: int = setting(3, "Fewest documents in a timeline bucket that can be a spike.")
    timeline_spike_ratio: float = setting(
        3.0, "A spike holds at least this many times the mean of the buckets before it."
    )
    timeline_spike_window: int = setting(6, "Buckets before a timeline bucket that form its baseline.")
    max_connections: int = setting(
        1000, "Open connections one worker process holds at most; more wait in the listening queue."
    )
    idle_timeout_s: float = setting(
        10.0, "Seconds a connection may stay silent (idle, or sending its request slowly) before it is closed."
    )
    # Ranking (search_web.whoosh_engine.ranking): BM25F over the text fields, coordination, recency.
    weight_title: float = setting(3.0, "BM25F weight of a word found in a title.")
    weight_excerpt: float = setting(1.5, "BM25F weight of a word found in an excerpt.")
    weight_related: float = setting(1.0, "BM25F weight of a word found in a news record's related coverage.")
    weight_body: float = setting(1.0, "BM25F weight of a word found in a body.")
    b_title: float = setting(0.75, "BM25F length normalisation of titles (0: none, 1: full).")
    b_excerpt: float = setting(0.75, "BM25F length normalisation of excerpts.")
    b_related: float = setting(0.5, "BM25F length normalisation of related coverage.")
    b_body: float = setting(0.75, "BM25F length normalisation of bodies.")
    bm25_k1: float = setting(1.2, "BM25F saturation: how soon more occurrences of a word stop counting.")
    coordination: float = setting(
        1.0, "A document's score is multiplied by (query parts it holds / parts) to this power; 0: off."
    )
    recency_weight: float = setting(
        0.0, "News scores are multiplied by at most 1 + this for being recent (0: off; it did not help ranking)."
    )
    recency_half_life_days: float = setting(365.0, "Days before the newest item in which the recency factor halves.")

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> Limits:
        """Defaults overridden by ``values``; unknown names are an error."""
        values = dict(values or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """Name, default and help of every setting (for ``--help-settings``)."""
        return describe_settings(cls)


def parse_setting(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` as a setting's name and its value in the setting's type (ValueError if unknown)."""
    name, _, value = text.partition("=")
    defaults = {s["name"]: s["default"] for s in Limits.describe()}
    if name not in defaults:
        raise ValueError(f"unknown setting {name!r}")
    kind = type(defaults[name])
    if kind is tuple:
        return name, tuple(int(v) for v in value.split(","))
    return name, kind(value)
