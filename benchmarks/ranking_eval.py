"""Ranking evaluation: nDCG@10 of the product's ranking against plain BM25.

Both rank the same matches of the same parsed queries over the same index;
plain BM25 uses Whoosh's BM25F with every field weighted equally, one length
normalisation for all fields and no recency blend. The judgments
(``benchmarks/judgments.yaml``) are analyst questions over ../shared/corpus
with graded relevance (2 = what the analyst is after, 1 = useful), keyed by
source path (and title, for related items) so that they survive rebuilds.

    python benchmarks/ranking_eval.py [--index DIR] [--candidates]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from whoosh import qparser, scoring

from indexer.schema import EXCERPT_BOOST, TITLE_BOOST
from search_web.query import TEXT_FIELDS
from search_web.search import SearchIndex, SearchRequest

JUDGMENTS = Path(__file__).with_name("judgments.yaml")
CUTOFF = 10


def load_judgments(path: Path = JUDGMENTS) -> list[dict]:
    return yaml.safe_load(path.read_text("utf-8"))["queries"]


def ndcg(ranked_sources: list[str], grades: dict[str, int], cutoff: int = CUTOFF) -> float:
    gains = [grades.get(source, 0) for source in ranked_sources[:cutoff]]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(grades.values(), reverse=True)[:cutoff]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def judgment_key(hit: dict) -> str:
    """``<source>#<kind>``; related items, several per file, add their title."""
    key = f"{hit['source']}#{hit['kind']}"
    return f"{key}:{hit['title'][:50]}" if hit["kind"] == "related" else key


def product_ranking(index: SearchIndex, q: str, depth: int = 50) -> list[str]:
    # Judgments are per document, so copies of one story are ranked, not folded.
    hits = index.search(SearchRequest(q=q, per_page=50, collapse=False), with_suggestion=False).hits[:depth]
    return [judgment_key(hit) for hit in hits]


def plain_bm25_ranking(index: SearchIndex, q: str, depth: int = 50) -> list[str]:
    gen = index.generation()
    # Undo the schema's field boosts so every field counts the same.
    boosts = {"title": 1 / TITLE_BOOST, "excerpt": 1 / EXCERPT_BOOST, "body": 1.0}
    parser = qparser.MultifieldParser(list(TEXT_FIELDS), gen.index.schema, fieldboosts=boosts, group=qparser.AndGroup)
    with gen.index.searcher(weighting=scoring.BM25F()) as searcher:
        results = searcher.search(parser.parse(q), limit=depth)
        return [judgment_key(hit.fields()) for hit in results]


def evaluate(index: SearchIndex, judgments: list[dict]) -> dict:
    rows = []
    for item in judgments:
        grades = {key: int(grade) for key, grade in item["relevant"].items()}
        rows.append(
            {
                "q": item["q"],
                "product": ndcg(product_ranking(index, item["q"]), grades),
                "bm25": ndcg(plain_bm25_ranking(index, item["q"]), grades),
            }
        )
    return {
        "queries": rows,
        "product_ndcg": float(np.mean([r["product"] for r in rows])),
        "bm25_ndcg": float(np.mean([r["bm25"] for r in rows])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default="index_data", help="index of ../shared/corpus plus seeds")
    parser.add_argument("--candidates", action="store_true", help="print the union of both top 15s, for judging")
    args = parser.parse_args(argv)
    index = SearchIndex(args.index)
    judgments = load_judgments()
    if args.candidates:
        for item in judgments:
            print(f"\n## {item['q']}")
            seen = list(dict.fromkeys(product_ranking(index, item["q"], 15) + plain_bm25_ranking(index, item["q"], 15)))
            for key in seen:
                print(f"    {key}: {item['relevant'].get(key, '?')}")
        return 0
    report = evaluate(index, judgments)
    print(f"{'query':<48} {'product':>8} {'bm25':>8}")
    for row in report["queries"]:
        print(f"{row['q'][:48]:<48} {row['product']:>8.3f} {row['bm25']:>8.3f}")
    print(f"{'mean nDCG@10':<48} {report['product_ndcg']:>8.3f} {report['bm25_ndcg']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
