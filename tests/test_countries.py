"""Countries: extraction at index time, the facet, the parameter and country: in queries."""

from __future__ import annotations

import pytest

from indexer.countries import country_name, find_countries, resolve_country
from tests.conftest import require_corpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("China's export controls hit Huawei", ["CN"]),
        ("The PRC and the U.S. talked in Washington", ["US", "CN"]),
        ("Chinese and Russian hackers; the Kremlin denied it", ["RU", "CN"]),
        ("Taipei and Kyiv asked the UAE for help", ["AE", "TW", "UA"]),
        ("HOW AI CAN HELP US", []),
        ("Let us talk about it", []),
        ("Michael Jordan scored", []),
        ("In Jordan, refugees wait", ["JO"]),
        ("Chad Smith said", []),
        ("Atlanta, Georgia is hot", []),
        ("Georgia accused Moscow over Abkhazia", ["GE", "RU"]),
        ("Thanksgiving turkey prices", []),
        ("Turkey's drones", ["TR"]),
        ("The startup raised US$500 million", []),
        ("It saved 38 million US dollars", []),
        ("Offices in New Mexico and New Jersey", []),
        ("The Washington Post reported", []),
        ("North Korea fired a missile; South Korea responded", ["KP", "KR"]),
        ("Latin American markets", []),
    ],
)
def test_finds_countries_and_ignores_lookalikes(text, expected):
    assert sorted(find_countries(text)) == sorted(expected)


def test_most_mentioned_first():
    assert find_countries("Japan. China. China. Chinese officials.", "China again") == ["CN", "JP"]


def test_names_and_codes_resolve():
    assert resolve_country("cn") == "CN"
    assert resolve_country("China") == resolve_country("china") == "CN"
    assert resolve_country("United States") == "US"
    assert resolve_country("Russia") == "RU"
    assert resolve_country("Narnia") is None
    assert country_name("RU") == "Russia" and country_name("TW") == "Taiwan"


def test_precision_and_recall_on_labelled_corpus_documents():
    from benchmarks.extraction_eval import corpus_documents, country_scores

    documents = corpus_documents(require_corpus())
    scores = country_scores(documents)
    print(scores.line("countries"))
    assert scores.expected >= 30  # 60 labelled documents, a few dozen countries among them
    assert scores.precision >= 0.95
    assert scores.recall >= 0.9


def test_country_facet_counts_and_is_disjunctive(client):
    facets = client.get("/api/search?q=ai").get_json()["facets"]["country"]
    assert facets and all({"value", "label", "count", "selected"} <= set(f) for f in facets)
    china = next(f for f in facets if f["value"] == "CN")
    assert china["label"] == "China"
    one = client.get("/api/search?q=ai&country=CN&collapse=0").get_json()
    assert one["total"] == china["count"]
    assert all("CN" in [c["code"] for c in hit["countries"]] for hit in one["hits"])
    # Disjunctive: ticking China leaves the other countries' counts as they were.
    after = {f["value"]: f["count"] for f in one["facets"]["country"]}
    before = {f["value"]: f["count"] for f in facets}
    assert all(after[v] == before[v] for v in before if v in after)
    us = next(f for f in facets if f["value"] == "US")
    both = client.get("/api/search?q=ai&country=CN&country=US").get_json()
    assert max(china["count"], us["count"]) <= both["total"] <= china["count"] + us["count"]


def test_country_parameter_takes_names_and_rejects_unknown(client):
    by_code = client.get("/api/search?country=RU&collapse=0").get_json()
    by_name = client.get("/api/search?country=russia&collapse=0").get_json()
    assert by_code["total"] == by_name["total"] > 0
    response = client.get("/api/search?country=Narnia")
    assert response.status_code == 400 and "unknown country" in response.get_json()["error"]


def test_country_in_the_query_language(client):
    facet = client.get("/api/search?country=UA&collapse=0").get_json()["total"]
    assert client.get("/api/search?q=country:ukraine&collapse=0").get_json()["total"] == facet
    assert client.get("/api/search?q=country:UA&collapse=0").get_json()["total"] == facet
    # A field is a filter: every Ukrainian document, those holding the word first.
    ranked = client.get("/api/search?q=cyber+country:ua&collapse=0").get_json()
    assert ranked["total"] == facet and "cyber" in ranked["hits"][0]["snippet"].lower()
    narrowed = client.get("/api/search?q=%2Bcyber+country:ua&collapse=0").get_json()["total"]
    assert 0 < narrowed < facet
    excluded = client.get("/api/search?q=%2Bcyber+-country:ua&collapse=0").get_json()["total"]
    assert excluded + narrowed == client.get("/api/search?q=cyber&collapse=0").get_json()["total"]
    assert client.get('/api/search?q=country:"United States"').status_code == 200
    assert client.get("/api/search?q=country:atlantis").status_code == 400


def test_countries_shown_on_results_and_document_page(client):
    page = client.get("/?q=shenzhen").get_data(as_text=True)
    assert 'class="country"' in page and ">China</a>" in page
    assert 'id="facet-country"' in page
    hit = client.get("/api/search?q=shenzhen").get_json()["hits"][0]
    doc_page = client.get(f"/doc/{hit['id']}").get_data(as_text=True)
    assert "<dt>Countries</dt>" in doc_page and "China" in doc_page
    assert client.get(f"/api/doc/{hit['id']}").get_json()["countries"][0] == {"code": "CN", "name": "China"}


def test_languages_are_not_countries():
    assert find_countries("Copilot speaks English, Dutch, French, German and Japanese") == []
    assert find_countries("Subtitles in Korean") == []
    assert find_countries("Dutch regulators fined the firm") == ["NL"]


EDGE_TEXTS = [
    "China",
    "xChina and 1China and _China and .China and $China, (China) and US$5 and U.S. and .U.S.",
    "China.com, China.\nChina's; Chinas China_ CHINA china",
    "Åland and Éire? aÅland",
]


def test_the_country_scan_finds_what_a_lookbehind_first_pattern_finds():
    """The gazetteer's pattern checks "not after a letter, digit, dot or dollar" after a phrase's
    first letter, so that the engine can skip to candidate letters; it must match exactly where
    the plain pattern, with that check first, matches."""
    import re

    from indexer.corpus import parse_file
    from indexer.countries import _alternation, _gazetteer
    from indexer.sources import discover

    gazetteer = _gazetteer()
    plain = re.compile(rf"(?<![\w.$])(?:{_alternation(gazetteer.codes)})(?!\w)(?!\.\w)")
    texts = list(EDGE_TEXTS)
    for parsed in map(parse_file, discover([require_corpus()])):
        texts += [part for doc in parsed.documents for part in (doc.title, doc.excerpt, doc.body)]
    checked = 0
    for text in texts:
        expected = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in gazetteer.pattern.finditer(text)] == expected, text[:80]
        checked += len(expected)
    assert checked > 1000
