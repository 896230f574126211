"""Facet values and month counts of a selection, counted on the generation's columns.

Facet counts are disjunctive: each facet counts the documents every other
facet's selection lets through, so that its own values can still be added.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.countries import country_name
from search_web.engine import SearchRequest
from search_web.whoosh_engine.columns import Columns
from search_web.whoosh_engine.matching import Selection

FACETS = ("provider", "topic", "country", "year", "kind")
KIND_ORDER = ("news", "related", "report")


def facet_values(chosen: Selection, request: SearchRequest, shown: int) -> dict[str, list[dict[str, Any]]]:
    """Disjunctive counts: each facet sees every selection but its own; up to ``shown`` values a
    facet (and every selected one).

    Facets without a selection of their own all count the selected documents, in one pass.
    """
    columns, masks = chosen.gen.columns, chosen.masks
    unselected = [facet for facet in FACETS if masks.get(facet) is None]
    counts = columns.counts(chosen.selected, unselected)
    for facet in FACETS:
        if facet not in counts:
            docs = chosen.base.copy()
            for other, mask in masks.items():
                if other != facet and mask is not None:
                    docs &= mask
            counts |= columns.counts(docs, [facet])
    selections = request.selections()
    return {facet: _listed(facet, columns.values[facet], counts[facet], selections[facet], shown) for facet in FACETS}


def _listed(facet: str, values: list[str], counts: np.ndarray, selected: list[str], shown: int):
    """One facet's values as listed: value, label, count and whether selected, in the facet's order."""
    entries = {v: int(c) for v, c in zip(values, counts, strict=True) if v and c > 0}
    for value in selected:
        entries.setdefault(value, 0)
    if facet == "year":
        ordered = sorted(entries, reverse=True)
    elif facet == "kind":
        ordered = sorted(entries, key=lambda v: (KIND_ORDER.index(v) if v in KIND_ORDER else 99, v))
    else:
        ordered = sorted(entries, key=lambda v: (-entries[v], v.casefold()))
    listed = ordered[:shown]
    listed += [v for v in ordered[shown:] if v in selected]
    label = country_name if facet == "country" else str
    return [{"value": v, "label": label(v), "count": entries[v], "selected": v in selected} for v in listed]


def month_counts(columns: Columns, docs: np.ndarray) -> list[dict[str, Any]]:
    """Counts per month of the matching, dated documents (within selected years)."""
    dated = docs & columns.dated
    if not dated.any():
        return []
    stamps = columns.date[dated].astype("datetime64[s]").astype("datetime64[M]")
    months, counts = np.unique(stamps, return_counts=True)
    return [{"value": str(m), "count": int(c)} for m, c in zip(months, counts, strict=True)]
