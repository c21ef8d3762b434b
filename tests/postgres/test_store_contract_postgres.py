"""The Store contract (tests/store_contract.py) on PostgreSQL.

The ``store_url`` and ``store`` fixtures (a fresh database per test) are in
conftest.py.
"""

from __future__ import annotations

from store_contract import *  # noqa: F403  (the contract's test functions)
