"""The JSON API: ``/api/search``, ``/api/timeline`` and ``/api/doc/<id>`` (a contract; see README)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from search_web.engine import current_engine
from search_web.params import parse_request, shown_id
from search_web.query import QueryError

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search():
    """One page of results as JSON (``SearchResult.to_json``); a bad request is a 400."""
    index = current_engine()
    try:
        result = index.search(parse_request(request.args, index.limits))
    except QueryError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(result.to_json())


@bp.get("/timeline")
def timeline():
    """The matches per period, with spikes, as JSON; a bad request is a 400."""
    index = current_engine()
    try:
        return jsonify(index.timeline(parse_request(request.args, index.limits)))
    except QueryError as exc:
        return jsonify({"error": str(exc)}), 400


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    """A document's stored fields as JSON; 404 when no document has this id."""
    doc = current_engine().document(doc_id)
    if doc is None:
        return jsonify({"error": f"no document with id {shown_id(doc_id)}"}), 404
    return jsonify(doc)
