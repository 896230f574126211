"""HTML pages, PDF reports, JSON and JSON Lines exports, and per-folder ``_source.yaml`` (issue 7).

Every fixture is written here; each is checked field by field, and one bad
file of each kind is skipped with its reason while its neighbours are indexed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path, PurePosixPath

import pytest
from fpdf import FPDF

from indexer.build import run_build, run_update
from indexer.corpus import ParsedFile, parse_file
from indexer.sources import SourceFile, discover
from search_web import create_app

ARTICLE = """<!doctype html><html lang="en-GB"><head>
<title>Chip controls tighten | Example Think Tank</title>
<meta name="author" content="Jane Doe and John Roe">
<meta property="og:site_name" content="Example Think Tank">
<meta name="description" content="Washington widens export controls on chips to China.">
<link rel="canonical" href="https://think.example.org/analysis/chip-controls?utm_source=newsletter">
<meta property="article:published_time" content="2023-10-17T09:00:00+02:00">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li><li><a href="/cart">Cart</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies.</div>
<article><h1>Chip controls tighten</h1>
<p>The United States on Tuesday widened its export controls on advanced semiconductors, closing loopholes
that let Chinese firms buy restricted chips through third countries.</p>
<p>Officials in Beijing called the move economic coercion and promised a response, while suppliers in the
Netherlands and Japan studied the rules.</p>
<p>Analysts expect the measures to slow the construction of new fabrication plants for several years.</p>
</article>
<footer><p>© 2023 Example Think Tank. 1 Example Street, Washington DC. Privacy policy.
Subscribe to our newsletter.</p></footer>
</body></html>"""

PAGES = [
    "Semiconductor Supply Chains\nA report on fabs, lithography and export controls.",
    "Chapter two looks at Taiwan and at lithography machines made in the Netherlands.",
    "The conclusion weighs the gallium and germanium export limits announced by Beijing.",
]


def write_pdf(path: Path, pages: list[str], *, title: str = "", author: str = "", password: str = "") -> None:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(dt.datetime(2022, 3, 4, 12, 0, tzinfo=dt.UTC))
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")  # a drawing only: no text layer
    pdf.output(str(path))


BING = {
    "_type": "News",
    "value": [
        {
            "name": "Taiwan holds drills as Chinese warships circle",
            "url": "https://news.example.com/taiwan-drills?utm_medium=rss",
            "description": "Taipei staged drills as warships circled the island.",
            "datePublished": "2024-05-23T08:00:00.0000000Z",
            "provider": [{"_type": "Organization", "name": "Example Wire"}],
            "category": "Politics",
        },
        {"name": "", "description": ""},
        {
            "headline": "EU AI Act enters into force",
            "link": "https://daily.example.com/ai-act",
            "summary": "The AI Act applies in stages from August.",
            "publishedAt": "2024-08-01T00:00:00Z",
            "source": {"id": "example-daily", "name": "Example Daily"},
            "categories": ["AI", "Regulation"],
            "content": "Brussels published the law; member states prepare supervisors.",
        },
    ],
}
JSONL_LINES = [
    json.dumps(
        {
            "title": "Drone makers court Kyiv",
            "url": "https://lines.example.com/1",
            "publishedDateTime": "2024-01-02T03:04:05+01:00",
            "provider": {"name": "Lines Daily", "domain": "lines.example.com"},
            "topics": ["Defence"],
        }
    ),
    "{not json",
    json.dumps(
        {"title": "Sanctions widen", "excerpt": "New listings target shippers.", "url": "https://lines.example.com/3"}
    ),
]


@pytest.fixture()
def sources(tmp_path) -> Path:
    root = tmp_path / "src"
    reports = root / "reports" / "csis"
    news = root / "news"
    reports.mkdir(parents=True)
    news.mkdir(parents=True)
    (root / "reports" / "_source.yaml").write_text("provider: Ignored Further Up\ntopics: [Ignored]\n", "utf-8")
    (reports / "_source.yaml").write_text(
        "provider: Center for Strategic and International Studies\nprovider_domain: www.CSIS.org\n"
        "topics: [Semiconductors, Export controls]\nlanguage: en\n",
        "utf-8",
    )
    (reports / "chip-controls.html").write_text(ARTICLE, "utf-8")
    write_pdf(
        reports / "2022-03-04-supply-chains.pdf",
        PAGES,
        title="Semiconductor Supply Chains",
        author="A. Analyst; B. Writer",
    )
    (news / "bing.json").write_text(json.dumps(BING), "utf-8")
    (news / "feed.jsonl").write_text("\n".join(JSONL_LINES) + "\n", "utf-8")
    return root


def parsed(root: Path) -> dict[str, ParsedFile]:
    return {item.relpath: item for item in (parse_file(s) for s in discover([root]))}


def test_html_page_field_by_field(sources):
    item = parsed(sources)["reports/csis/chip-controls.html"]
    assert item.skipped is None
    (doc,) = item.documents
    assert doc.kind == "report"
    assert doc.title == "Chip controls tighten"
    assert doc.url == "https://think.example.org/analysis/chip-controls"  # canonical, tracking dropped
    assert doc.provider == "Example Think Tank"  # the page's own site name beats the folder's
    assert doc.provider_domain == "think.example.org"
    assert doc.authors == ["Jane Doe", "John Roe"]
    assert doc.published == dt.datetime(2023, 10, 17)
    assert doc.excerpt == "Washington widens export controls on chips to China."
    assert doc.language == "en"
    assert doc.topics == ["Semiconductors", "Export controls"]  # the page has none: the folder's
    assert "widened its export controls" in doc.body and "fabrication plants" in doc.body
    for boilerplate in ("About us", "Cart", "cookies", "Privacy policy", "newsletter", "Example Street"):
        assert boilerplate not in doc.body, boilerplate
    assert not doc.body.startswith("Chip controls tighten")  # the heading is the title, not text
    assert set(doc.countries) == {"US", "CN", "NL", "JP"}


def test_pdf_field_by_field_with_pages(sources):
    item = parsed(sources)["reports/csis/2022-03-04-supply-chains.pdf"]
    assert item.skipped is None
    (doc,) = item.documents
    assert doc.kind == "report"
    assert doc.title == "Semiconductor Supply Chains"
    assert doc.authors == ["A. Analyst", "B. Writer"]
    assert doc.published == dt.datetime(2022, 3, 4, 12, 0)
    assert doc.provider == "Center for Strategic and International Studies"  # from _source.yaml
    assert doc.provider_domain == "csis.org"
    assert doc.topics == ["Semiconductors", "Export controls"]
    assert doc.language == "en"
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    for number, text in enumerate(PAGES):
        start = doc.page_starts[number]
        end = doc.page_starts[number + 1] if number + 1 < len(PAGES) else len(doc.body)
        assert " ".join(doc.body[start:end].split()) == " ".join(text.split())
    assert doc.excerpt == "A report on fabs, lithography and export controls."


def test_json_export_field_by_field(sources):
    item = parsed(sources)["news/bing.json"]
    first, second = item.documents
    assert (first.kind, first.title) == ("news", "Taiwan holds drills as Chinese warships circle")
    assert first.url == "https://news.example.com/taiwan-drills"
    assert first.excerpt == "Taipei staged drills as warships circled the island."
    assert first.published == dt.datetime(2024, 5, 23, 8, 0)
    assert (first.provider, first.provider_domain) == ("Example Wire", "news.example.com")
    assert first.topics == ["Politics"]
    assert set(first.countries) == {"CN", "TW"}
    assert (second.title, second.url) == ("EU AI Act enters into force", "https://daily.example.com/ai-act")
    assert second.excerpt == "The AI Act applies in stages from August."
    assert second.body == "Brussels published the law; member states prepare supervisors."
    assert second.published == dt.datetime(2024, 8, 1)
    assert second.provider == "Example Daily" and second.topics == ["AI", "Regulation"]
    assert item.warnings == ["record 2: no title, excerpt or text; skipped"]


def test_json_lines_field_by_field(sources):
    item = parsed(sources)["news/feed.jsonl"]
    first, second = item.documents
    assert first.title == "Drone makers court Kyiv" and first.countries == ["UA"]
    assert first.published == dt.datetime(2024, 1, 2, 2, 4, 5)  # +01:00 stored as UTC
    assert (first.provider, first.provider_domain, first.topics) == ("Lines Daily", "lines.example.com", ["Defence"])
    assert (second.title, second.excerpt) == ("Sanctions widen", "New listings target shippers.")
    assert len(item.warnings) == 1 and item.warnings[0].startswith("line 2: not valid JSON")


def test_folder_defaults_never_beat_a_files_own_metadata(tmp_path):
    folder = tmp_path / "src" / "wire"
    folder.mkdir(parents=True)
    (folder / "_source.yaml").write_text("provider: Folder Wire\ntopics: [Folder topic]\nkind: news\n", "utf-8")
    (folder / "own.md").write_text(
        "---\ntitle: Own\nprovider: {name: Own Wire, domain: own.example}\ntopics: [Own topic]\n---\n", "utf-8"
    )
    (folder / "bare.md").write_text("---\ntitle: Bare\nsourceUrl: https://bare.example/x\n---\n", "utf-8")
    (folder / "page.txt").write_text("A report page\n\nBody text of a page that the folder calls news.\n", "utf-8")
    docs = {d.title: d for item in parsed(tmp_path / "src").values() for d in item.documents}
    assert (docs["Own"].provider, docs["Own"].topics) == ("Own Wire", ["Own topic"])
    assert (docs["Bare"].provider, docs["Bare"].topics) == ("Folder Wire", ["Folder topic"])
    assert docs["A report page"].kind == "news"


def test_one_bad_file_of_each_kind_is_skipped_with_a_reason(sources, tmp_path):
    bad = sources / "bad"
    bad.mkdir()
    (bad / "empty.html").write_text("<html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    write_pdf(bad / "locked.pdf", ["Secret text on the only page."], password="letmein")
    write_pdf(bad / "scan.pdf", [""])
    (bad / "broken.json").write_text('{"value": [{"title": "x",}]}')
    (bad / "broken.jsonl").write_text("{nope\n[also nope\n")
    (bad / "_source.yaml").write_text("provider: [not, a, name]\n")
    (bad / "fine.md").write_text("---\ntitle: Neighbour of the bad files\n---\n", "utf-8")
    index_dir = tmp_path / "ix"
    summary = run_build([sources], index_dir)
    reasons = {p.path: p.reason for p in summary.skipped}
    assert reasons["bad/empty.html"] == "no main text found in the HTML page"
    assert reasons["bad/broken.pdf"].startswith("not a readable PDF")
    assert reasons["bad/locked.pdf"].startswith("encrypted PDF")
    assert reasons["bad/scan.pdf"].startswith("no text layer")
    assert reasons["bad/broken.json"].startswith("line 1: not valid JSON")
    assert reasons["bad/broken.jsonl"] == "line 1: no line is valid JSON"
    assert reasons["bad/_source.yaml"].startswith("folder metadata not used: provider must be a text")
    # The neighbours, and every good file elsewhere, are indexed.
    assert summary.documents_indexed == 1 + 2 + 2 + 1 + 1  # fine.md, two JSON, two JSONL, HTML, PDF
    app = create_app({"INDEX_DIR": str(index_dir)})
    client = app.test_client()
    assert client.get("/api/search?q=neighbour").get_json()["total"] == 1
    app.extensions["search_index"].close()


def test_pdf_hits_say_their_page_and_the_page_jumps_to_it(sources, tmp_path):
    index_dir = tmp_path / "ix"
    run_build([sources], index_dir)
    app = create_app({"INDEX_DIR": str(index_dir)})
    client = app.test_client()
    hit = client.get("/api/search?q=gallium").get_json()["hits"][0]
    assert hit["title"] == "Semiconductor Supply Chains" and hit["page"] == 3
    assert "<mark>gallium</mark>" in hit["snippet"]
    assert client.get("/api/search?q=lithography+netherlands").get_json()["hits"][0]["page"] == 2
    assert client.get("/api/search?q=taiwan+drills").get_json()["hits"][0]["page"] is None  # not a PDF
    results = client.get("/?q=gallium").get_data(as_text=True)
    assert "page 3</span>" in results and f"/doc/{hit['id']}?q=gallium#match" in results
    page = client.get(f"/doc/{hit['id']}?q=gallium").get_data(as_text=True)
    assert 'href="#match">Jump to the best match (page 3)' in page
    assert page.count('class="page" id="page-') == 3
    section = page.split('id="page-3"', 1)[1].split("</section>", 1)[0]
    assert 'id="match"' in section and "<mark>gallium</mark>" in section
    app.extensions["search_index"].close()


def test_long_report_shows_and_jumps_to_its_best_passage(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    filler = "\n\n".join(
        f"Paragraph {n} discusses budgets, staffing and procurement in general terms." for n in range(400)
    )
    late = "The sanctions on gallium exports reshaped supply chains for radar makers."
    (root / "long-report.txt").write_text(f"A Long Report\n\n{filler}\n\n{late}\n\n{filler}\n", "utf-8")
    index_dir = tmp_path / "ix"
    run_build([root], index_dir)
    app = create_app({"INDEX_DIR": str(index_dir)})
    client = app.test_client()
    hit = client.get("/api/search?q=gallium+sanctions").get_json()["hits"][0]
    assert "<mark>gallium</mark>" in hit["snippet"] and not hit["snippet"].startswith("Paragraph 0 ")
    page = client.get(f"/doc/{hit['id']}?q=gallium+sanctions").get_data(as_text=True)
    assert '<p id="match">The <mark>sanctions</mark> on <mark>gallium</mark>' in page
    app.extensions["search_index"].close()


def test_update_handles_each_new_kind_incrementally(sources, tmp_path):
    index_dir = tmp_path / "ix"
    run_build([sources], index_dir)
    untouched = run_update([sources], index_dir)
    assert untouched.documents_added == untouched.documents_updated == untouched.documents_deleted == 0
    assert not untouched.swapped

    reports = sources / "reports" / "csis"
    write_pdf(reports / "2022-03-04-supply-chains.pdf", [*PAGES, "An annex on rare earths in Myanmar."])
    (reports / "chip-controls.html").write_text(ARTICLE.replace("several years", "a decade"), "utf-8")
    data = json.loads((sources / "news" / "bing.json").read_text("utf-8"))
    data["value"].pop(0)
    (sources / "news" / "bing.json").write_text(json.dumps(data), "utf-8")
    with (sources / "news" / "feed.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"title": "Added line", "url": "https://lines.example.com/4"}) + "\n")
    summary = run_update([sources], index_dir)
    assert sorted(summary.files_changed) == sorted(
        f"src/{p}"
        for p in (
            "reports/csis/2022-03-04-supply-chains.pdf",
            "reports/csis/chip-controls.html",
            "news/bing.json",
            "news/feed.jsonl",
        )
    )
    assert (summary.documents_added, summary.documents_updated, summary.documents_deleted) == (1, 2, 1)

    # Editing the folder metadata re-reads the files under it (and only them).
    (reports / "_source.yaml").write_text("provider: CSIS\ntopics: [Chips]\n", "utf-8")
    summary = run_update([sources], index_dir)
    assert sorted(summary.files_changed) == [
        "src/reports/csis/2022-03-04-supply-chains.pdf",
        "src/reports/csis/chip-controls.html",
    ]
    rebuilt = tmp_path / "rebuilt"
    run_build([sources], rebuilt)
    apps = [create_app({"INDEX_DIR": str(d)}) for d in (index_dir, rebuilt)]
    answers = []
    for app in apps:
        client = app.test_client()
        data = client.get("/api/search?per_page=50&collapse=0").get_json()
        answers.append(sorted((h["id"], h["title"], h["provider"], tuple(h["topics"])) for h in data["hits"]))
        app.extensions["search_index"].close()
    assert answers[0] == answers[1]
    assert ("CSIS", ("Chips",)) in {(p, t) for _, _, p, t in answers[0]}


def test_pdf_without_document_information_takes_title_from_its_first_page(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    write_pdf(root / "2021-05-06-brief.pdf", ["Baltic Cable Security\nA short brief on undersea cables.", "Annex."])
    (doc,) = parsed(root)["2021-05-06-brief.pdf"].documents
    assert doc.title == "Baltic Cable Security"
    assert doc.authors == []
    assert doc.published == dt.datetime(2022, 3, 4, 12, 0)  # the PDF's creation date beats the file name
    assert len(doc.page_starts) == 2


@pytest.mark.parametrize(
    "relpath",
    ["a.md", "A.MD", "a.", ".md", "d/.md", "a.b.txt", "d/b.c/file", "x..y", "d/b.", "d/b..", "..", "d/..b", "a b.t xt"],
)
def test_a_files_suffix_is_read_as_pathlib_reads_it(relpath):
    source = SourceFile(Path("/src"), relpath, Path("/src") / relpath)
    assert source.suffix == PurePosixPath(relpath).suffix.lower()
