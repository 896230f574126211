"""URL parameters -> :class:`SearchRequest`, shared by the pages and the JSON API.

Every parameter is validated here; a bad one raises :class:`QueryError`,
which both front ends turn into a 400 with a short message.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from indexer.countries import resolve_country
from search_web.engine import SORTS, SearchRequest
from search_web.query import QueryError, parse_date_bound
from search_web.settings import Limits

LIST_PARAMS = {"provider": "providers", "topic": "topics", "country": "countries", "year": "years", "kind": "kinds"}
FILTER_PARAMS = (*LIST_PARAMS, "from", "to")


# How much of a value a user sent is repeated in an error message.
SHOWN_VALUE_CHARS = 80


def shown_id(doc_id: str) -> str:
    """A document id as an error message repeats it: quoted, and cut when it is long."""
    if len(doc_id) <= SHOWN_VALUE_CHARS:
        return repr(doc_id)
    return f"{doc_id[:SHOWN_VALUE_CHARS]!r}… ({len(doc_id):,} characters)"


def validate_date_param(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` URL parameter as a date, or :class:`QueryError`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise QueryError(f"'{value}' is not a date: use YYYY-MM-DD")
    return parse_date_bound(value, end=False).date()


def _int_param(args: MultiDict, name: str, default: int) -> int:
    raw = args.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, not '{raw[:40]}'") from None


def _flag(args: MultiDict, name: str, default: bool) -> bool:
    raw = args.get(name, "")
    if raw not in ("", "0", "1"):
        raise QueryError(f"{name} must be 0 or 1")
    return default if raw == "" else raw == "1"


def parse_request(args: MultiDict, limits: Limits, *, collapse: bool = True) -> SearchRequest:
    """Validate URL parameters into a search request (``collapse``: its default)."""
    for name in set(args.keys()):
        if len(args.getlist(name)) > limits.max_param_values:
            raise QueryError(f"parameter '{name}' is repeated more than {limits.max_param_values} times")
    request = SearchRequest(q=args.get("q", "").strip())
    for param, attribute in LIST_PARAMS.items():
        values = list(dict.fromkeys(v for v in args.getlist(param) if v))
        if len(values) > limits.max_filter_values:
            raise QueryError(f"at most {limits.max_filter_values} values of '{param}' can be selected at once")
        setattr(request, attribute, values)
    codes = []
    for value in request.countries:
        code = resolve_country(value)
        if code is None:
            raise QueryError(f"unknown country '{value[:40]}': use a name or an ISO code such as CN")
        codes.append(code)
    request.countries = list(dict.fromkeys(codes))
    for year in request.years:
        if not (len(year) == 4 and year.isdigit()):
            raise QueryError(f"year must be four digits, not '{year[:40]}'")
    if args.get("from"):
        request.date_from = validate_date_param(args["from"])
    if args.get("to"):
        request.date_to = validate_date_param(args["to"])
    if request.date_from and request.date_to and request.date_from > request.date_to:
        raise QueryError("'from' is after 'to'")
    request.sort_explicit = bool(args.get("sort"))
    request.sort = args.get("sort") or ("relevance" if request.q else "newest")
    if request.sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    request.per_page = _int_param(args, "per_page", limits.default_page_size)
    if request.per_page not in limits.page_sizes:
        raise QueryError(f"per_page must be one of {', '.join(map(str, limits.page_sizes))}")
    request.facets = _flag(args, "facets", True)
    request.collapse = _flag(args, "collapse", collapse)
    request.as_typed = _flag(args, "as_typed", False)
    request.page = _int_param(args, "page", 1)
    if request.page < 1:
        raise QueryError("page starts at 1")
    if request.page * request.per_page > limits.max_result_depth:
        raise QueryError(f"results can be paged to a depth of {limits.max_result_depth}; narrow the search instead")
    return request


def state_params(request: SearchRequest) -> list[tuple[str, str]]:
    """The request as URL parameters (page left out), in a stable order."""
    pairs: list[tuple[str, str]] = []
    if request.q:
        pairs.append(("q", request.q))
    for param, attribute in LIST_PARAMS.items():
        pairs += [(param, v) for v in getattr(request, attribute)]
    if request.date_from:
        pairs.append(("from", request.date_from.isoformat()))
    if request.date_to:
        pairs.append(("to", request.date_to.isoformat()))
    if request.sort_explicit:
        pairs.append(("sort", request.sort))
    if request.per_page != 10:
        pairs.append(("per_page", str(request.per_page)))
    if not request.collapse:
        pairs.append(("collapse", "0"))
    if request.as_typed:
        pairs.append(("as_typed", "1"))
    return pairs


def url_with(
    request: SearchRequest, *, drop: tuple[str, str] | None = None, add=(), replace=None, page: int = 1
) -> str:
    """Query string of ``request`` with one value dropped, values added or replaced."""
    pairs = [p for p in state_params(request) if p != drop]
    if replace:
        pairs = [p for p in pairs if p[0] not in replace] + [(k, v) for k, v in replace.items() if v]
    pairs += list(add)
    if page > 1:
        pairs.append(("page", str(page)))
    return "?" + urlencode(pairs) if pairs else "?"
