"""Story clusters: one story id per group of near-identical news, collapsed in results."""

from __future__ import annotations

from collections import Counter

from indexer.corpus import assemble, parse_file
from indexer.sources import discover
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
