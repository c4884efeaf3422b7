"""The one cache class of the app, and the registry of an app's caches.

`Cache` is a small in-process cache: least recently used out first, entries expire after `ttl`
seconds. Each process keeps its own; nothing here is shared between processes or needs
invalidating, so a cache only holds what never changes (a stored result, a content version's
scorer) or what may be a little stale (a result page's peer figures, partners' origins).

Every cache of an app is made from a `CachePolicy` declared next to the code it serves (the
route it stands for, the store it memoises) and kept in the app's `Caches` (`app.state.caches`),
so one place lists them all (`Caches.all`) and each is bounded. Which caches there are, and
why each is kept (measured with `make bench`): docs/performance.md.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Cache(Generic[K, V]):
    def __init__(self, max_items: int, ttl: float | None = None):
        self.max_items = max_items
        self.ttl = ttl
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            stored_at, value = found
            if self.ttl is not None and time.monotonic() - stored_at > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass(frozen=True)
class CachePolicy:
    """What one cache is: its name (for `Caches.all` and the docs), its bound and lifetime."""

    name: str
    max_items: int
    ttl: float | None = None


class Caches:
    """The caches of one app, each made the first time it is asked for."""

    def __init__(self) -> None:
        self._made: dict[CachePolicy, Cache[Any, Any]] = {}
        self._lock = threading.Lock()

    def of(self, policy: CachePolicy) -> Cache[Any, Any]:
        made = self._made.get(policy)
        if made is None:
            with self._lock:
                made = self._made.setdefault(policy, Cache(policy.max_items, policy.ttl))
        return made

    def all(self) -> dict[str, Cache[Any, Any]]:
        return {policy.name: cache for policy, cache in self._made.items()}
