"""Story clusters: one story id per group of near-identical news, collapsed in results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter

import pytest

from indexer.corpus import assemble, parse_file
from indexer.documents import Document
from indexer.sources import discover
from indexer.stories import _pairs_of_blocks, assign_stories
from tests.conftest import require_corpus


def test_pairwise_precision_and_recall_on_labelled_corpus_clusters():
    from benchmarks.extraction_eval import corpus_documents, story_scores

    scores = story_scores(corpus_documents(require_corpus()))
    print(scores.line("stories"))
    assert scores.expected > 500
    assert scores.precision >= 0.95  # unrelated items are (almost) never merged
    assert scores.recall >= 0.75


def test_reports_are_never_merged_and_every_document_has_a_story():
    documents = assemble(parse_file(s) for s in discover([require_corpus()])).documents
    assert all(doc.story for doc in documents)
    sizes = Counter(doc.story for doc in documents)
    reports = [doc for doc in documents if doc.kind == "report"]
    assert reports and all(sizes[doc.story] == 1 for doc in reports)
    # The six reports titled "China" share a title but are different pages.
    assert len({doc.story for doc in reports if doc.title == "China"}) == 6


def test_the_facebook_faces_story_is_one_story():
    documents = assemble(parse_file(s) for s in discover([require_corpus()])).documents
    faces = [d for d in documents if d.published and d.published.strftime("%Y-%m-%d") in ("2019-12-20", "2019-12-21")]
    faces = [d for d in faces if "Facebook" in d.title and ("fake" in d.title.lower() or "AI" in d.title)]
    assert len(faces) >= 4
    assert len({d.story for d in faces}) <= 2


def test_results_collapse_each_story_by_default(client):
    collapsed = client.get("/api/search?q=power+apps+records").get_json()
    flat = client.get("/api/search?q=power+apps+records&collapse=0").get_json()
    assert collapsed["collapse"] is True and flat["collapse"] is False
    assert collapsed["total"] == flat["total"] == flat["stories"]
    assert collapsed["stories"] < collapsed["total"]
    top = collapsed["hits"][0]
    assert top["story_more"]["count"] >= 5 and top["story_more"]["providers"] >= 5
    others = {item["id"] for item in top["story_more"]["items"]}
    shown = {hit["id"] for hit in collapsed["hits"]}
    assert not others & shown  # a folded copy is never also a result of its own
    stories = [hit["story"] for hit in collapsed["hits"]]
    assert len(stories) == len(set(stories))
    assert all(hit["story_more"] is None for hit in flat["hits"])


def test_collapsed_pages_never_overlap(client):
    seen: list[str] = []
    total = client.get("/api/search?q=microsoft&per_page=50").get_json()["stories"]
    for page in range(1, 4):
        hits = client.get(f"/api/search?q=microsoft&per_page=50&page={page}").get_json()["hits"]
        seen += [hit["story"] for hit in hits]
    assert len(seen) == len(set(seen)) == min(total, 150)


def test_story_expands_in_place_on_the_page(client):
    page = client.get("/?q=power+apps+records").get_data(as_text=True)
    assert '<details class="story">' in page and "more from" in page
    flat = client.get("/?q=power+apps+records&collapse=0").get_data(as_text=True)
    assert '<details class="story">' not in flat


def test_document_page_lists_the_rest_of_its_story(client):
    top = client.get("/api/search?q=power+apps+records").get_json()["hits"][0]
    page = client.get(f"/doc/{top['id']}").get_data(as_text=True)
    assert 'id="same-story"' in page
    for item in top["story_more"]["items"]:
        assert item["id"] in page


def wire_copies(seed: int, count: int = 1500, words: int = 200, days: int = 30) -> list[Document]:
    """Items retelling a few hundred stories with words swapped and shuffled, a month apart at most."""
    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(words)] + ["sanctions", "china", "chips", "drone", "election"]
    stories = [[rng.choice(vocabulary) for _ in range(rng.randint(4, 7))] for _ in range(count // 6)]
    documents = []
    for number in range(count):
        title = [w if rng.random() > 0.3 else rng.choice(vocabulary) for w in rng.choice(stories)]
        if rng.random() < 0.2:
            rng.shuffle(title)
        day = rng.randint(0, days)
        documents.append(
            Document(
                id=f"n-{number:05d}",
                kind=rng.choice(["news", "news", "related", "report"]),
                title=" ".join(title).title(),
                source="generated",
                excerpt=" ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 15))),
                published=None if rng.random() < 0.05 else dt.datetime(2020, 1, 1) + dt.timedelta(days=day),
                related_ids=[f"n-{rng.randint(0, count - 1):05d}"] if rng.random() < 0.1 else [],
            )
        )
    return documents


@pytest.mark.parametrize(("seed", "words", "days"), [(8, 200, 20), (11, 300, 30), (1, 600, 40), (3, 150, 60)])
def test_looking_only_at_pairs_that_can_join_gives_the_stories_of_looking_at_every_pair(seed, words, days):
    # (8, 200, 20) and (11, 300, 30) have items that join a story in the second pass and then bring in another item:
    # leaving out the later pairs of an item that joined gives other stories there.
    documents = wire_copies(seed, words=words, days=days)
    assign_stories(documents)
    stories = [d.story for d in documents]
    assign_stories(documents, every_pair=True)
    assert stories == [d.story for d in documents]
    sizes = Counter(stories)
    assert sum(size for size in sizes.values() if size > 1) > 300  # many items are in stories of several


def test_block_pairs_come_once_each_in_the_order_first_proposed():
    rng = random.Random(7)
    blocks = [rng.sample(range(60), rng.randint(2, 12)) for _ in range(300)]
    expected: dict[tuple[int, int], None] = {}
    for block in blocks:
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                expected.setdefault((min(a, b), max(a, b)), None)
    pairs = _pairs_of_blocks(blocks, 60)
    assert list(zip(pairs.first.tolist(), pairs.second.tolist(), strict=True)) == list(expected)


def test_assembly_leaves_the_parsed_files_as_they_were():
    """assemble copies each document (an update starts from the parsed files kept in the catalog)."""
    files = [parse_file(source) for source in discover([require_corpus()])]
    before = [[dataclasses.asdict(doc) for doc in parsed.documents] for parsed in files]
    documents = assemble(files).documents
    assert [[dataclasses.asdict(doc) for doc in parsed.documents] for parsed in files] == before
    originals = {id(doc) for parsed in files for doc in parsed.documents}
    assert documents and not any(id(doc) in originals for doc in documents)
    assert any(doc.story != doc.id for doc in documents)  # assembly did set stories on its copies
