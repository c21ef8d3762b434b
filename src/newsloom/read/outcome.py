"""Small shared helpers that turn errors and fetched bodies into reader results."""

from __future__ import annotations

from dataclasses import replace

from newsloom.errors import InputError
from newsloom.read.sniff import sniff
from newsloom.types import Failure, Page, PageKind

__all__ = ["as_document", "failure", "merge_meta"]


def failure(source: str, exc: Exception) -> Failure:
    """A Failure for ``exc`` with a one-line reason (the source is not repeated)."""
    if isinstance(exc, InputError):
        message = str(exc.args[0]) if exc.args else type(exc).__name__
    elif isinstance(exc, OSError) and exc.strerror:
        message = exc.strerror.lower()
    else:
        message = str(exc) or type(exc).__name__
    reason = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return Failure(source, reason, type(exc).__name__)


def as_document(page: Page) -> Page | Failure:
    """Accept a fetched page only if its body is an HTML or text document.

    Feed entries and sitemap URLs should point at articles; anything else (an
    image, a PDF, another feed) is reported rather than passed to extraction.
    """
    kind = sniff(page.body, page.url or page.source)
    if kind in {"html", "text"}:
        page_kind: PageKind = "html" if kind == "html" else "text"
        return page if page.kind else replace(page, kind=page_kind)
    if kind == "binary":
        reason = "binary data, not a page"
    elif kind == "empty":
        reason = "empty response"
    else:
        reason = f"{kind} data, not an article page"
    return Failure(page.source, reason, "UnsupportedInputError")


def merge_meta(page: Page, extra: dict[str, str]) -> Page:
    """Add fields a feed or sitemap knew about the page without overriding the page's own."""
    meta = dict(page.meta)
    for key, value in extra.items():
        if value:
            meta.setdefault(key, value)
    return replace(page, meta=meta)
