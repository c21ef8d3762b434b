"""The Store contract (tests/store_contract.py) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsloom.store import Store, open_store
from store_contract import *  # noqa: F403  (the contract's test functions)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
