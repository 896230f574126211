"""The HTML pages over the corpus: state in the URL, escaping, accessibility hooks, headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest


class Links(HTMLParser):
    """Collects tags and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def tags(html: str) -> list[tuple[str, dict]]:
    parser = Links()
    parser.feed(html)
    return parser.tags


def test_browse_page_lists_newest_with_facets(client):
    html = page(client, "/")
    assert 'role="search"' in html and '<label for="q">' in html
    assert re.search(r"<strong>[\d,]+</strong> results", html)
    for legend in ("Provider", "Topic", "Year", "Kind", "Date"):
        assert f"<legend>{legend}</legend>" in html
    assert "Past week" in html and "Past month" in html and "Past year" in html
    assert html.count('class="hit"') == 10


def test_landmarks_labels_and_no_external_assets(client):
    html = page(client, "/?q=china")
    found = tags(html)
    assert any(t == "main" for t, _ in found) and any(t == "aside" for t, _ in found)
    assert any(t == "header" for t, _ in found) and any(t == "nav" for t, a in found if a.get("aria-label") == "Pages")
    ids = {a["id"] for _, a in found if "id" in a}
    for _, attrs in found:
        if attrs.get("type") in ("checkbox", "date", "search"):
            assert attrs["id"] in ids and f'for="{attrs["id"]}"' in html
        for name in ("src", "href"):
            value = attrs.get(name, "")
            if value.startswith(("http://", "https://", "//")):
                assert attrs.get("rel") == "noopener noreferrer", value  # only result links leave the site
    assert not any(
        t in ("script", "link") and re.match(r"(https?:)?//", a.get("src", a.get("href", ""))) for t, a in found
    )
    assert "<script>" not in html  # no inline script


def test_results_link_to_sources_and_details(client):
    html = page(client, "/?q=%22Pegasystems%22")
    assert 'href="https://www.computerweekly.com/feature/How-Pegasystems-is-capturing-the-Fortune-500"' in html
    assert "/doc/" in html and "<mark>Pegasystems</mark>" in html


def test_query_is_escaped_in_page_and_attributes(client):
    evil = '"><script>alert(1)</script><x y="'
    html = page(client, "/?q=" + quote(evil))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="&#34;&gt;&lt;script&gt;' in html or 'value="&quot;&gt;&lt;script&gt;' in html


def test_chips_and_clear_all(client):
    html = page(client, "/?q=facial&provider=VentureBeat&topic=AI")
    assert 'aria-label="Remove filter Provider: VentureBeat"' in html
    assert 'aria-label="Remove filter Topic: AI"' in html
    chip = re.search(r'href="([^"]+)" aria-label="Remove filter Provider: VentureBeat"', html).group(1)
    assert "VentureBeat" not in chip and "topic=AI" in chip
    assert "Clear all" in html


def test_selected_year_shows_months(client):
    html = page(client, "/?year=2021")
    assert 'aria-label="Months of 2021"' in html
    assert "from=2021-06-01&amp;to=2021-06-30" in html


def test_paging_links(client):
    html = page(client, "/?q=power+apps&page=2")
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert re.search(r"Page 2 of \d+", html)


def test_bad_parameters_render_a_400_page(client):
    html = page(client, "/?page=abc", status=400)
    assert 'role="alert"' in html and "page must be a whole number" in html
    assert "could not run" in page(client, "/?q=*a*", status=400)


def test_document_page_highlights_and_lists_related(client):
    hit = client.get("/api/search?q=%22AI-Matrix+Joint+Founding+Fund%22").get_json()["hits"][0]
    parent_id = client.get(f"/api/doc/{quote(hit['id'])}").get_json()["parent_id"]
    html = page(client, f"/doc/{quote(parent_id)}?q=cooperation")
    assert "<mark>cooperation</mark>" in html
    assert "Related coverage" in html and "AI-Matrix Joint Founding Fund" in html
    assert "More like this" in html
    related = page(client, f"/doc/{quote(hit['id'])}")
    assert "Mentioned in" in related


def test_document_page_of_long_report_jumps_to_match(client):
    hit = client.get("/api/search?q=%22Safeguard+Defenders%22&kind=report").get_json()["hits"][0]
    html = page(client, f"/doc/{quote(hit['id'])}?q=%22Safeguard+Defenders%22")
    assert 'href="#match"' in html and 'id="match"' in html


@pytest.mark.parametrize("url", ["/", "/?q=x", "/api/search", "/doc/nope", "/api/doc/nope"])
def test_security_headers_on_every_response(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_non_web_url_is_never_a_link(tmp_path):
    from indexer.build import run_build
    from search_web import create_app

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.md").write_text(
        '---\ntitle: "Odd link"\nexcerpt: "uses a javascript link"\nwebUrl: "javascript:alert(1)"\n---\n', "utf-8"
    )
    run_build([tmp_path / "src"], tmp_path / "ix")
    app = create_app({"INDEX_DIR": str(tmp_path / "ix"), "TESTING": True})
    client = app.test_client()
    hit = client.get("/api/search?q=odd").get_json()["hits"][0]
    assert hit["url"] is None
    for html in (page(client, "/?q=odd"), page(client, f"/doc/{quote(hit['id'])}")):
        assert 'href="javascript' not in html
    assert "javascript:alert(1)" in page(client, f"/doc/{quote(hit['id'])}")  # kept as text
    app.extensions["search_index"].close()
