"""Idle and slow connections never take the service down (issue 23).

Waitress held each silent connection for 120 s, 100 per worker: about 200
connections left open by browsers on a network made every later request
wait for minutes. Each worker now holds up to ``max_connections`` and closes
one that stays silent for ``idle_timeout_s``.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from contextlib import ExitStack

import pytest

from tests.conftest import LiveServer

IDLE_CONNECTIONS = 250
ANSWER_SECONDS = 2.0


@pytest.fixture()
def server(seed_index):
    live = LiveServer(seed_index, "--setting", "idle_timeout_s=2")
    yield live
    live.stop()


def open_connections(stack: ExitStack, port: int, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    opened = []
    for _ in range(count):
        connection = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        if first_bytes:
            connection.sendall(first_bytes)
        opened.append(connection)
    return opened


def timed_search(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url + "/api/search?q=sanctions", timeout=30) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


@pytest.mark.parametrize(
    "first_bytes",
    [b"", b"GET /api/search?q=chips HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ids=["idle", "request-half-sent"],
)
def test_a_search_answers_at_once_with_250_silent_connections_open(server, first_bytes):
    with ExitStack() as stack:
        open_connections(stack, server.port, IDLE_CONNECTIONS, first_bytes)
        time.sleep(0.3)  # let the workers accept them
        assert timed_search(server.url) < ANSWER_SECONDS


def test_a_silent_connection_is_closed_after_the_idle_timeout(server):
    with ExitStack() as stack:
        connections = open_connections(stack, server.port, 20, b"GET / HTTP/1.1\r\n")
        deadline = time.monotonic() + 30
        closed = 0
        for connection in connections:
            connection.settimeout(max(deadline - time.monotonic(), 0.1))
            try:
                closed += connection.recv(1) == b""  # the server hung up
            except OSError:
                closed += 1
        assert closed == len(connections)
        assert time.monotonic() < deadline
