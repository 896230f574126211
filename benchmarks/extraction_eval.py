"""Precision and recall of the index-time extraction against hand-made labels (issue 6).

``python -m benchmarks.extraction_eval [CORPUS]`` prints the pairwise
precision and recall of story clusters (labels in ``labels/stories.yaml``)
and of the countries found per document (``labels/countries.yaml``), over the
documents the real indexer makes of ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from indexer.corpus import assemble, parse_file
from indexer.documents import Document
from indexer.sources import discover

LABELS = Path(__file__).parent / "labels"
DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@dataclass
class Scores:
    """Precision and recall with the counts behind them."""

    precision: float
    recall: float
    true_positives: int
    predicted: int
    expected: int

    def line(self, name: str) -> str:
        return (
            f"{name}: precision {self.precision:.3f} ({self.true_positives}/{self.predicted}), "
            f"recall {self.recall:.3f} ({self.true_positives}/{self.expected})"
        )


def _scores(found: set, expected: set) -> Scores:
    hits = len(found & expected)
    return Scores(
        precision=hits / len(found) if found else 1.0,
        recall=hits / len(expected) if expected else 1.0,
        true_positives=hits,
        predicted=len(found),
        expected=len(expected),
    )


def corpus_documents(corpus: Path) -> list[Document]:
    """The documents the indexer makes of ``corpus`` (stories and countries included)."""
    return assemble(parse_file(source) for source in discover([corpus])).documents


def _pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}


def story_scores(documents: list[Document], labels: Path = LABELS / "stories.yaml") -> Scores:
    """Pairwise precision/recall of "same story" over the labelled corpus."""
    expected = _pairs(yaml.safe_load(labels.read_text("utf-8"))["stories"])
    members: dict[str, list[str]] = defaultdict(list)
    for doc in documents:
        members[doc.story].append(doc.id)
    return _scores(_pairs(list(members.values())), expected)


def country_scores(documents: list[Document], labels: Path = LABELS / "countries.yaml") -> Scores:
    """Micro-averaged precision/recall of (document, country) pairs over the labelled documents."""
    labelled = yaml.safe_load(labels.read_text("utf-8"))["documents"]
    by_id = {doc.id: doc for doc in documents}
    missing = [doc_id for doc_id in labelled if doc_id not in by_id]
    if missing:
        raise KeyError(f"labelled documents not in the corpus: {', '.join(missing[:5])}")
    expected = {(doc_id, code) for doc_id, entry in labelled.items() for code in entry["countries"]}
    found = {(doc_id, code) for doc_id in labelled for code in by_id[doc_id].countries}
    return _scores(found, expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    documents = corpus_documents(args.corpus)
    print(story_scores(documents).line("stories (pairs)"))
    if (LABELS / "countries.yaml").exists():
        print(country_scores(documents).line("countries (document, country)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
