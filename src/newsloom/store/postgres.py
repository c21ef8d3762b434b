"""PostgreSQL backend: several ingest workers and web servers on one database.

Every SQL statement of the PostgreSQL store lives in this module and its
``postgres_*`` siblings; the schema is in ``postgres_schema``.  The connection
runs in autocommit mode and each write opens its own transaction (READ
COMMITTED), so a batch commits whole or not at all; ``transaction()`` groups
several writes and a nested one is a savepoint, as in the SQLite store.  A
write inside a transaction gets no savepoint of its own (two round trips
each); when one fails, the whole transaction refuses to commit instead.

Lock discipline between processes (all locks are transaction-scoped advisory
locks, released by COMMIT or ROLLBACK, so a killed worker never leaves one):

* **Articles and duplicates** (``ARTICLES_LOCK``): taken by the first
  ``put_articles`` or duplicate-detection write of a transaction, before any
  row is touched.  Storing a batch and linking it to its exact and near copies
  therefore happens one worker at a time: worker B's ``exact_matches`` runs
  after worker A's batch committed and sees A's fingerprints, so two workers
  storing copies of one text at once end up in one duplicate group.  Taking
  it first also orders every worker's row locks, so two batches sharing
  article ids cannot deadlock, and a batch's check of which ids exist stays
  true until it commits.  ``articles.id`` is unique and rows go in with
  ``INSERT ... ON CONFLICT``, so even a writer that skipped the lock could
  not store an article twice.
* **Story placement** (``STORIES_LOCK``): the story index opens a transaction
  and takes the lock at its first read of a batch, and ``flush`` (or
  ``discard``) ends it.  Candidate stories are read, scored and written under
  the lock, so worker B decides only after worker A's new stories are
  committed and visible: two workers never start two stories for one event.
  The index's caches are dropped at each batch start, because another worker
  may have changed any story since.  An article placed by another worker
  between this worker's ``stories_of`` check and the lock makes ``flush``
  refuse the batch (``PlacementConflictError``, rolled back, nothing
  written); ``cluster_stored`` then places the batch again without it.
* **Story analysis**: ``put_story_analysis`` locks the story's id, so two
  workers analysing one story write one after the other.
* **Migrations**: a session advisory lock around the whole upgrade, so
  processes opening a new database at once migrate it once.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from newsloom.errors import StoreError
from newsloom.store.base import (
    PutResult,
    SearchHit,
    utc_text,
)
from newsloom.store.migrations import latest_version, pending
from newsloom.store.postgres_analysis import PostgresAnalysisMixin
from newsloom.store.postgres_dedup import ARTICLES_LOCK, PostgresDedupMixin
from newsloom.store.postgres_schema import MIGRATIONS, MIGRATIONS_TABLE
from newsloom.store.postgres_stories import PostgresStoryMixin
from newsloom.store.rows import ARTICLE_COLUMNS, PreparedArticle, prepare_batch
from newsloom.store.shared_reads import SharedArticleReads
from newsloom.store.sqlite import MAX_QUERY_CHARS, MAX_QUERY_TERMS, MIN_PREFIX
from newsloom.types import Article, Failure

__all__ = ["ARTICLES_LOCK", "MIGRATION_LOCK", "STORIES_LOCK", "PostgresStore", "redact_url"]

# Advisory lock keys: "NLOM" then a small number, unlikely to collide with
# another application's keys in a shared database.
MIGRATION_LOCK = 0x4E4C4F4D_00000001
STORIES_LOCK = 0x4E4C4F4D_00000003
# Class id of the per-story analysis locks (two-key form: class, hashtext(id)).
ANALYSIS_LOCK_CLASS = 0x4E4C4F4D & 0x7FFFFFFF

PAGE_SIZE = 256
SNIPPET_WORDS = 16
# ts_rank weights for {D, C, B, A}: title words (A) weigh ten times body
# words (B), as TITLE_WEIGHT/TEXT_WEIGHT do in SQLite's bm25.
RANK_WEIGHTS = "{0, 0, 0.1, 1.0}"
# A search ranks only the most recently stored matches: ts_rank reads each
# match's whole tsvector, and a common word at 100k articles took 1.5-3.4 s
# under load (bench/load.py); alone, a word in 8,500 articles took 71 ms
# ranking all, 28 ms ranking these (the latest found by their keys alone,
# so the sort holds no tsvectors).  Fewer matches than this are all ranked.
SEARCH_CANDIDATES = 2000
# A query the planner expects this many matches for is a common one (see search()).
COMMON_MATCHES = 10_000
_HEADLINE = (
    f"StartSel=[, StopSel=], MaxWords={SNIPPET_WORDS}, MinWords=6, ShortWord=0, "
    'MaxFragments=1, FragmentDelimiter=" … "'
)
_TERM = re.compile(r"[^\W_]+")
# A NUL escaped in JSON text: "\u0000" after an even number of backslashes.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def redact_url(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
        query = parts.query
        if query:
            pairs = [
                (k, "***" if k.lower() == "password" else v)
                for k, v in parse_qsl(query, keep_blank_values=True)
            ]
            query = urlencode(pairs, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unreadable PostgreSQL URL>"


def _conninfo(url: str) -> str:
    # libpq knows postgresql:// and postgres://; SQLAlchemy-style
    # "postgresql+psycopg://" names a driver, which is always psycopg here.
    scheme, sep, rest = url.partition("://")
    if scheme.lower().startswith("postgresql+"):
        return f"postgresql{sep}{rest}"
    return url


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _search_terms(query: str) -> tuple[list[str], bool] | None:
    """The words of an untrusted query (letters and digits only) and whether
    the last one is still being typed, or None if it has no words."""
    if not isinstance(query, str):
        return None
    query = query[:MAX_QUERY_CHARS]
    words = [match.group() for match in _TERM.finditer(query)]
    if not words:
        return None
    unique: dict[str, str] = {}
    for word in words:
        unique.setdefault(word.casefold(), word)
    terms = list(unique.values())
    still_typing = query[-1].isalnum() and terms[-1].casefold() == words[-1].casefold()
    terms = terms[:MAX_QUERY_TERMS]
    return terms, still_typing and terms[-1].casefold() == words[-1].casefold()


def _estimated_matches(conn: psycopg.Connection[Any], expression: str, params: list[str]) -> float:
    """How many articles the planner expects the query to match (from its statistics)."""
    plan = conn.execute(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM articles WHERE search @@ ({expression})",
        params,
        prepare=False,
    ).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _tsquery(terms: list[str], prefix_last: bool) -> tuple[str, list[str]]:
    """SQL for a tsquery ANDing every term; the last one as a prefix if asked.

    Each word goes to ``websearch_to_tsquery`` double-quoted, so words such as
    ``or`` and leading ``-`` are searched as plain words, never operators.
    """
    exact = terms[:-1] if prefix_last else terms
    parts: list[str] = []
    params: list[str] = []
    if exact:
        parts.append("websearch_to_tsquery('simple', %s)")
        params.append(" ".join(f'"{term}"' for term in exact))
    if prefix_last:
        parts.append("to_tsquery('simple', %s)")
        params.append(f"'{terms[-1]}':*")
    return " && ".join(parts), params


class PostgresStore(
    PostgresDedupMixin, PostgresStoryMixin, PostgresAnalysisMixin, SharedArticleReads
):
    """The ``Store`` protocol on a PostgreSQL database.

    One connection per store object, shared between threads under a lock;
    open one store per process or thread for parallel work (the web server
    does).  ``url`` is the address without its password.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        self.url: str = redact_url(url)
        self._where = self.url
        self._lock = threading.RLock()
        # One entry per open transaction level: True when it is BEGIN or a
        # savepoint, False for a step that joined its caller's transaction.
        self._levels: list[bool] = []
        # The outermost level that holds writes of a failed step, if any.
        self._failed_level: int | None = None
        # Advisory locks taken in the open transaction -> the level that took
        # them: rolling back to a savepoint releases the locks taken after it.
        self._held: dict[int, int] = {}
        try:
            conn = psycopg.connect(
                _conninfo(url),
                autocommit=True,
                connect_timeout=max(1, int(connect_timeout)),
                application_name="newsloom",
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self._where}: {_one_line(exc)}"
            ) from exc
        except Exception as exc:  # a malformed URL is a ProgrammingError or ValueError
            raise StoreError(f"cannot use PostgreSQL URL {self._where}: {exc}") from exc
        self._conn: psycopg.Connection[Any] | None = conn
        try:
            self._migrate(conn)
        except BaseException as exc:
            self._conn = None
            conn.close()
            if isinstance(exc, psycopg.Error):
                raise self._error("opening", exc) from exc
            raise

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    # -- schema ------------------------------------------------------------

    def _installed_version(self, conn: psycopg.Connection[Any]) -> int | None:
        """Schema version, or None if the migrations table does not exist."""
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()[0]
        if exists is None:
            return None
        return int(
            conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {MIGRATIONS_TABLE}").fetchone()[0]
        )

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        current = self._installed_version(conn)
        if current is not None and not pending(current, MIGRATIONS, where=self._where):
            return
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            # Re-read under the lock: another process may have migrated meanwhile.
            current = self._installed_version(conn)
            if current is None:
                self._check_empty(conn)
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                    " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = 0
            for step in pending(current, MIGRATIONS, where=self._where):
                try:
                    with conn.transaction():
                        for statement in step.statements:
                            conn.execute(statement)
                        conn.execute(
                            f"INSERT INTO {MIGRATIONS_TABLE} (version, description)"
                            " VALUES (%s, %s)",
                            (step.version, step.description),
                        )
                except psycopg.Error as exc:
                    raise StoreError(
                        f"{self._where}: migrating the schema to version {step.version} "
                        f"failed: {_one_line(exc)}"
                    ) from exc
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    def _check_empty(self, conn: psycopg.Connection[Any]) -> None:
        """Refuse to add newsloom tables to a schema that holds someone else's."""
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()[0]
        if tables:
            raise StoreError(
                f"{self._where}: not a newsloom database (its schema holds {tables} other "
                "table(s)); create an empty database for newsloom"
            )

    def schema_version(self) -> int:
        with self._reading("reading the schema version") as conn:
            return self._installed_version(conn) or 0

    @staticmethod
    def latest_schema_version() -> int:
        return latest_version(MIGRATIONS)

    # -- plumbing ----------------------------------------------------------

    def _error(self, action: str, exc: psycopg.Error) -> StoreError:
        if isinstance(exc, psycopg.errors.DeadlockDetected):
            return StoreError(
                f"{self._where}: {action}: another writer held the same rows; nothing "
                "from this transaction was written, run it again"
            )
        conn = self._conn
        if isinstance(exc, psycopg.OperationalError) and conn is not None and conn.broken:
            return StoreError(
                f"{self._where}: {action}: lost the connection to PostgreSQL: {_one_line(exc)}"
            )
        return StoreError(f"{self._where}: {action}: {_one_line(exc)}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise StoreError(f"{self._where}: the store is closed")
        return self._conn

    @contextmanager
    def _reading(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except psycopg.Error as exc:
                raise self._error(action, exc) from exc

    def _begin(self, action: str, *, savepoint: bool = True) -> psycopg.Connection[Any]:
        """Open a transaction level: BEGIN, or inside a transaction a savepoint
        (or, with ``savepoint=False``, nothing: see ``_transaction``).  The
        caller must end it with ``_end``; the store's lock is held until then."""
        self._lock.acquire()
        try:
            conn = self._connection()
            if not self._levels:
                conn.execute("BEGIN")
            elif savepoint:
                conn.execute(f"SAVEPOINT nl_{len(self._levels)}")
            self._levels.append(savepoint or not self._levels)
            return conn
        except BaseException as exc:
            self._lock.release()
            if isinstance(exc, psycopg.Error):
                raise self._error(action, exc) from exc
            raise

    def _end(self, action: str, *, commit: bool) -> None:
        conn = self._conn
        level = len(self._levels)
        try:
            marked = self._levels.pop()
            if conn is None:
                return
            taken = [key for key, at in self._held.items() if at >= level]
            if not self._levels:
                failed, self._failed_level = self._failed_level, None
                self._held.clear()
                if commit and failed is not None:
                    conn.execute("ROLLBACK")
                    raise StoreError(
                        f"{self._where}: {action}: a step of this transaction failed, so "
                        "nothing of it was written"
                    )
                conn.execute("COMMIT" if commit else "ROLLBACK")
            elif commit or not marked:
                if marked:
                    conn.execute(f"RELEASE SAVEPOINT nl_{level - 1}")
                elif not commit:
                    # Without a savepoint the step's writes so far stay in the
                    # enclosing level, which must then not commit.
                    failed = self._failed_level
                    self._failed_level = level - 1 if failed is None else min(failed, level - 1)
                self._held.update((key, level - 1) for key in taken)
            else:
                for key in taken:
                    del self._held[key]
                if self._failed_level is not None and self._failed_level >= level:
                    self._failed_level = None
                conn.execute(f"ROLLBACK TO SAVEPOINT nl_{level - 1}")
                conn.execute(f"RELEASE SAVEPOINT nl_{level - 1}")
        except psycopg.Error as exc:
            if commit:
                if not self._levels:
                    self._rollback_quietly(conn)
                raise self._error(action, exc) from exc
            # A failed rollback: the error that caused it is the one to raise.
        finally:
            self._lock.release()

    @staticmethod
    def _rollback_quietly(conn: psycopg.Connection[Any] | None) -> None:
        try:
            if (
                conn is not None
                and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            ):
                conn.execute("ROLLBACK")
        except psycopg.Error:
            pass

    @contextmanager
    def _transaction(
        self, action: str, *, lock: int | None = None, savepoint: bool = False
    ) -> Iterator[psycopg.Connection[Any]]:
        """One write: its own transaction, or a step of the caller's.

        A step of an open transaction gets no savepoint of its own (each would
        cost two round trips to the server); if it fails, the transaction can
        no longer commit (``_end`` rolls it back), so it stays all or nothing.
        ``transaction()`` nested in another is a real savepoint.
        """
        conn = self._begin(action, savepoint=savepoint)
        try:
            if lock is not None:
                self._take(conn, lock)
            yield conn
        except BaseException as exc:
            self._end(action, commit=False)
            if isinstance(exc, psycopg.Error):
                raise self._error(action, exc) from exc
            raise
        self._end(action, commit=True)

    def _take(self, conn: psycopg.Connection[Any], key: int) -> None:
        """Take an advisory lock for the rest of the outermost transaction."""
        if key not in self._held:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            self._held[key] = len(self._levels)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One all-or-nothing transaction around several writes (see ``Store``)."""
        with self._transaction("writing", savepoint=True):
            yield

    def _load(self, data: Any) -> Article:
        try:
            return Article.from_dict(data if isinstance(data, dict) else json.loads(data))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"{self._where}: a stored article cannot be read: {exc}") from exc

    # -- articles ----------------------------------------------------------

    def _refuse_nul(self, index: int, row: PreparedArticle) -> None:
        if _JSON_NUL.search(row.data) or "\x00" in row.id:
            # PostgreSQL text and jsonb cannot hold NUL; extraction drops
            # it, so only a hand-made article gets here.
            raise StoreError(
                f"{self._where}: article #{index} ({row.id!r}) cannot be stored, nothing "
                "from this batch was written: it contains a NUL character, which "
                "PostgreSQL cannot store"
            )

    def put_articles(self, articles: Sequence[Article]) -> list[PutResult]:
        batch = prepare_batch(articles, self._where, self._refuse_nul)
        if not batch:
            return []
        stored_at = utc_text(datetime.now(UTC))
        names = ", ".join(ARTICLE_COLUMNS)
        marks = ", ".join(
            f"%({name})s::jsonb" if name == "data" else f"%({name})s" for name in ARTICLE_COLUMNS
        )
        sets = ", ".join(
            f"{name} = %({name})s::jsonb" if name == "data" else f"{name} = %({name})s"
            for name in ARTICLE_COLUMNS[1:]
        )
        results: list[PutResult] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        with self._transaction("storing articles", lock=ARTICLES_LOCK) as conn:
            # Under ARTICLES_LOCK no other worker writes articles until this
            # transaction ends, so what this reads stays true until it commits.
            existing = {
                article_id: (content, version)
                for article_id, content, version in conn.execute(
                    "SELECT id, content_sha256, version FROM articles WHERE id = ANY(%s)",
                    (list(batch),),
                )
            }
            for row in batch.values():
                before = existing.get(row.id)
                if before is not None and before[0] == row.content_sha256:
                    results.append(PutResult(row.id, "unchanged", before[1]))
                    continue
                values = row.values(
                    stored_at=stored_at, version=1 if before is None else before[1] + 1
                )
                (inserts if before is None else updates).append(values)
                status = "new" if before is None else "updated"
                results.append(PutResult(row.id, status, values["version"]))
            # Batched statements (pipelined by psycopg): a few round trips a
            # batch instead of several an article.  Rows go in in batch order.
            with conn.cursor() as cur:
                if inserts:
                    # ON CONFLICT: the unique id backs the lock; a writer that
                    # skipped the lock could not add a second row either.
                    cur.executemany(
                        f"INSERT INTO articles ({names}) VALUES ({marks})"
                        " ON CONFLICT (id) DO NOTHING",
                        inserts,
                    )
                if updates:
                    cur.executemany(f"UPDATE articles SET {sets} WHERE id = %(id)s", updates)
                if inserts or updates:
                    cur.executemany(
                        "INSERT INTO article_versions (article_id, version, raw_sha256,"
                        " content_sha256, fetched_at, stored_at, data) VALUES (%(id)s,"
                        " %(version)s, %(raw_sha256)s, %(content_sha256)s, %(fetched_at)s,"
                        " %(stored_at)s, %(data)s::jsonb)",
                        [*inserts, *updates],
                    )
        return results

    def _resolve_id(self, conn: psycopg.Connection[Any], article_id: str) -> str | None:
        """Full id for an exact id or a unique prefix of at least MIN_PREFIX chars."""
        if not isinstance(article_id, str) or not article_id or "\x00" in article_id:
            return None
        row = conn.execute("SELECT id FROM articles WHERE id = %s", (article_id,)).fetchone()
        if row is not None:
            return row[0]
        if len(article_id) < MIN_PREFIX:
            return None
        last = ord(article_id[-1])
        if 0xD800 <= last + 1 <= 0xDFFF or last >= 0x10FFFF:
            # No valid next character: compare the leading characters instead.
            rows = conn.execute(
                "SELECT id FROM articles WHERE left(id, %s) = %s ORDER BY id LIMIT 3",
                (len(article_id), article_id),
            ).fetchall()
        else:
            # A range scan on the unique (byte-ordered) index.
            upper = article_id[:-1] + chr(last + 1)
            rows = conn.execute(
                "SELECT id FROM articles WHERE id >= %s AND id < %s ORDER BY id LIMIT 3",
                (article_id, upper),
            ).fetchall()
        if not rows:
            return None
        if len(rows) > 1:
            shown = ", ".join(r[0] for r in rows[:2])
            raise StoreError(
                f"article id prefix {article_id!r} is ambiguous: it matches {shown}"
                f"{' and more' if len(rows) > 2 else ''}; give more characters"
            )
        return rows[0][0]

    def get_article(self, article_id: str) -> Article | None:
        query = "SELECT data FROM articles WHERE id = %s"
        with self._reading("reading an article") as conn:
            # A full id is one round trip; only a miss is tried as a prefix.
            valid = isinstance(article_id, str) and article_id and "\x00" not in article_id
            row = conn.execute(query, (article_id,)).fetchone() if valid else None
            if row is None:
                full_id = self._resolve_id(conn, article_id)
                if full_id is None or full_id == article_id:
                    return None
                row = conn.execute(query, (full_id,)).fetchone()
        return None if row is None else self._load(row[0])

    def get_articles(self, article_ids: Sequence[str]) -> dict[str, Article]:
        # An id with a NUL byte cannot be stored, and PostgreSQL refuses it as a parameter.
        wanted = list(
            dict.fromkeys(i for i in article_ids if isinstance(i, str) and "\x00" not in i)
        )
        if not wanted:
            return {}
        with self._reading("reading articles") as conn:
            rows = conn.execute(
                "SELECT id, data FROM articles WHERE id = ANY(%s)", (wanted,)
            ).fetchall()
        return {row[0]: self._load(row[1]) for row in rows}

    def _page_size(self) -> int:
        return PAGE_SIZE

    # -- search ------------------------------------------------------------

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        found = _search_terms(query)
        if found is None or limit <= 0:
            return []
        expression, params = _tsquery(*found)
        with self._reading("searching") as conn:
            where, latest_params = "a.search @@ q.query", []
            if _estimated_matches(conn, expression, params) >= COMMON_MATCHES:
                # A common word: walk the newest keys until SEARCH_CANDIDATES
                # match, instead of reading every match from the table (31,000
                # rows for a word in a third of 100k articles: 124 ms alone,
                # against 13 ms).  Written out, not prepared, so the planner
                # sees the words; for rarer words the index is the faster way
                # and the query below takes it.
                latest = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT pk FROM articles WHERE search @@ ({expression})"
                        " ORDER BY pk DESC LIMIT %s",
                        (*params, SEARCH_CANDIDATES),
                        prepare=False,
                    )
                ]
                where, latest_params = "a.pk = ANY(%s)", [latest]
            rows = conn.execute(
                f"""
                WITH q AS (SELECT {expression} AS query),
                latest AS (
                    SELECT a.pk FROM articles AS a, q
                    WHERE {where} ORDER BY a.pk DESC LIMIT %s
                ),
                hits AS (
                    SELECT a.pk, ts_rank(%s, a.search, q.query) AS rank
                    FROM latest JOIN articles AS a ON a.pk = latest.pk, q
                    ORDER BY rank DESC, a.pk LIMIT %s OFFSET %s
                )
                SELECT a.data, hits.rank,
                       ts_headline('simple', coalesce(a.data ->> 'text', ''), q.query, %s)
                FROM hits JOIN articles AS a ON a.pk = hits.pk, q
                ORDER BY hits.rank DESC, hits.pk
                """,
                [
                    *params,
                    *latest_params,
                    SEARCH_CANDIDATES,
                    RANK_WEIGHTS,
                    limit,
                    max(offset, 0),
                    _HEADLINE,
                ],
            ).fetchall()
        hits: list[SearchHit] = []
        for data, rank, snippet in rows:
            article = self._load(data)
            hits.append(
                SearchHit(
                    article=article,
                    score=float(rank),
                    # One line: paragraph breaks in the excerpt would break list layouts.
                    snippet=" ".join((snippet or article.title or "").split()),
                )
            )
        return hits

    # -- failures ----------------------------------------------------------

    def record_failures(self, failures: Sequence[Failure], *, run_id: str) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise StoreError("run_id must be a non-empty string")
        now = utc_text(datetime.now(UTC))
        rows = [(run_id, str(f.source), str(f.reason), str(f.error), now) for f in failures]
        if not rows:
            return
        with self._transaction("recording failures") as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO failures (run_id, source, reason, error, recorded_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
