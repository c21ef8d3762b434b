"""The in-memory half of a story index's batch, shared by both backends.

``SQLiteStoryIndex`` and ``PostgresStoryIndex`` keep the writes of one batch
in memory until ``flush``.  What is kept, how a flush decides which keys to
file under which day, and what the caches become after a commit do not depend
on the database; ``StoryBatch`` holds that, and each index adds its reads,
its SQL and its transaction.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsloom.cluster import Decision, Member, StoryState, is_active
from newsloom.store.rows import MEMBER_COLUMNS, UNDATED_DAY, member_row, story_state_row, utc_day

__all__ = ["StoryBatch", "StoryWrites"]


@dataclass
class StoryWrites:
    """What a flush writes for the batch's changed stories."""

    stories: list[tuple[object, ...]] = field(default_factory=list)  # story_state_row
    keys: list[tuple[str, int, str]] = field(default_factory=list)  # (key, day, story_id)
    unfiled: list[str] = field(default_factory=list)  # merged away: no keys any more
    undated: list[str] = field(default_factory=list)  # dated now: leave the undated bucket
    # Story id → the day its keys are filed under after the flush (None: none).
    filed: dict[str, int | None] = field(default_factory=dict)


class StoryBatch(ABC):
    """Write-behind state of one batch and the ``StoryIndex`` methods that
    only touch it."""

    def __init__(self) -> None:
        self._stories: dict[str, StoryState] = {}
        self._dirty: set[str] = set()  # stories changed in this batch
        # Keys added to each story since the last flush.
        self._added: dict[str, set[str]] = {}
        # The day under which story_key_days holds every key of a stored story
        # (the day of its stored ``updated``).
        self._filed_day: dict[str, int] = {}
        self._merges: list[tuple[str, str, str]] = []
        # Merges and splits in the order they happened: a flush replays them.
        self._events: list[tuple[str, str, str, tuple[str, ...]]] = []
        self._absorbed_into: dict[str, str] = {}  # this batch's merges
        self._split: set[str] = set()  # stories that lost members: keys filed anew
        # What stories keep of members: the batch's new ones, and every one
        # read or moved in this batch, with its place in membership order.
        self._new_members: list[Member] = []
        self._known: dict[str, tuple[tuple[int, int], Member]] = {}
        self._assigned: dict[str, str] = {}  # article → story, as this batch left it
        self._members: list[tuple[str, str, str | None, str]] = []
        self._df_delta: Counter[str] = Counter()
        self._documents_delta = 0
        self._df_cache: dict[str, int] = {}
        self._documents: int | None = None

    def _cache(self, story: StoryState) -> None:
        """Keep a story read from the table."""
        self._stories[story.id] = story
        if not story.merged_into:
            self._filed_day[story.id] = utc_day(story.updated)

    def _add_dirty_hits(
        self, hits: Counter[str], keys: Sequence[str], active_since: datetime
    ) -> None:
        """Count the stories changed in this batch, which are not in the table yet."""
        wanted = set(keys)
        for story_id, story in self._stories.items():
            if story_id in self._dirty and is_active(story, active_since):
                overlap = len(wanted & story.keys)
                if overlap:
                    hits[story_id] = max(hits[story_id], overlap)

    def save(self, story: StoryState, added_keys: Iterable[str]) -> None:
        self._stories[story.id] = story
        self._added.setdefault(story.id, set()).update(added_keys)
        self._dirty.add(story.id)

    def merge(self, absorbed: StoryState, into: StoryState, article_id: str) -> None:
        absorbed.merged_into = into.id
        self.save(absorbed, ())
        self._merges.append((absorbed.id, into.id, article_id))
        self._events.append(("merge", absorbed.id, into.id, (article_id,)))
        self._absorbed_into[absorbed.id] = into.id

    def keep_member(self, story_id: str, member: Member) -> None:
        self._new_members.append(member)
        self._known[member.article_id] = ((1, len(self._new_members)), member)
        self._assigned[member.article_id] = story_id

    def split(
        self, story: StoryState, part: StoryState, moved: Sequence[Member], article_id: str
    ) -> None:
        for member in moved:
            self._known.setdefault(member.article_id, ((1, 0), member))
            self._assigned[member.article_id] = part.id
        self.save(story, story.keys)
        self.save(part, part.keys)
        self._split.add(story.id)
        ids = tuple(m.article_id for m in moved)
        self._events.append(("split", story.id, part.id, (article_id, *ids)))

    def members(self, story_id: str) -> list[Member]:
        """The story's members as stored, with this batch's joins, merges and splits."""
        aliases = [story_id, *(a for a in self._absorbed_into if self._final(a) == story_id)]
        found: dict[str, tuple[tuple[int, int], Member]] = {}
        for article_id, seq, member in self._stored_members(aliases):
            self._known[article_id] = ((0, seq), member)
            if article_id not in self._assigned:
                found[article_id] = self._known[article_id]
        for article_id, assigned in self._assigned.items():
            if self._final(assigned) == story_id:
                found[article_id] = self._known[article_id]
        return [member for _, member in sorted(found.values(), key=lambda kv: kv[0])]

    def _final(self, story_id: str) -> str:
        """Follow this batch's merges from ``story_id``."""
        while story_id in self._absorbed_into:
            story_id = self._absorbed_into[story_id]
        return story_id

    @abstractmethod
    def _stored_members(self, story_ids: Sequence[str]) -> list[tuple[str, int, Member]]:
        """(article id, seq, member) of the stored memberships of these stories."""

    def _member_statements(self, mark: str) -> list[tuple[str, Sequence[object]]]:
        """SQL (``mark`` is the parameter marker) writing the batch's kept members, then its
        merges and splits in order, after its memberships are in."""
        m = mark
        out: list[tuple[str, Sequence[object]]] = [
            (
                f"INSERT INTO article_features ({MEMBER_COLUMNS})"
                f" VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (article_id) DO UPDATE SET"
                " title = excluded.title, published = excluded.published,"
                " embedding = excluded.embedding, terms = excluded.terms,"
                " entities = excluded.entities",
                member_row(member),
            )
            for member in self._new_members
        ]
        for kind, story, other, (article_id, *moved) in self._events:
            if kind == "merge":
                out.append((
                    "INSERT INTO story_merges (absorbed, into_id, article_id)"
                    f" VALUES ({m}, {m}, {m}) ON CONFLICT (absorbed) DO UPDATE SET"
                    " into_id = excluded.into_id, article_id = excluded.article_id",
                    (story, other, article_id),
                ))  # fmt: skip
                out.append(
                    (
                        f"UPDATE story_members SET story_id = {m} WHERE story_id = {m}",
                        (other, story),
                    )
                )
                continue
            if moved:
                marks = ", ".join([m] * len(moved))
                out.append((
                    f"UPDATE story_members SET story_id = {m} WHERE article_id IN ({marks})",
                    (other, *moved),
                ))  # fmt: skip
            out += [
                (
                    "INSERT INTO story_splits (part_id, story_id, article_id)"
                    f" VALUES ({m}, {m}, {m}) ON CONFLICT (part_id) DO UPDATE SET"
                    " story_id = excluded.story_id, article_id = excluded.article_id",
                    (other, story, article_id),
                ),
                # What was worked out for the whole story no longer holds.
                *(
                    (f"DELETE FROM {table} WHERE story_id = {m}", (story,))
                    for table in ("provenance", "conflicts", "story_analysis", "story_summaries")
                ),
                (
                    f"INSERT INTO pending_analysis (story_id) VALUES ({m})"
                    " ON CONFLICT (story_id) DO NOTHING",
                    (story,),
                ),
            ]
        return out

    def count_document(self, terms: Iterable[str]) -> None:
        self._df_delta.update(set(terms))
        self._documents_delta += 1

    def record(self, decision: Decision, decided_at: datetime | None) -> None:
        self._members.append(
            (
                decision.article_id,
                decision.story_id,
                decided_at.isoformat() if decided_at else None,
                json.dumps(decision.reasons()),
            )
        )

    def _has_writes(self) -> bool:
        return bool(self._dirty or self._members or self._df_delta or self._new_members)

    def _story_writes(self) -> StoryWrites:
        """The rows a flush writes for the changed stories.

        Keys are filed under the day of the story's last update, so lookups
        skip quiet stories.  Rows of earlier days stay (the lookup reads the
        newest first and checks the exact time): only a new day or new keys
        cost writes.
        """
        writes = StoryWrites()
        for story_id in sorted(self._dirty):
            story = self._stories[story_id]
            writes.stories.append(story_state_row(story))
            if story.merged_into:
                writes.unfiled.append(story.id)
                writes.filed[story.id] = None
                continue
            day = utc_day(story.updated)
            before = self._filed_day.get(story.id)
            if story.id in self._split:
                # Keys it lost must go: file every key it has now afresh.
                writes.unfiled.append(story.id)
                before = None
            if before == day:
                new_keys = sorted(self._added.get(story.id, set()) & story.keys)
            else:
                new_keys = sorted(story.keys)
                if before == UNDATED_DAY:
                    # Keep the undated bucket to stories that are undated.
                    writes.undated.append(story.id)
            writes.keys += [(key, day, story.id) for key in new_keys]
            writes.filed[story.id] = day
        return writes

    def _member_rows(self, seq: int) -> list[tuple[str, str, int, str | None, str]]:
        """The batch's memberships numbered on from ``seq``, the highest stored."""
        return [(a, s, seq + i + 1, d, r) for i, (a, s, d, r) in enumerate(self._members)]

    def _flushed(self, filed: dict[str, int | None]) -> None:
        """Bring the caches up to the committed batch and start a new one."""
        for story_id, filed_day in filed.items():
            if filed_day is None:
                self._filed_day.pop(story_id, None)
            else:
                self._filed_day[story_id] = filed_day
        self._added.clear()
        for term, delta in self._df_delta.items():
            self._df_cache[term] = self._df_cache.get(term, 0) + delta
        if self._documents is not None:
            self._documents += self._documents_delta
        self._dirty.clear()
        self._clear_events()
        self._members.clear()
        self._df_delta.clear()
        self._documents_delta = 0

    def _clear_events(self) -> None:
        self._merges.clear()
        self._events.clear()
        self._absorbed_into.clear()
        self._split.clear()
        self._new_members.clear()
        self._known.clear()
        self._assigned.clear()

    def _forget(self) -> None:
        """Drop the unflushed batch and every cache (after a failure)."""
        self._stories.clear()
        self._dirty.clear()
        self._added.clear()
        self._filed_day.clear()
        self._clear_events()
        self._members.clear()
        self._df_delta.clear()
        self._documents_delta = 0
        self._documents = None
