"""Documents made from corpus files chosen for their oddities (see SOURCES.md)."""

from __future__ import annotations

import json

import pytest

from indexer.build import run_build
from indexer.store.schema import stored_documents
from search_web.whoosh_engine import SearchIndex
from tests.conftest import SEEDS, require_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    corpus_dir = require_corpus()
    index_dir = tmp_path_factory.mktemp("oddities")
    summary = run_build([SEEDS, corpus_dir], index_dir)
    index = SearchIndex(index_dir)
    stored = list(stored_documents(index.generation().searcher().reader()))
    yield summary, index, stored
    index.close()


def by_source(stored, source: str, kind: str = "news") -> dict:
    matches = [s for s in stored if s["source"] == source and s["kind"] == kind]
    assert len(matches) == 1, f"{source}: {len(matches)} {kind} documents"
    return matches[0]


def by_url(stored, url: str) -> dict:
    matches = [s for s in stored if s.get("url") == url]
    assert len(matches) == 1, f"{url}: {len(matches)} documents"
    return matches[0]


def test_corpus_and_seeds_skip_no_file(corpus):
    summary, _, stored = corpus
    assert summary.skipped == []
    assert summary.files_seen == 812  # 809 sources + SOURCES.md + 2 seeds
    assert summary.documents_indexed == len(stored)
    assert set(summary.documents_by_kind) == {"news", "related", "report"}
    assert summary.documents_by_kind["report"] == 49 + 1 + 1  # reports/, seed 001, SOURCES.md
    json.dumps(summary.to_dict())  # the summary is plain JSON data


def test_html_entity_decoded_in_excerpt(corpus):
    doc = by_source(
        corpus[2],
        "news-powerapps/2021-09-20-hm-group-enables-citizen-development-at-scale-with-microsoft-power-platform.md",
    )
    assert doc["excerpt"].startswith("H&M Group is a Swedish multinational")


def test_numeric_entities_become_typographic_quotes(corpus):
    doc = by_source(
        corpus[2],
        "news-powerapps/2021-02-08-ecolab-uses-microsoft-power-platform-to-create-a-unified-hub-for-sales-and-service-teams.md",
    )
    assert "“HUB”" in doc["excerpt"] and "&#" not in doc["excerpt"]


def test_soft_hyphens_removed_from_title(corpus):
    doc = by_source(corpus[2], "news-powerapps/2023-10-10-dataverse-low-code-plug-ins-now-in-public-preview.md")
    assert doc["title"].startswith("Dataverse Low Code")
    assert "\u00ad" not in doc["title"]


def test_non_breaking_spaces_normalised(corpus):
    doc = by_source(corpus[2], "news-powerapps/2022-05-24-announcing-the-preview-of-microsoft-power-pages.md")
    assert "\u00a0" not in doc["excerpt"]
    assert "announce the preview of" in doc["excerpt"]


def test_escaped_line_breaks_in_excerpt_become_spaces(corpus):
    doc = by_source(
        corpus[2],
        "news-powerapps/2021-05-15-may-19th-power-apps-community-call-multilingual-power-apps-environment-variables-and-more-environment-variables.md",
    )
    assert "\r" not in doc["excerpt"] and "\n" not in doc["excerpt"]
    assert "When: May 19th" in doc["excerpt"]


def test_video_record_with_only_original_url(corpus):
    doc = by_source(corpus[2], "news-powerapps/2019-08-19-microsoft-power-apps-2019-release-wave-2-overview.md")
    assert doc["url"] == "https://youtube.com/watch?v=WJk-Y8LQlfE"
    assert doc["title"] == "Microsoft Power Apps | 2019 release wave 2 overview"
    assert doc["published"].isoformat() == "2019-08-19T21:00:10"


def test_url_on_provider_domain_wins_when_keys_disagree(corpus):
    doc = by_source(corpus[2], "news-ai/2021-06-18-ethical-ai-will-not-see-broad-adoption-by-2030-study-suggests.md")
    assert (
        doc["url"]
        == "https://venturebeat.com/2021/06/17/ethical-ai-will-not-see-broad-adoption-by-2030-study-suggests/"
    )
    assert doc["provider"] == "VentureBeat"


