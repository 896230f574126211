"""Straightforward reference answers the product's fast paths are checked against.

Written the plain way on purpose, document by document through Whoosh's own
reader and matchers, never through the product's arrays: a query tree as the
equivalent Whoosh query, and BM25F scores computed posting by posting.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from whoosh import query as wq

from search_web.query import AllOf, AnyOf, Clauses, Node, Not, Nothing, Phrase, Term


def whoosh_query(node: Node) -> wq.Query:
    """The Whoosh query that matches what ``node`` matches."""
    if isinstance(node, Term):
        return _either([wq.Term(name, text) for name in node.fields for text in node.texts])
    if isinstance(node, Phrase):
        return _either([wq.Phrase(name, list(node.terms)) for name in node.fields])
    if isinstance(node, Nothing):
        return wq.NullQuery
    if isinstance(node, Not):
        return wq.Not(whoosh_query(node.child))
    if isinstance(node, AnyOf):
        return _either([whoosh_query(child) for child in node.children])
    if isinstance(node, AllOf):
        return wq.And([whoosh_query(child) for child in node.children])
    if isinstance(node, Clauses):
        positive = (
            wq.And([whoosh_query(child) for child in node.must])
            if node.must
            else _either([whoosh_query(child) for child in node.should])
            if node.should
            else wq.Every()
        )
        if node.must_not:
            return wq.AndNot(positive, _either([whoosh_query(child) for child in node.must_not]))
        return positive
    raise TypeError(node)


def _either(queries: list[wq.Query]) -> wq.Query:
    return queries[0] if len(queries) == 1 else wq.Or(queries)


def matching_documents(searcher: Any, node: Node) -> set[int]:
    """Document numbers Whoosh's own matchers find for ``node`` (deleted documents left out)."""
    return set(searcher.docs_for_query(whoosh_query(node)))


def frequencies(reader: Any, fieldname: str, text: str) -> dict[int, float]:
    """Document number -> frequency of a term in a field, read posting by posting."""
    if (fieldname, text) not in reader:
        return {}
    boost = getattr(reader.schema[fieldname].format, "field_boost", 1.0) or 1.0
    found = {}
    matcher = reader.postings(fieldname, text)
    while matcher.is_active():
        found[matcher.id()] = matcher.weight() / boost
        matcher.next()
    return found


def phrase_frequencies(reader: Any, fieldname: str, terms: tuple[str, ...]) -> dict[int, float]:
    """Document number -> how often ``terms`` occur one right after another in a field."""
    positions: list[dict[int, set[int]]] = []
    for text in terms:
        if (fieldname, text) not in reader:
            return {}
        per_document = {}
        matcher = reader.postings(fieldname, text)
        while matcher.is_active():
            per_document[matcher.id()] = set(matcher.value_as("positions"))
            matcher.next()
        positions.append(per_document)
    found = {}
    for docnum, starts in positions[0].items():
        count = sum(all(start + k in positions[k].get(docnum, ()) for k in range(1, len(terms))) for start in starts)
        if count:
            found[docnum] = float(count)
    return found


def bm25f(reader: Any, per_field: dict[str, dict[int, float]], parameters: Any) -> dict[int, float]:
    """BM25F of one term (or phrase) from its frequencies per field: field-weighted, length-normalised
    frequencies summed over the fields, then one saturation and one idf."""
    pseudo: dict[int, float] = defaultdict(float)
    for fieldname, found in per_field.items():
        if fieldname not in parameters.weights:
            for docnum in found:
                pseudo[docnum] += 0.0
            continue
        lengths, average = _lengths(reader, fieldname)
        b = parameters.b[fieldname]
        for docnum, tf in found.items():
            norm = (1 - b) + b * lengths[docnum] / average
            pseudo[docnum] += parameters.weights[fieldname] * tf / norm
    df = len(pseudo)
    idf = math.log(1 + (reader.doc_count() - df + 0.5) / (df + 0.5))
    k1 = parameters.k1
    return {docnum: idf * value * (k1 + 1) / (k1 + value) for docnum, value in pseudo.items()}


_LENGTHS: dict[tuple[int, str], tuple[list[int], float]] = {}


def _lengths(reader: Any, fieldname: str) -> tuple[list[int], float]:
    """Each document's length of a field, and their average over every document."""
    key = (id(reader), fieldname)
    if key not in _LENGTHS:
        lengths = [reader.doc_field_length(d, fieldname, 0) or 0 for d in range(reader.doc_count_all())]
        _LENGTHS[key] = lengths, (sum(lengths) / len(lengths) if lengths else 0.0) or 1.0
    return _LENGTHS[key]


def leaf_scores(reader: Any, node: Term | Phrase, parameters: Any) -> dict[int, float]:
    """BM25F of a term or phrase in every document holding it, the plain way."""
    if isinstance(node, Term):
        per_field = {}
        for name in node.fields:
            summed: dict[int, float] = defaultdict(float)
            for text in node.texts:
                for docnum, tf in frequencies(reader, name, text).items():
                    summed[docnum] += tf
            per_field[name] = dict(summed)
    else:
        per_field = {name: phrase_frequencies(reader, name, node.terms) for name in node.fields}
    return bm25f(reader, {name: found for name, found in per_field.items() if found}, parameters)


def tree_scores(reader: Any, tree: Node, parameters: Any, coordination: float) -> dict[int, float]:
    """Document number -> score of every document a query tree matches, the plain way: leaves'
    BM25F summed where they match, the top level's parts coordinated (held / parts) ** coordination."""
    everything = set(range(reader.doc_count_all()))

    def evaluate(node: Node) -> dict[int, float]:
        if isinstance(node, Term | Phrase):
            return leaf_scores(reader, node, parameters)
        if isinstance(node, Nothing):
            return {}
        if isinstance(node, Not):
            return dict.fromkeys(everything - set(evaluate(node.child)), 0.0)
        if isinstance(node, AnyOf):
            return _summed([evaluate(child) for child in node.children], any)
        if isinstance(node, AllOf):
            return _summed([evaluate(child) for child in node.children], all)
        assert isinstance(node, Clauses)
        must = [evaluate(child) for child in node.must]
        should = [evaluate(child) for child in node.should]
        if must:
            found = _summed(must, all)
            found = {d: s + sum(part.get(d, 0.0) for part in should) for d, s in found.items()}
        elif should:
            found = _summed(should, any)
        else:
            found = dict.fromkeys(everything, 0.0)
        excluded = set().union(*(evaluate(child) for child in node.must_not))
        return {d: s for d, s in found.items() if d not in excluded}

    found = evaluate(tree)
    if isinstance(tree, Clauses) and len(tree.positive) > 1 and coordination:
        parts = [set(evaluate(child)) for child in tree.positive]
        for docnum in found:
            held = sum(docnum in part for part in parts)
            found[docnum] *= (held / len(parts)) ** coordination
    return found


def _summed(parts: list[dict[int, float]], combine: Any) -> dict[int, float]:
    documents = set().union(*parts) if parts else set()
    kept = [d for d in documents if combine(d in part for part in parts)]
    return {d: sum(part.get(d, 0.0) for part in parts) for d in kept}
