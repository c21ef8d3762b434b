"""Schema migrations, independent of the database behind them.

A backend keeps its own ordered tuple of ``Migration`` steps (its SQL stays in
the backend module) and asks ``pending`` which ones an opened database still
needs.  Each step runs in its own transaction together with the bump of the
stored schema version, so a crash leaves the database at a known version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsloom.errors import StoreError

__all__ = ["Migration", "check_sequence", "latest_version", "pending"]


@dataclass(slots=True, frozen=True)
class Migration:
    """One step from schema ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


def check_sequence(migrations: Sequence[Migration]) -> None:
    """Refuse a step list with gaps or reordering: versions must run 1, 2, 3, …"""
    for expected, step in enumerate(migrations, start=1):
        if step.version != expected:
            raise StoreError(
                f"migration list is broken: step {expected} is labelled version {step.version}"
            )


def latest_version(migrations: Sequence[Migration]) -> int:
    return migrations[-1].version if migrations else 0


def pending(current: int, migrations: Sequence[Migration], *, where: str) -> list[Migration]:
    """The steps still to apply to a database at schema ``current``.

    A database newer than the code is refused rather than used: an older
    newsloom could silently write rows the newer schema no longer expects.
    """
    check_sequence(migrations)
    latest = latest_version(migrations)
    if current < 0:
        raise StoreError(f"{where}: invalid schema version {current}")
    if current > latest:
        raise StoreError(
            f"{where}: database schema version {current} is newer than this newsloom "
            f"supports (version {latest}); upgrade newsloom to open it"
        )
    return list(migrations[current:])
