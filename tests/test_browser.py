"""A real Chromium (Debian's package) driven by Playwright against a real waitress server."""

from __future__ import annotations

import os
import re
import shutil

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests, but Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def result_count(page) -> int:
    text = page.locator("#result-count strong").inner_text()
    return int(text.replace(",", ""))


def chips(page) -> list[str]:
    return page.locator(".chips .chip").all_inner_texts()


def test_search_filter_page_and_open_document(page, live_server, output_dir):
    page.goto(live_server.url + "/")
    browse_total = result_count(page)
    page.fill("#q", "power apps")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=power\+apps"))
    total = result_count(page)
    assert 0 < total < browse_total
    assert chips(page) == []

    counts = [int(c) for c in page.locator("#facet-provider .count").all_inner_texts()]
    first_count, second_count = counts[0], counts[1]
    with page.expect_navigation():
        page.locator("#facet-provider input[type=checkbox]").nth(0).check()
    one = result_count(page)
    assert one == first_count < total
    # Disjunctive counts: the other providers keep their counts after the first is ticked.
    assert [int(c) for c in page.locator("#facet-provider .count").all_inner_texts()] == counts
    with page.expect_navigation():
        page.locator("#facet-provider input[type=checkbox]").nth(1).check()
    two = result_count(page)
    assert two == first_count + second_count  # two providers combine with OR
    assert len(chips(page)) == 2 and all(c.startswith("Provider:") for c in chips(page))
    page.screenshot(path=str(output_dir / "results-two-providers.png"), full_page=True)

    with page.expect_navigation():
        page.locator(".chips .chip").first.click()
    assert len(chips(page)) == 1
    assert result_count(page) in (first_count, second_count) and result_count(page) != two

    with page.expect_navigation():
        page.get_by_role("link", name="Clear all").click()
    assert chips(page) == [] and result_count(page) == total
    first_page_titles = page.locator(".hit-title").all_inner_texts()
    with page.expect_navigation():
        page.locator("a[rel=next]").click()
    assert "page=2" in page.url
    assert page.locator(".hit-title").all_inner_texts() != first_page_titles
    assert page.locator("ol.hits").get_attribute("start") == "11"

    title = page.locator(".hit-title").first.inner_text()
    with page.expect_navigation():
        page.locator("a.details").first.click()
    assert "/doc/" in page.url
    assert page.locator("h1").inner_text() == title
    assert page.locator("article mark").count() > 0


def test_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/?q=facial+recognition")
    total = result_count(page)
    page.locator("#facet-provider input[type=checkbox]").first.check()
    with page.expect_navigation():
        page.locator("#facet-provider button.apply").click()
    assert 0 < result_count(page) < total
    assert len(chips(page)) == 1
    context.close()


def test_keyboard_only_search(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("sanctions")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert result_count(page) > 0


def test_readable_on_a_phone(browser, live_server, output_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/?q=china")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # no sideways scrolling
    page.screenshot(path=str(output_dir / "results-phone.png"))
    context.close()


def test_country_facet_timeline_bar_and_story_cluster(page, live_server, output_dir):
    page.goto(live_server.url + "/?q=power+apps")
    assert page.locator(".timeline svg a.bar").count() > 1
    assert page.locator("#facet-country").is_visible()
    page.screenshot(path=str(output_dir / "results-timeline-and-countries.png"), full_page=True)

    # A story cluster expands in place, without leaving the page.
    story = page.locator("details.story").first
    url_before = page.url
    assert not story.locator("ul").is_visible()
    story.locator("summary").click()
    assert story.locator("ul li").first.is_visible()
    assert page.url == url_before
    page.screenshot(path=str(output_dir / "results-story-expanded.png"), full_page=True)

    # Ticking a country narrows the results to documents that name it.
    total = result_count(page)
    label = page.locator("#facet-country label").first.inner_text()
    name, count = label.rsplit(" ", 1)
    with page.expect_navigation():
        page.locator("#facet-country input[type=checkbox]").first.check()
    assert "country=" in page.url
    assert result_count(page) == int(count) < total
    assert chips(page) == [f"Country: {name} ×"] or chips(page)[0].startswith(f"Country: {name}")
    assert all(name in texts for texts in page.locator(".hit .meta").all_inner_texts())

    # A timeline bar sets the date range to its period.
    with_country = result_count(page)
    bars = page.locator(".timeline svg a.bar")
    bar_labels = [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())]
    busiest = max(range(len(bar_labels)), key=lambda i: int(re.search(r": (\d+) document", bar_labels[i])[1]))
    expected = int(re.search(r": (\d+) document", bar_labels[busiest])[1])
    with page.expect_navigation():
        bars.nth(busiest).click()
    assert "from=" in page.url and "to=" in page.url
    assert result_count(page) == expected <= with_country
    assert any(chip.startswith("From:") for chip in chips(page))
