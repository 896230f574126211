"""A bounded, thread-safe least-recently-used cache, and the key a search result is kept under.

Each opened index generation owns its caches (decoded postings, phrase
matches, whole search results), so a swap to a new generation drops them all
at once and no entry can ever outlive the index it was computed from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from search_web.engine import SearchRequest

Value = TypeVar("Value")


def request_key(request: SearchRequest) -> tuple[Any, ...]:
    """A hashable form of everything a search result depends on."""
    # vars() rather than dataclasses.astuple, which deep-copies every value: this runs on every search.
    return tuple(tuple(value) if isinstance(value, list) else value for value in vars(request).values())


class LruCache(Generic[Value]):
    """Values up to a capacity; the least recently used go first. A capacity of 0 keeps nothing.

    Each value weighs ``weigh(value)`` (1 by default, so the capacity is a
    number of entries); give a weight in bytes to bound memory instead.
    """

    def __init__(self, capacity: int, weigh: Callable[[Value], int] | None = None) -> None:
        self.capacity = capacity
        self.weigh = weigh or (lambda _value: 1)
        self.weight = 0
        self._items: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        """The value kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Value) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used values beyond the capacity."""
        weight = self.weigh(value)
        if weight > self.capacity:
            return  # larger than the whole cache: keeping it would only evict everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self._items[key] = (value, weight)
            self.weight += weight
            while self.weight > self.capacity:
                _, (_, dropped) = self._items.popitem(last=False)
                self.weight -= dropped

    def __len__(self) -> int:
        return len(self._items)
