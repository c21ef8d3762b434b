"""What a crashed-and-resumed store must satisfy, compared with an uninterrupted run.

``snapshot`` reads a store through the ``Store`` API only (so the same checks
run on any backend): every article with its content hash, duplicate record and
story, the live stories, the analysis results and the analysis queue.
``compare`` lists every way a snapshot differs from the reference's;
``integrity_problems`` asks the database itself (SQLite: ``integrity_check``,
``foreign_key_check`` and the full-text index's own check; PostgreSQL:
``amcheck``'s ``bt_index_check`` on every btree index).  An empty list
means the check passed.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from newsloom.errors import StoreError
from newsloom.store import open_store
from newsloom.store.base import Store, content_sha256

__all__ = [
    "Snapshot",
    "compare",
    "integrity_problems",
    "kill_time_problems",
    "snapshot",
    "sqlite_path",
]

# Story listing page size; stories are read until a short page.
_PAGE = 500
# Scores are floats computed the same way on both sides; rounding keeps the
# comparison about decisions, not about the last bit of a sum.
_DIGITS = 6


@dataclass(slots=True)
class Snapshot:
    """One store's state as far as crash safety is concerned."""

    article_ids: list[str]  # in stored order
    content: dict[str, str]  # article id -> content hash
    duplicates: dict[str, tuple[object, ...]]  # id -> (group, match, closest, similarity)
    unfingerprinted: list[str]  # articles whose current version has no fingerprint
    story_of: dict[str, str]  # article id -> story id
    stories: dict[str, frozenset[str]]  # live story id -> its articles
    pending_analysis: list[str]
    unanalysed: list[str]  # live stories of 2+ articles never analysed
    analysis: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def story_partition(self) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for article_id, story_id in self.story_of.items():
            groups.setdefault(story_id, set()).add(article_id)
        return {frozenset(g) for g in groups.values()}

    def duplicate_partition(self) -> set[frozenset[str]]:
        groups: dict[object, set[str]] = {}
        for article_id, record in self.duplicates.items():
            groups.setdefault(record[0], set()).add(article_id)
        return {frozenset(g) for g in groups.values()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS)


def _analysis(store: Store, story_id: str) -> tuple[object, ...]:
    edges = tuple(
        (e.derived_id, e.source_id, e.relation, _round(e.score), e.attributed, e.directed)
        for e in store.story_provenance(story_id)
    )
    conflicts = tuple(
        sorted(
            (c.kind, c.a.article_id, c.a.sentence, c.b.article_id, c.b.sentence)
            for c in store.story_conflicts(story_id)
        )
    )
    return edges, conflicts


def snapshot(store: Store, *, analysis: bool = True) -> Snapshot:
    """Read everything ``compare`` needs from ``store``."""
    articles = list(store.iter_articles(order="stored", newest_first=False))
    ids = [a.id for a in articles]
    content = {a.id: content_sha256(a) for a in articles}
    duplicates: dict[str, tuple[object, ...]] = {}
    for article_id in content:
        info = store.duplicates_of(article_id)
        if info is not None:
            duplicates[article_id] = (
                info.group_id,
                info.match,
                info.closest_id,
                _round(info.similarity),
            )
    story_of = store.stories_of(ids)
    stories: dict[str, frozenset[str]] = {}
    offset = 0
    while True:
        page = store.iter_stories(limit=_PAGE, offset=offset)
        for story in page:
            stories[story.id] = frozenset(story.article_ids)
        if len(page) < _PAGE:
            break
        offset += _PAGE
    unanalysed = [
        story_id
        for story_id, members in sorted(stories.items())
        if len(members) > 1 and store.story_analysed_at(story_id) is None
    ]
    pending = store.stories_to_analyse(limit=len(stories) + 1)
    found = Snapshot(
        article_ids=ids,
        content=content,
        duplicates=duplicates,
        unfingerprinted=store.articles_without_fingerprints(limit=len(ids) + 1),
        story_of=story_of,
        stories=stories,
        pending_analysis=pending,
        unanalysed=unanalysed,
    )
    if analysis:
        found.analysis = {s: _analysis(store, s) for s in sorted(stories)}
    return found


def _some(items: object, limit: int = 3) -> str:
    listed = sorted(str(i) for i in items)  # type: ignore[attr-defined]
    more = f" (+{len(listed) - limit} more)" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more


def _stored_problems(reference: Snapshot, actual: Snapshot) -> list[str]:
    """Lost, extra and duplicated articles: what must hold at every moment."""
    problems: list[str] = []
    repeated = [i for i, n in Counter(actual.article_ids).items() if n > 1]
    if repeated:
        problems.append(f"{len(repeated)} article id(s) stored twice: {_some(repeated)}")
    extra = set(actual.content) - set(reference.content)
    if extra:
        problems.append(f"{len(extra)} article(s) the reference run never stored: {_some(extra)}")
    want = Counter(reference.content.values())
    have = Counter(actual.content.values())
    doubled = {h: have[h] - want[h] for h in have if have[h] > want[h]}
    if doubled:
        problems.append(
            f"{sum(doubled.values())} duplicated article(s) by content: {_some(doubled)}"
        )
    changed = [i for i in actual.content if i in reference.content and
               actual.content[i] != reference.content[i]]  # fmt: skip
    if changed:
        problems.append(f"{len(changed)} article(s) with other content: {_some(changed)}")
    missing_fp = set(actual.content) - set(actual.duplicates)
    if missing_fp or actual.unfingerprinted:
        lacking = missing_fp | set(actual.unfingerprinted)
        problems.append(f"{len(lacking)} article(s) without a duplicate record: {_some(lacking)}")
    return problems


