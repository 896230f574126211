"""Matching and ranking a query tree (``search_web.query``) over one generation, with numpy.

The ranking policy, each part chosen on the relevance evaluation in
``benchmarks/relevance`` (its README gives the figures):

* every word, phrase and group is scored with BM25F over title, excerpt,
  related coverage and body (``search_web.whoosh_engine.term_scoring``), and the scores of
  the parts a document holds add up;
* coordination: at the top of a query, a document's score is multiplied by
  (parts it holds / positive parts) ** ``coordination``, so that documents
  holding more of the query's words come first without the rarest word alone
  deciding;
* recency (off by default: it did not help): news is multiplied by at most
  1 + ``recency_weight``, halving every ``recency_half_life_days`` before the
  newest item (``search_web.whoosh_engine.columns``).

A proximity boost (query words found next to each other) was tried and left
out: over whole texts it favoured long reports, over titles and excerpts it
changed nothing measurable (benchmarks/relevance/README.md).

Everything here works on arrays over every document: matches as bool masks,
scores as floats; each term's scores are cached per generation.
"""

from __future__ import annotations

import math

import numpy as np

from search_web.query import AllOf, AnyOf, Clauses, Node, Not, Nothing, Phrase, Term, positive_leaves
from search_web.settings import Limits
from search_web.whoosh_engine.term_scoring import DENSE_SHARE, Bm25fParameters, TermScorer

Hits = tuple[np.ndarray, np.ndarray]  # bool mask of the matching documents, and their scores


def bm25f_parameters(limits: Limits) -> Bm25fParameters:
    """The field weights, b and k1 of the settings."""
    return Bm25fParameters(
        weights={
            "title": limits.weight_title,
            "excerpt": limits.weight_excerpt,
            "related": limits.weight_related,
            "body": limits.weight_body,
        },
        b={
            "title": limits.b_title,
            "excerpt": limits.b_excerpt,
            "related": limits.b_related,
            "body": limits.b_body,
        },
        k1=limits.bm25_k1,
    )


class Ranker:
    """Matches and scores query trees with one generation's :class:`TermScorer`."""

    def __init__(self, scorer: TermScorer, limits: Limits) -> None:
        self.scorer = scorer
        self.limits = limits
        self.size = scorer.size

    def match(self, tree: Node, deadline: float = math.inf) -> Hits:
        """(matched mask, scores) of a whole query, its top-level parts coordinated. Read them only:
        a frequent word's are shared arrays (read-only, so a write fails loudly)."""
        if isinstance(tree, Clauses) and len(tree.positive) > 1:
            return self._coordinated(tree, deadline)
        return self._hits(tree, deadline)

    def _coordinated(self, tree: Clauses, deadline: float) -> Hits:
        parts = tree.positive
        held = np.zeros(self.size, dtype=np.uint8)  # how many of the positive parts each document holds
        scores = np.zeros(self.size, dtype=np.float64)
        required = np.ones(self.size, dtype=bool)
        for number, part in enumerate(parts):
            if isinstance(part, Term | Phrase):
                ids, values = self._leaf(part, deadline)
                if ids.size <= self.size * DENSE_SHARE:
                    held[ids] += 1
                    scores[ids] += values
                    if number < len(tree.must):
                        must = np.zeros(self.size, dtype=bool)
                        must[ids] = True
                        required &= must
                    continue
            mask, values = self._hits(part, deadline)
            held += mask
            scores += values
            if number < len(tree.must):
                required &= mask
        mask = held > 0
        if tree.must:
            mask &= required
        for excluded in tree.must_not:
            mask &= ~self._hits(excluded, deadline)[0]
        exponent = self.limits.coordination
        if exponent:
            factor = (np.arange(len(parts) + 1, dtype=np.float64) / len(parts)) ** exponent
            scores *= factor[held]
        scores[~mask] = 0.0
        return mask, scores

    def _leaf(self, node: Term | Phrase, deadline: float) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, Term):
            return self.scorer.term_scores(node.texts, node.fields, deadline)
        return self.scorer.phrase_scores(node.terms, node.fields, deadline)

    def _hits(self, node: Node, deadline: float) -> Hits:
        """(mask, scores) of a node; a frequent word's are shared arrays: read them, never write."""
        if isinstance(node, Term | Phrase):
            ids, values = self._leaf(node, deadline)
            if ids.size > self.size * DENSE_SHARE:
                return self.scorer.dense(_key(node), (ids, values))
            mask = np.zeros(self.size, dtype=bool)
            mask[ids] = True
            scores = np.zeros(self.size, dtype=np.float64)
            scores[ids] = values
            return mask, scores
        if isinstance(node, Nothing):
            return np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64)
        if isinstance(node, Not):
            return ~self._hits(node.child, deadline)[0], np.zeros(self.size, dtype=np.float64)
        if isinstance(node, AnyOf):
            mask, scores = np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64)
            for child in node.children:
                child_mask, child_scores = self._hits(child, deadline)
                mask |= child_mask
                scores += child_scores
            return mask, scores
        if isinstance(node, AllOf):
            mask, scores = np.ones(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64)
            for child in node.children:
                child_mask, child_scores = self._hits(child, deadline)
                mask &= child_mask
                scores += child_scores
            scores[~mask] = 0.0
            return mask, scores
        if isinstance(node, Clauses):
            return self._clauses(node, deadline)
        raise TypeError(f"not a query node: {node!r}")

    def _clauses(self, node: Clauses, deadline: float) -> Hits:
        scores = np.zeros(self.size, dtype=np.float64)
        if node.must:
            mask = np.ones(self.size, dtype=bool)
            for child in node.must:
                child_mask, child_scores = self._hits(child, deadline)
                mask &= child_mask
                scores += child_scores
        elif node.should:
            mask = np.zeros(self.size, dtype=bool)
        else:
            mask = np.ones(self.size, dtype=bool)  # only exclusions: everything but them
        for child in node.should:
            child_mask, child_scores = self._hits(child, deadline)
            if not node.must:
                mask |= child_mask
            scores += child_scores
        for child in node.must_not:
            mask &= ~self._hits(child, deadline)[0]
        scores[~mask] = 0.0
        return mask, scores


def _key(node: Term | Phrase) -> tuple:
    return ("term", node.texts, node.fields) if isinstance(node, Term) else ("phrase", node.terms, node.fields)


def scored(tree: Node | None, scorer: TermScorer) -> bool:
    """Whether a query has a part that is scored (a word or phrase in a text field): otherwise its
    matches are ordered as browsing orders them, newest first."""
    if tree is None:
        return False
    return any(any(scorer.scored(name) for name in leaf.fields) for leaf in positive_leaves(tree))
