"""A throwaway PostgreSQL server for the tests in this folder.

The server is started once per session (``server.start_server``) and each test
gets its own database, copied from a migrated template (``CREATE DATABASE ...
TEMPLATE`` is a file copy, much faster than migrating).  Without the server
binaries, or when the server cannot start, the tests are skipped, unless
``NEWSLOOM_REQUIRE_POSTGRES=1`` (``make test-postgres``) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from newsloom.store import Store, open_store
from postgres.server import PostgresServer, ServerUnavailable, start_server

TEMPLATE = "newsloom_template"


def _unavailable(reason: str) -> None:
    if os.environ.get("NEWSLOOM_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (NEWSLOOM_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = start_server()
    except ServerUnavailable as exc:
        _unavailable(str(exc))
    try:
        server.create_database(TEMPLATE)
        open_store(server.url(TEMPLATE)).close()  # migrated once, copied per test
        yield server
    finally:
        server.stop()


@pytest.fixture
def store_url(pg_server: PostgresServer) -> Iterator[str]:
    name = pg_server.create_database(template=TEMPLATE)
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def empty_url(pg_server: PostgresServer) -> Iterator[str]:
    """A database with no newsloom schema at all."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
