"""Flask front end: the search page, document pages and the JSON API.

``create_app(config)`` is the factory used by ``python -m search_web`` and by
the tests. Config keys: ``INDEX_DIR`` (default ``index_data``) and
``LIMITS`` (a mapping of :class:`~search_web.settings.Limits` overrides).
The app's engine is the Whoosh engine over ``INDEX_DIR``; the views reach it
through :func:`search_web.engine.current_engine`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request

from search_web.engine import ENGINE_KEY, IndexUnavailable
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex

MAX_REQUEST_BYTES = 16 * 1024
SECURITY_HEADERS = {
    # No inline script anywhere; styles and scripts only from our own /static.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` overrides ``INDEX_DIR`` and ``LIMITS``."""
    app = Flask(__name__)
    app.config.from_mapping(INDEX_DIR="index_data", LIMITS={}, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    if test_config:
        app.config.update(test_config)
    limits = Limits.from_mapping(app.config["LIMITS"])
    app.extensions[ENGINE_KEY] = SearchIndex(app.config["INDEX_DIR"], limits)

    from search_web import api, exports, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(exports.bp)

    @app.before_request
    def refuse_writes():
        # The service only reads: no request may carry a body or change state.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return _error(405, "only GET requests are accepted")
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return _error(413, "request body too large")
        return None

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(IndexUnavailable)
    def no_index(exc):
        return _error(503, str(exc))

    for status in (404, 405, 413):
        app.register_error_handler(status, lambda exc, status=status: _error(status, exc.description))

    @app.errorhandler(500)
    def internal(exc):
        return _error(500, "internal error")

    return app


def _error(status: int, message: str):
    wants_json = request.path.startswith("/api/")
    if wants_json:
        return jsonify({"error": message}), status
    return render_template("error.html", status=status, message=message), status
