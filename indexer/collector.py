"""Keeping Python's cyclic garbage collector away from a build's millions of long-lived objects.

A build holds every parsed document until it ends. They form no reference
cycles, so reference counting frees whatever is dropped; but each full
collection walks every tracked object, and at a million documents each walk
costs seconds on the core the build is waiting for.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then back as it was.

    Reading makes millions of objects that live to the end (every file's
    documents), and each full collection walks them all, more often as they
    grow: 13 of 125 s of a build at 100,000 documents. The parse workers
    collect as usual (a skipped file's exception makes a cycle).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def frozen_for_the_collector() -> Iterator[None]:
    """Every object alive when the block starts is out of the collector's sight until it ends (``gc.freeze``).

    Objects made while the collector was paused all wait in its youngest
    generation, and the first collections after it resumes walk every one of
    them: 8 s on one core between reading and writing a million documents.
    So enter this before the collector resumes (any allocation may start a
    collection). Frozen objects are still freed by reference counting. Nested, or with
    objects frozen before the block, nothing is unfrozen at its end: the
    freeze is left as it was found.
    """
    unfreeze = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if unfreeze:
            gc.unfreeze()
