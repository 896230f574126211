"""HTML pages: the search page ``/`` and the document page ``/doc/<id>``.

Everything works without JavaScript: all state is in GET parameters, so
every view is a permalink. The one static script only submits the form when
a facet box is ticked.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup

from indexer.countries import country_name
from indexer.documents import is_web_url
from search_web.engine import Engine, SearchRequest, current_engine
from search_web.params import FILTER_PARAMS, parse_request, shown_id, state_params, url_with
from search_web.query import QueryError
from search_web.timeline_chart import chart

bp = Blueprint("views", __name__)

FACET_LABELS = {"provider": "Provider", "topic": "Topic", "country": "Country", "year": "Year", "kind": "Kind"}
KIND_LABELS = {"news": "News", "related": "Related article", "report": "Report"}
DATE_PRESETS = (("Past week", 7), ("Past month", 30), ("Past year", 365))


def _presets(search: SearchRequest) -> list[dict]:
    today = dt.date.today()
    presets = []
    for label, days in DATE_PRESETS:
        start = today - dt.timedelta(days=days)
        presets.append(
            {
                "label": label,
                "url": url_with(search, replace={"from": start.isoformat(), "to": ""}),
                "active": search.date_from == start and search.date_to is None,
            }
        )
    return presets


def _month_urls(search: SearchRequest, months: list[dict]) -> dict[str, str]:
    """Links that narrow the date range to one month of a selected year."""
    urls = {}
    for month in months:
        year, number = map(int, month["value"].split("-"))
        first = dt.date(year, number, 1)
        last = dt.date(year, number, calendar.monthrange(year, number)[1])
        urls[month["value"]] = url_with(search, replace={"from": first.isoformat(), "to": last.isoformat()})
    return urls


def _chips(search: SearchRequest) -> list[dict]:
    chips = []
    for param, value in state_params(search):
        if param in FILTER_PARAMS:
            label = {"from": "From", "to": "To"}.get(param, FACET_LABELS.get(param))
            shown = {"kind": KIND_LABELS.get(value, value), "country": country_name(value)}.get(param, value)
            chips.append({"label": f"{label}: {shown}", "url": url_with(search, drop=(param, value))})
    return chips


@bp.get("/")
def index():
    """The search page: form, facets, timeline chart and one page of results."""
    service = current_engine()
    try:
        search = parse_request(request.args, service.limits)
    except QueryError as exc:
        return render_template("search.html", error=str(exc), search=SearchRequest(q=request.args.get("q", ""))), 400
    search.timeline = True
    try:
        result = service.search(search)
    except QueryError as exc:
        return render_template("search.html", error=str(exc), search=search), 400
    last_page = max(1, -(-min(result.stories, service.limits.max_result_depth) // search.per_page))
    # The feed and the exports search as typed: their links carry the query whose results are shown.
    shown = dataclasses.replace(search, q=result.query) if result.corrected_from else search
    query = url_with(shown).rstrip("?")
    return render_template(
        "search.html",
        search=search,
        result=result,
        chips=_chips(search),
        month_urls=_month_urls(search, result.months),
        presets=_presets(search),
        facet_labels=FACET_LABELS,
        kind_labels=KIND_LABELS,
        url_with=url_with,
        last_page=last_page,
        page_sizes=service.limits.page_sizes,
        is_web_url=is_web_url,
        mark=lambda text: Markup(service.highlight(text, result.terms)),
        sort_param=search.sort if search.sort_explicit else "",
        chart=chart(result.timeline, search),
        clear_filters={param: "" for param in FILTER_PARAMS},
        feed_url=url_for("exports.feed") + query,
        csv_url=url_for("exports.search_csv") + query,
        jsonl_url=url_for("exports.search_jsonl") + query,
    )


_PARAGRAPH = re.compile(r"\S(?:(?!\n\s*\n).)*", re.S)


def _pages(service: Engine, body: str, page_starts: list[int], terms: set[str], best: int | None) -> list[dict]:
    """The body as pages (one for a non-PDF) of highlighted paragraphs.

    The paragraph holding the best-matching passage (``best``, an offset) is
    the jump target; without one, the first paragraph with a term is.
    """
    starts = page_starts or [0]
    pages, fallback = [], None
    for number, start in enumerate(starts, start=1):
        end = starts[number] if number < len(starts) else len(body)
        paragraphs, match = [], None
        for found in _PARAGRAPH.finditer(body, start, end):
            marked = service.highlight(found.group(0), terms)
            if best is not None and found.start() <= best < found.end() + 2:
                match = len(paragraphs)
            if fallback is None and "<mark>" in marked:
                fallback = (len(pages), len(paragraphs))
            paragraphs.append(Markup(marked))
        pages.append({"number": number, "paragraphs": paragraphs, "match": match})
    if fallback is not None and all(page["match"] is None for page in pages):
        pages[fallback[0]]["match"] = fallback[1]
    return pages


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    """A document's page, its query words highlighted and the best passage the jump target."""
    service = current_engine()
    doc = service.document(doc_id)
    if doc is None:
        abort(404, f"no document with id {shown_id(doc_id)}")
    q = request.args.get("q", "")[: service.limits.max_query_chars]
    terms = service.query_terms_for(q) if q else set()
    best = service.passage_offset(doc["body"], terms, doc["page_starts"]) if terms else None
    pages = _pages(service, doc["body"], doc["page_starts"], terms, best)
    match_page = next((page["number"] for page in pages if page["match"] is not None), None)
    parent = service.brief(doc["parent_id"]) if doc["parent_id"] else None
    return render_template(
        "doc.html",
        doc=doc,
        q=q,
        title_html=Markup(service.highlight(doc["title"], terms)),
        excerpt_html=Markup(service.highlight(doc["excerpt"], terms)),
        pages=pages,
        match_page=match_page if doc["page_starts"] else None,
        has_match=match_page is not None,
        parent=parent,
        similar=service.more_like_this(doc_id),
        same_story=service.story_members(doc_id),
        kind_labels=KIND_LABELS,
        is_web_url=is_web_url,
    )