def test_domain_as_provider_name_is_replaced_by_real_name(corpus):
    stored = corpus[2]
    scmp = by_url(
        stored,
        "https://www.scmp.com/tech/big-tech/article/3043186/facebook-says-group-used-ai-generated-faces-push-pro-trump-anti",
    )
    assert scmp["provider"] == "South China Morning Post"
    assert not [s for s in stored if s.get("provider") == "scmp.com"]
    post = {s["provider"] for s in stored if s.get("provider_domain") == "washingtonpost.com"}
    assert post == {"The Washington Post"}


def test_related_item_that_is_also_a_news_record_is_one_document(corpus):
    stored = corpus[2]
    url = "https://abcnews.go.com/Business/wireStory/cities-states-balk-face-recognition-tech-67783126"
    doc = by_url(stored, url)
    assert doc["kind"] == "news"
    assert doc["source"] == "news-ai/2019-12-17-why-some-cities-and-states-balk-at-face-recognition-tech.md"
    mentioning = by_source(
        stored, "news-ai/2019-12-18-why-some-cities-states-and-lawmakers-want-to-curb-facial-recognition-technology.md"
    )
    assert doc["id"] in mentioning["related_ids"]


def test_related_items_deduplicated_across_files(corpus):
    stored = corpus[2]
    url = "https://www.openpr.com/news/1884699/machine-translation-mt-system-market-in-depth-analysis"
    doc = by_url(stored, url)  # mentioned by two files, indexed once
    assert doc["kind"] == "related"
    parents = [s for s in stored if doc["id"] in (s.get("related_ids") or [])]
    assert len(parents) == 2
    assert doc["parent_id"] in {p["id"] for p in parents}


def test_duplicate_news_records_indexed_once_with_warning(corpus):
    summary, _, stored = corpus
    url = (
        "https://powerapps.microsoft.com/en-us/blog/on-boarding-user-external-user-to-tenant-through-powerapps-portal/"
    )
    doc = by_url(stored, url)
    assert (
        doc["source"]
        == "news-powerapps/2021-01-14-on-boarding-user-external-user-to-tenant-through-powerapps-portal.md"
    )
    assert any(
        w.path == "news-powerapps/2021-02-28-user-on-boarding-walkthrough-powerapps-portal-way.md"
        and "indexed once" in w.reason
        for w in summary.warnings
    )


def test_long_report_date_from_file_name_and_markup_removed(corpus):
    doc = by_source(corpus[2], "reports/pen0__2024-02-15-exporting-autocracy.txt", kind="report")
    assert doc["title"] == "Exporting Autocracy"
    assert doc["published"].isoformat() == "2024-02-15T00:00:00"
    assert doc["authors"] == ["Ryan C. Berg", "Henry Ziemer"]
    assert len(doc["body"]) > 150_000
    for markup in ("<excerpt/>", "](http", "__", "**", "#### "):
        assert markup not in doc["body"], markup
    assert doc["excerpt"].startswith("China’s mounting influence in Latin America")


def test_markdown_section_heading_title_and_footnotes(corpus):
    doc = by_source(corpus[2], "reports/tum_aipolicy__content-0.txt", kind="report")
    assert doc["title"] == "Introduction"
    assert doc.get("published") is None
    assert "[^1]" not in doc["body"] and "{.ul}" not in doc["body"] and "[[" not in doc["body"]
    assert "https://doi.org/10.1093/oxrep/grx001" in doc["body"]  # link text that is a URL stays readable


def test_oldest_archive_item_keeps_its_date(corpus):
    doc = by_source(
        corpus[2], "news-ai/2013-07-04-from-chess-to-ping-pong-how-pegasystems-is-capturing-the-fortune-500.md"
    )
    assert doc["published"].isoformat() == "2013-07-04T16:36:00"
    assert doc["provider"] == "Computer Weekly"
    assert doc["topics"] == ["AI"]


def test_every_url_is_http_or_https(corpus):
    for stored in corpus[2]:
        url = stored.get("url")
        assert not url or url.startswith(("http://", "https://")), url
