"""Story stamps kept a few seconds, so a popular story page costs no query per reader.

Every story page checks its story's stamp (``Store.story_stamp``) to learn
whether its kept page is still right.  On PostgreSQL under load that was one
query per request, about 1,500 a second in ``bench/load.py``'s mix, and the
reads queued for CPU behind the ingest; a stamp kept ``seconds`` costs one
query per story per ``seconds`` instead.  A change to a story (a new article,
a merge, a new analysis) therefore shows on its page up to ``seconds`` late.

A stamp carries the page's stored view count.  While a stamp is kept, the
views this server writes are added to it as they are written
(``add_views``), so the count a reader sees stays exact; a stamp read while
views were being written is used once and not kept, since its count may
hold some of them or none.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from newsloom.types import StoryStamp

__all__ = ["KeptStamp", "StampCache"]


@dataclass(slots=True, frozen=True)
class KeptStamp:
    """A stamp and whether its view count can be trusted with the pending ones added."""

    stamp: StoryStamp
    views_exact: bool


class StampCache:
    """Stamps of live stories by id, each kept ``seconds``; the least recently used go first.

    ``seconds`` of 0 keeps none: every call reads the store.
    """

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, StoryStamp]] = OrderedDict()

    def get(
        self,
        story_id: str,
        read: Callable[[str], StoryStamp | None],
        flushes: Callable[[], tuple[int, int]],
    ) -> KeptStamp | None:
        """The stamp of ``story_id``, kept or read with ``read``; None for no live story.

        ``flushes`` returns the view counter's (started, finished) flush counts:
        a read is kept only if no flush was under way or began while it ran.
        """
        now = time.monotonic()
        with self._lock:
            found = self._items.get(story_id)
            if found is not None and found[0] > now:
                self._items.move_to_end(story_id)
                return KeptStamp(found[1], views_exact=True)
        started, finished = flushes()
        stamp = read(story_id)
        if stamp is None:
            return None
        with self._lock:
            # Checked under the lock ``add_views`` takes: a flush that begins
            # after this check adds its views to the stamp once it is kept.
            quiet = started == finished == flushes()[0]
            if quiet and self.seconds > 0:
                self._items[story_id] = (now + self.seconds, stamp)
                self._items.move_to_end(story_id)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return KeptStamp(stamp, views_exact=quiet)

    def add_views(self, kind: str, written: Mapping[tuple[str, str], int]) -> None:
        """Add views just written to the store to the kept stamps they belong to."""
        with self._lock:
            for (page_kind, item_id), count in written.items():
                found = self._items.get(item_id) if page_kind == kind else None
                if found is not None:
                    expires, stamp = found
                    self._items[item_id] = (expires, replace(stamp, views=stamp.views + count))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
