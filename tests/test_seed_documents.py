"""The two seed examples, checked field by field as stored in a real index."""

from __future__ import annotations

import pytest

from indexer.store.schema import stored_documents
from search_web.whoosh_engine import SearchIndex


@pytest.fixture(scope="module")
def seeds(seed_index):
    index = SearchIndex(seed_index)
    gen = index.generation()
    searcher = gen.searcher()
    docs = {stored["source"] + ":" + stored["kind"]: stored for stored in stored_documents(searcher.reader())}
    yield index, docs
    index.close()


def test_seed_000_news_record(seeds):
    index, docs = seeds
    stored = docs["000_4f1eaadcec2915f8.txt:news"]
    doc = index.document(stored["id"])
    assert doc["kind"] == "news"
    assert doc["title"] == (
        "China and Russia plan to boost scientific cooperation with focus on artificial intelligence "
        "and other strategic areas"
    )
    assert doc["excerpt"].startswith("Meanwhile, the Chinese foreign ministry has identified fields")
    assert "“internet of things”" in doc["excerpt"]
    assert doc["provider"] == "South China Morning Post"
    assert doc["provider_domain"] == "scmp.com"
    assert doc["topics"] == ["AI"]
    assert doc["published"] == "2019-12-28T14:34:00Z"
    assert doc["url"] == (
        "https://www.scmp.com/news/china/diplomacy/article/3043787/china-and-russia-plan-boost-scientific-cooperation-focus"
    )
    assert doc["source"] == "000_4f1eaadcec2915f8.txt"
    assert doc["parent_id"] is None
    assert doc["authors"] == [] and doc["editors"] == []
    assert doc["body"] == ""
    assert [r["title"] for r in doc["related"]] == [
        "AI-Matrix Joint Founding Fund enters into strategic cooperation with Columbia Private Equity firm"
    ]


def test_seed_000_related_item_is_its_own_document(seeds):
    index, docs = seeds
    parent = docs["000_4f1eaadcec2915f8.txt:news"]
    related = index.document(docs["000_4f1eaadcec2915f8.txt:related"]["id"])
    assert related["kind"] == "related"
    assert related["parent_id"] == parent["id"]
    assert related["provider"] == "MarketWatch"
    assert related["provider_domain"] == "marketwatch.com"
    assert related["published"] == "2019-12-30T12:44:00Z"
    assert related["url"].startswith("https://www.marketwatch.com/press-release/ai-matrix-joint-founding-fund")
    assert related["excerpt"].startswith("Dec 30, 2019 (AB Digital via COMTEX)")
    assert related["source"] == "000_4f1eaadcec2915f8.txt"
    assert related["topics"] == []


def test_seed_001_report(seeds):
    index, docs = seeds
    doc = index.document(docs["001_5d466e81df0ab646.txt:report"]["id"])
    assert doc["kind"] == "report"
    assert doc["title"] == (
        "Russian-Chinese alliance in artificial intelligence, and how it has evolved since the invasion of Ukraine"
    )
    assert doc["authors"] == ["Sebastian Linke"]
    assert doc["editors"] == ["Velina Tchakarova"]
    assert doc["published"] is None  # neither the text nor the file name has a date
    assert doc["url"] is None
    assert doc["provider"] == ""
    assert doc["source"] == "001_5d466e81df0ab646.txt"
    assert doc["excerpt"].startswith("We are proud to announce the release of a pivotal report")
    assert doc["body"].startswith("We are proud to announce")
    assert doc["body"].endswith("AI in global politics.")
    indexed_text = doc["title"] + doc["excerpt"] + doc["body"]
    for boilerplate in ("Shopping Cart", "privacy policy", "Hinterbrühl", "newsletter", "Author:", "Editor:"):
        assert boilerplate.lower() not in indexed_text.lower(), boilerplate
    # The "Home • Blog • Report" menu is gone, the menu's repeat of the title too.
    assert "Home" not in doc["body"].split() and "Blog" not in doc["body"].split()
    assert doc["body"].count(doc["title"]) == 0


def test_seed_boilerplate_is_not_searchable(seeds):
    from search_web.engine import SearchRequest

    index, _ = seeds
    for words in ('"shopping cart"', "Hinterbrühl", '"privacy policy"', "spam"):
        assert index.search(SearchRequest(q=words)).total == 0, words
    assert index.search(SearchRequest(q="Tchakarova")).total == 1
