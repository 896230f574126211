"""``/api/search`` and ``/api/doc/<id>`` over the corpus: the JSON contract."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

HIT_KEYS = {
    "id",
    "kind",
    "title",
    "url",
    "provider",
    "provider_domain",
    "topics",
    "published",
    "source",
    "snippet",
    "countries",
    "story",
    "story_more",
    "page",
}
TOP_KEYS = {
    "query",
    "total",
    "stories",
    "collapse",
    "page",
    "per_page",
    "took_ms",
    "suggestion",
    "corrected_from",
    "unmatched_words",
    "hits",
    "facets",
}


def get(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def facet(data: dict, name: str) -> dict[str, dict]:
    return {entry["value"]: entry for entry in data["facets"][name]}


def test_response_shape(client):
    data = get(client, "/api/search?q=artificial+intelligence")
    assert set(data) >= TOP_KEYS
    assert data["query"] == "artificial intelligence"
    assert isinstance(data["took_ms"], float)
    assert data["page"] == 1 and data["per_page"] == 10
    assert data["total"] > 50 and len(data["hits"]) == 10
    for hit in data["hits"]:
        assert set(hit) == HIT_KEYS
        assert hit["kind"] in ("news", "related", "report")
        assert hit["published"] is None or (hit["published"].endswith("Z") and len(hit["published"]) == 20)
        assert hit["url"] is None or hit["url"].startswith(("http://", "https://"))
        assert isinstance(hit["topics"], list)
    assert set(data["facets"]) == {"provider", "topic", "country", "year", "kind"}
    for values in data["facets"].values():
        for entry in values:
            assert set(entry) >= {"value", "count", "selected"}


def test_empty_query_browses_everything_newest_first(client):
    data = get(client, "/api/search")
    assert data["total"] == sum(e["count"] for e in data["facets"]["kind"])
    dates = [h["published"] for h in data["hits"]]
    assert dates == sorted(dates, reverse=True)
    assert sum(e["count"] for e in data["facets"]["year"]) <= data["total"]


def ids(data: dict) -> set[str]:
    return {hit["id"] for hit in data["hits"]}


def test_plain_words_match_any_and_documents_with_more_of_them_rank_first(client):
    facial, amazon = (get(client, f"/api/search?q={w}&collapse=0")["total"] for w in ("facial", "amazon"))
    both = get(client, "/api/search?q=facial+AND+amazon&collapse=0&per_page=50")
    assert 0 < both["total"] < min(facial, amazon)
    either = get(client, "/api/search?q=facial+amazon&collapse=0&per_page=50")
    assert either["total"] == get(client, "/api/search?q=facial+OR+amazon&collapse=0")["total"]
    assert either["total"] == facial + amazon - both["total"]
    # The documents holding both words come before those holding one.
    assert [h["id"] for h in either["hits"][: both["total"]]] == [h["id"] for h in both["hits"]]


def test_and_requires_both_sides(client):
    data = get(client, "/api/search?q=chips+AND+russia&collapse=0&per_page=50")
    assert data["total"] > 0
    assert data["total"] < get(client, "/api/search?q=chips+russia&collapse=0")["total"]
    plus = get(client, "/api/search?q=%2Bchips+%2Brussia&collapse=0&per_page=50")
    assert ids(plus) == ids(data) and plus["total"] == data["total"]


def test_a_phrase_is_required_as_typed(client):
    phrase = get(client, "/api/search?q=%22export+controls%22&collapse=0")
    loose = get(client, "/api/search?q=export+controls&collapse=0")
    assert 0 < phrase["total"] < loose["total"]
    # A phrase beside words: every match holds the phrase; the words rank.
    mixed = get(client, "/api/search?q=%22export+controls%22+huawei&collapse=0")
    assert mixed["total"] == phrase["total"]
    assert "huawei" in (mixed["hits"][0]["title"] + mixed["hits"][0]["snippet"]).lower()


def test_exclusions(client):
    minus = get(client, "/api/search?q=facial+recognition+-amazon")["total"]
    not_ = get(client, "/api/search?q=facial+recognition+NOT+amazon")["total"]
    assert minus == not_ < get(client, "/api/search?q=facial+recognition")["total"]
    everything = get(client, "/api/search")["total"]
    china = get(client, "/api/search?q=china")["total"]
    assert get(client, "/api/search?q=-china")["total"] == get(client, "/api/search?q=NOT+china")["total"]
    assert get(client, "/api/search?q=-china")["total"] == everything - china > 0


@pytest.mark.parametrize(
    ("q", "check"),
    [
        ("title:unesco", lambda h: "unesco" in h["title"].lower()),
        ("provider:venturebeat", lambda h: h["provider"] == "VentureBeat"),
        ('provider:"south china morning post"', lambda h: h["provider"] == "South China Morning Post"),
        ("topic:power+apps", lambda h: "Power Apps" in h["topics"]),
        ("kind:report", lambda h: h["kind"] == "report"),
    ],
)
def test_field_queries(client, q, check):
    data = get(client, f"/api/search?q={q}&per_page=50")
    assert data["total"] > 0
    assert all(check(hit) for hit in data["hits"])


def test_author_field_query(client):
    data = get(client, "/api/search?q=author:%22Gregory+C.+Allen%22")
    assert data["total"] >= 5
    assert {h["kind"] for h in data["hits"]} == {"report"}
    assert get(client, "/api/search?q=author:allen")["total"] >= data["total"]


def test_date_range_in_query_and_parameters_agree(client):
    in_query = get(client, "/api/search?q=ethics+published:2021..2021")
    params = get(client, "/api/search?q=ethics&from=2021-01-01&to=2021-12-31")
    by_year = get(client, "/api/search?q=ethics&year=2021")
    assert in_query["total"] == params["total"] == by_year["total"] > 0
    assert all(h["published"].startswith("2021") for h in params["hits"])


def test_disjunctive_provider_counts(client):
    base = get(client, "/api/search?q=facial+recognition")
    counts = {v: e["count"] for v, e in facet(base, "provider").items()}
    first, second = list(counts)[:2]
    one = get(client, f"/api/search?q=facial+recognition&provider={quote(first)}")
    assert one["total"] == counts[first]
    # The provider facet ignores its own selection, so the second provider is still offered with its count.
    assert facet(one, "provider")[second]["count"] == counts[second]
    assert facet(one, "provider")[first]["selected"] is True
    two = get(client, f"/api/search?q=facial+recognition&provider={quote(first)}&provider={quote(second)}")
    assert two["total"] == counts[first] + counts[second]  # values of one facet combine with OR
    # Other facets are counted within the selection.
    assert sum(e["count"] for e in two["facets"]["kind"]) == two["total"]


def test_facets_combine_with_and(client):
    data = get(client, "/api/search?topic=AI&year=2021")
    only_topic = get(client, "/api/search?topic=AI")
    assert 0 < data["total"] < only_topic["total"]
    assert facet(data, "year")["2021"]["count"] == facet(only_topic, "year")["2021"]["count"] == data["total"]
    assert data["months"] and sum(m["count"] for m in data["months"]) == data["total"]


def test_selected_value_listed_at_zero(client):
    data = get(client, "/api/search?q=sanctions&provider=No+Such+Provider")
    assert data["total"] == 0
    assert facet(data, "provider")["No Such Provider"] == {
        "value": "No Such Provider",
        "label": "No Such Provider",
        "count": 0,
        "selected": True,
    }


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorting_by_date(client, sort):
    hits = get(client, f"/api/search?q=ai+ethics&sort={sort}&per_page=50")["hits"]
    dates = [h["published"] for h in hits if h["published"]]
    assert dates == sorted(dates, reverse=sort == "newest")


def test_paging_is_consistent(client):
    first = get(client, "/api/search?q=power+apps&per_page=20")
    second = get(client, "/api/search?q=power+apps&per_page=20&page=2")
    both = get(client, "/api/search?q=power+apps&per_page=50")
    assert second["page"] == 2 and second["total"] == first["total"]
    ids = [h["id"] for h in first["hits"] + second["hits"]]
    assert len(set(ids)) == 40
    assert ids == [h["id"] for h in both["hits"]][:40]


def test_kind_parameter(client):
    data = get(client, "/api/search?kind=related&kind=report")
    assert {h["kind"] for h in get(client, "/api/search?kind=related&kind=report&per_page=50")["hits"]} <= {
        "related",
        "report",
    }
    assert data["total"] == sum(e["count"] for v, e in facet(data, "kind").items() if v in ("related", "report"))


def test_snippet_marks_terms_in_the_best_passage_of_a_long_report(client):
    data = get(client, "/api/search?q=%22Safeguard+Defenders%22&kind=report")
    assert data["total"] >= 1
    snippet = data["hits"][0]["snippet"]
    assert "<mark>Safeguard</mark> <mark>Defenders</mark>" in snippet
    assert snippet.startswith("…")  # a passage from deep inside the report, not its first lines


def test_query_is_escaped_in_snippets_and_json(client):
    data = get(client, "/api/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert data["query"] == "<script>alert(1)</script>"
    for hit in data["hits"]:
        assert "<script" not in hit["snippet"]


def test_words_no_document_holds_are_corrected(client):
    data = get(client, "/api/search?q=faciel+recognitoin")
    assert data["corrected_from"] == "faciel recognitoin"
    assert data["query"] == "facial recognition"
    assert data["unmatched_words"] == ["faciel", "recognitoin"]
    assert data["total"] == get(client, "/api/search?q=facial+recognition")["total"] > 10
    typed = get(client, "/api/search?q=faciel+recognitoin&as_typed=1")
    assert typed["total"] == 0 and typed["corrected_from"] is None
    assert typed["suggestion"] == "facial recognition"
    plain = get(client, "/api/search?q=facial+recognition")
    assert plain["suggestion"] is None and plain["corrected_from"] is None and plain["unmatched_words"] == []


@pytest.mark.parametrize(
    "params",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1000000000",
        "per_page=100000",
        "per_page=7",
        "sort=random",
        "from=2021-13-01",
        "to=yesterday",
        "from=2022-01-01&to=2021-01-01",
        "year=20x1",
        "q=*a*",
        "q=unknownfield:x",
        "q=x" + "y" * 1200,
        "q=" + "(" * 50 + "a" + ")" * 50,
    ],
)
def test_invalid_parameters_give_400_with_message(client, params):
    data = get(client, f"/api/search?{params}", status=400)
    assert set(data) == {"error"} and data["error"]


def test_document_endpoint(client):
    hit = get(client, "/api/search?q=%22AI-Matrix+Joint+Founding+Fund%22")["hits"][0]
    assert hit["kind"] == "related"
    doc = get(client, f"/api/doc/{quote(hit['id'])}")
    assert set(doc) >= {
        "id",
        "kind",
        "title",
        "excerpt",
        "body",
        "url",
        "provider",
        "provider_domain",
        "topics",
        "published",
        "authors",
        "editors",
        "source",
        "parent_id",
        "related",
    }
    parent = get(client, f"/api/doc/{quote(doc['parent_id'])}")
    assert parent["provider"] == "South China Morning Post"
    assert hit["id"] in [r["id"] for r in parent["related"]]
    assert set(parent["related"][0]) == {"id", "title", "url", "provider", "published"}


def test_unknown_document_is_404(client):
    data = get(client, "/api/doc/u-0000000000000000", status=404)
    assert "error" in data
    assert client.get("/doc/u-0000000000000000").status_code == 404


def test_only_get_is_accepted(client):
    assert client.post("/api/search", data={"q": "x"}).status_code == 405
    assert client.delete("/").status_code == 405


def test_pasted_url_finds_its_document(client):
    hit = next(h for h in get(client, "/api/search?q=china&per_page=50")["hits"] if h["url"])
    for pasted in (hit["url"], hit["url"] + "?utm_source=newsletter", f"({hit['url']})."):
        data = get(client, "/api/search?" + urlencode({"q": pasted}))
        assert [h["id"] for h in data["hits"]] == [hit["id"]], pasted
    assert get(client, "/api/search?" + urlencode({"q": "https://nowhere.example/x"}))["total"] == 0
