"""Alerts and exports: /feed.atom, /api/search.csv and /api/search.jsonl."""

from __future__ import annotations

import csv
import io
import json

import feedparser

from search_web.exports import EXPORT_FIELDS


def test_atom_feed_is_valid_and_newest_first(client):
    response = client.get("/feed.atom?q=facial+recognition")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Geosearch: facial recognition"
    entries = feed.entries
    assert 0 < len(entries) <= 50
    published = [e.published for e in entries if "published" in e]
    assert published == sorted(published, reverse=True)
    first = entries[0]
    assert first.id.startswith("http://localhost/doc/") and first.link.startswith("http")
    assert "<mark>" in first.summary or first.summary
    assert first.author
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))


def test_feed_follows_the_filters_and_escapes_text(client):
    feed = feedparser.parse(client.get("/feed.atom?country=RU").data)
    assert feed.entries and not feed.bozo
    assert all("Russia" in [t.term for t in e.get("tags", [])] for e in feed.entries)
    assert client.get("/feed.atom?from=soon").status_code == 400


def test_search_page_links_the_feed_and_downloads(client):
    page = client.get("/?q=unesco&country=FR").get_data(as_text=True)
    assert 'rel="alternate" type="application/atom+xml"' in page
    assert ">Subscribe to this search</a>" in page
    assert 'href="/feed.atom?q=unesco&amp;country=FR"' in page
    assert 'href="/api/search.csv?q=unesco&amp;country=FR"' in page
    assert 'href="/api/search.jsonl?q=unesco&amp;country=FR"' in page


def test_csv_holds_the_whole_result_set_with_countries_and_story(client):
    total = client.get("/api/search?q=power+apps&collapse=0").get_json()["total"]
    response = client.get("/api/search.csv?q=power+apps")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="geosearch-')
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0].keys()) == EXPORT_FIELDS
    assert len(rows) == total > 100
    assert all(row["story"] for row in rows)
    assert "<mark>" not in text
    first_api = client.get("/api/search?q=power+apps&collapse=0").get_json()["hits"][0]
    assert rows[0]["id"] == first_api["id"] and rows[0]["title"] == first_api["title"]


def test_jsonl_lines_are_json_hits(client):
    total = client.get("/api/search?q=ukraine&collapse=0").get_json()["total"]
    response = client.get("/api/search.jsonl?q=ukraine")
    lines = response.get_data(as_text=True).splitlines()
    assert len(lines) == total > 0
    hits = [json.loads(line) for line in lines]
    assert all(set(hit) == set(EXPORT_FIELDS) for hit in hits)
    assert any(country["code"] == "UA" for hit in hits for country in hit["countries"])
    collapsed = client.get("/api/search.jsonl?q=ukraine&collapse=1").get_data(as_text=True).splitlines()
    assert len(collapsed) == client.get("/api/search?q=ukraine").get_json()["stories"]


def test_export_stops_at_the_row_limit_and_rejects_bad_queries(corpus_index):
    from search_web import create_app

    app = create_app({"INDEX_DIR": str(corpus_index), "LIMITS": {"max_export_rows": 7}})
    client = app.test_client()
    assert len(client.get("/api/search.jsonl").get_data(as_text=True).splitlines()) == 7
    assert len(list(csv.reader(io.StringIO(client.get("/api/search.csv").get_data(as_text=True))))) == 8
    bad = client.get("/api/search.csv?q=((((((((((a))))))))))")
    assert bad.status_code == 400 and "error" in bad.get_json()
    app.extensions["search_index"].close()


def test_csv_cells_cannot_run_as_formulas():
    from search_web.exports import csv_cell

    assert csv_cell("title", "=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("title", "-10% in chips") == "'-10% in chips"
    assert csv_cell("title", "Plain") == "Plain"
    assert csv_cell("snippet", "a <mark>b</mark> &amp; c") == "a b & c"
