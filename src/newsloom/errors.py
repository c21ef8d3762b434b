"""One exception tree for everything newsloom raises on purpose.

Callers catch ``NewsloomError`` to handle any expected failure; anything else
escaping the package is a bug.
"""

from __future__ import annotations


class NewsloomError(Exception):
    """Base of every error newsloom raises deliberately."""


class InputError(NewsloomError):
    """The input (file, page, feed, archive, URL) is unusable.

    ``source`` names the input so a batch can report which one failed.
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source

    def __str__(self) -> str:
        message = super().__str__()
        return f"{self.source}: {message}" if self.source else message


class TooLargeError(InputError):
    """The input exceeds a configured size limit."""


class UnsupportedInputError(InputError):
    """The input is of a kind newsloom does not read (binary, unknown format)."""


class ExtractionError(InputError):
    """A page was read but no article could be extracted from it."""


class FetchError(InputError):
    """Fetching a URL failed: network error, HTTP error, timeout."""


class BlockedURLError(FetchError):
    """The URL is refused by policy: private address, robots.txt, bad scheme."""


class StoreError(NewsloomError):
    """The store could not be opened, migrated, read or written."""


class PlacementConflictError(StoreError):
    """Another worker placed an article of this batch first; nothing was written."""


class ConfigError(NewsloomError):
    """A setting has an invalid value."""
