"""Serving with waitress in one or more worker processes on one listening socket.

Search is CPU-bound Python: the threads of one process share one core (the
GIL), so 20 concurrent analysts queue behind each other. With ``--workers N``
the parent binds the socket and forks N processes that each run waitress on
it and open the index themselves (Whoosh readers keep file positions, which
forked processes would share). The parent only watches: a worker that dies
is replaced, SIGTERM or SIGINT stops them all, and the kernel kills the
workers if the parent is killed outright.

Idle and slow connections are bounded: each worker holds up to
``max_connections`` and closes one that stays silent (idle, or sending its
request slowly) for ``idle_timeout_s``. With waitress's own defaults, the
idle connections a browser left open on a network could take every
connection slot and stop every later request until they timed out.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from indexer.processes import die_with_parent
from search_web.settings import Limits

IDENT = "geosearch"
# A worker that dies sooner than this after its start is restarted only after a pause.
RESTART_PAUSE_S = 1.0


def default_workers() -> int:
    """One worker per core, at most four: more would only hold more copies of the index in memory."""
    return max(1, min(os.cpu_count() or 1, 4))


def serve(
    make_app: Callable[[], Any], host: str, port: int, threads: int, workers: int, limits: Limits | None = None
) -> None:
    """Serve ``make_app()`` on ``host:port`` until stopped; ``make_app`` runs in each worker."""
    limits = limits or Limits()
    _allow_open_files(limits.max_connections * max(workers, 1) + 256)
    listener = socket.create_server((host, port), backlog=1024)
    run = partial(_run_waitress, listener=listener, threads=threads, limits=limits)
    if workers <= 1:
        run(make_app())
        return
    _Supervisor(make_app, run, workers).run()


def _run_waitress(app: Any, *, listener: socket.socket, threads: int, limits: Limits) -> None:
    from waitress import serve as waitress_serve

    waitress_serve(
        app,
        sockets=[listener],
        threads=threads,
        ident=IDENT,
        connection_limit=limits.max_connections,
        channel_timeout=limits.idle_timeout_s,
        # How often silent connections are looked for: a third of the timeout, so one goes soon after it.
        cleanup_interval=max(limits.idle_timeout_s / 3, 0.5),
        asyncore_use_poll=True,  # select() cannot watch more than 1,024 connections
    )


def _allow_open_files(wanted: int) -> None:
    """Raise this process's limit of open files towards ``wanted``, as far as its hard limit lets it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class _Supervisor:
    """The parent process: forks the workers and keeps their number up until told to stop."""

    def __init__(self, make_app: Callable[[], Any], run: Callable[[Any], None], workers: int) -> None:
        self.make_app = make_app
        self.run_app = run  # serves an app on the listening socket until the process is stopped
        self.workers = workers
        self.started: dict[int, float] = {}  # worker pid -> start time
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            for _ in range(self.workers):
                self._spawn()
            while not self.stopping:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
                began = self.started.pop(pid, None)
                if began is None or self.stopping:
                    continue
                print(f"worker {pid} ended ({_describe(status)}); starting another", file=sys.stderr, flush=True)
                if time.monotonic() - began < RESTART_PAUSE_S:
                    time.sleep(RESTART_PAUSE_S)  # a worker that cannot start must not spin
                self._spawn()
        finally:
            self._stop_workers()

    def _spawn(self) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: serve until killed, never return into the parent's code
            status = 1
            try:
                die_with_parent(parent)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                self.run_app(self.make_app())
                status = 0
            except BaseException as exc:  # reported by the parent as the worker's end
                with contextlib.suppress(Exception):
                    print(f"worker {os.getpid()} failed: {exc!r}", file=sys.stderr, flush=True)
            finally:
                os._exit(status)
        self.started[pid] = time.monotonic()

    def _stop(self, _signum: int, _frame: Any) -> None:
        self.stopping = True
        self._signal_workers(signal.SIGTERM)

    def _signal_workers(self, signum: int) -> None:
        for pid in list(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _stop_workers(self) -> None:
        self.stopping = True
        self._signal_workers(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.started and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            self.started.pop(pid, None)
        self._signal_workers(signal.SIGKILL)  # those still there after ten seconds


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"