def kill_time_problems(reference: Snapshot, actual: Snapshot) -> list[str]:
    """Checks for a store just after a kill: a prefix of the reference, every
    stored article with its duplicate record (they commit together)."""
    return _stored_problems(reference, actual)


def compare(reference: Snapshot, actual: Snapshot) -> list[str]:
    """Every way ``actual`` (resumed to completion) differs from ``reference``."""
    problems = _stored_problems(reference, actual)
    lost = set(reference.content) - set(actual.content)
    if lost:
        problems.append(f"{len(lost)} article(s) lost: {_some(lost)}")
    if actual.article_ids != reference.article_ids and not lost:
        problems.append("articles stored in another order than the uninterrupted run")
    unplaced = set(actual.content) - set(actual.story_of)
    if unplaced:
        problems.append(f"{len(unplaced)} article(s) without a story: {_some(unplaced)}")
    if actual.story_partition() != reference.story_partition():
        differ = actual.story_partition() ^ reference.story_partition()
        problems.append(f"stories differ as partitions: {len(differ)} group(s) not in both")
    elif actual.story_of != reference.story_of:
        problems.append("same story partition, but stories named differently")
    if actual.stories != reference.stories:
        differ = set(actual.stories.items()) ^ set(reference.stories.items())
        problems.append(f"live stories differ: {len(differ)} story record(s) not in both")
    if actual.duplicate_partition() != reference.duplicate_partition():
        differ = actual.duplicate_partition() ^ reference.duplicate_partition()
        problems.append(f"duplicate groups differ: {len(differ)} group(s) not in both")
    records = {
        i for i in reference.duplicates if actual.duplicates.get(i) != reference.duplicates[i]
    }
    if records:
        problems.append(f"{len(records)} duplicate record(s) differ: {_some(records)}")
    if actual.pending_analysis:
        problems.append(f"{len(actual.pending_analysis)} story analyses still queued")
    if actual.unanalysed:
        problems.append(f"{len(actual.unanalysed)} stories never analysed")
    if reference.analysis and actual.analysis != reference.analysis:
        differ = {
            s
            for s in set(reference.analysis) | set(actual.analysis)
            if reference.analysis.get(s) != actual.analysis.get(s)
        }
        problems.append(f"analysis (provenance, conflicts) differs for {len(differ)} stories")
    return problems


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL (or a bare path), None for other schemes."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        return None
    return Path(url)


def _sqlite_integrity(path: Path) -> list[str]:
    problems: list[str] = []
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append(f"integrity_check: {'; '.join(result[:5])}")
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            problems.append(f"foreign_key_check: {len(broken)} row(s), first {tuple(broken[0])}")
        try:
            # rank 1: compare the index with the article rows it was built from.
            conn.execute(
                "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
            )
        except sqlite3.DatabaseError as exc:
            problems.append(f"full-text index check: {exc}")
    finally:
        conn.close()
    return problems


_BTREE_INDEXES = """
SELECT c.oid::regclass::text FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = c.relam
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE am.amname = 'btree' AND n.nspname = current_schema() AND i.indisvalid
ORDER BY 1
"""


def _postgres_integrity(url: str) -> list[str]:
    """``amcheck``'s ``bt_index_check`` (with the heap check) on every btree index.

    Without the extension (not installed, or no right to create it) nothing
    can be checked; that is reported as a problem rather than passed over.
    """
    import psycopg

    conninfo = "postgresql://" + url.split("://", 1)[1]
    problems: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        except psycopg.Error as exc:
            return [f"amcheck is not available: {str(exc).strip()}"]
        indexes = [row[0] for row in conn.execute(_BTREE_INDEXES)]
        if not indexes:
            return ["no btree index found to check"]
        for index in indexes:
            try:
                conn.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
            except psycopg.Error as exc:
                problems.append(f"bt_index_check({index}): {str(exc).strip()}")
    return problems


def integrity_problems(url: str) -> list[str]:
    """The database's own consistency checks on the store at ``url``."""
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            return [f"{path}: no database file"]
        return _sqlite_integrity(path)
    if url.split("://", 1)[0].lower().startswith("postgres"):
        return _postgres_integrity(url)
    raise StoreError(f"no integrity check for {url!r}: only SQLite and PostgreSQL stores")


def read_snapshot(url: str, *, analysis: bool = True) -> Snapshot:
    with open_store(url) as store:
        return snapshot(store, analysis=analysis)
