"""Local files and folders.

Folders are walked recursively in sorted order, skipping hidden entries and
never following a symlink out of the tree.  Each file is routed by its content
(not its extension alone); page files are capped at ``settings.max_file_bytes``,
WARC and JSONL archives at ``settings.max_archive_bytes`` and are streamed.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from newsloom.errors import InputError, TooLargeError, UnsupportedInputError
from newsloom.read.compress import CappedReader, gunzip_head, read_gzip_capped, size_text
from newsloom.read.jsonl import pages_from_jsonl
from newsloom.read.outcome import failure
from newsloom.read.route import pages_from_body, strip_gzip_suffix
from newsloom.read.sniff import HEAD_BYTES, sniff
from newsloom.read.warc import pages_from_warc
from newsloom.settings import Settings
from newsloom.types import Failure, Page

if TYPE_CHECKING:
    from newsloom.read.fetch import Fetcher

__all__ = ["PAGE_SUFFIXES", "read_file", "read_path", "walk"]

#: Extensions newsloom reads; other files are read when their content is a page.
PAGE_SUFFIXES = (
    ".html",
    ".htm",
    ".html.gz",
    ".txt",
    ".json",
    ".jsonl",
    ".warc",
    ".warc.gz",
    ".xml",
)

# Assets saved next to web pages ("page_files/") and program sources: never
# articles, so a folder walk passes over them instead of reading code as text.
_ASSET_SUFFIXES = frozenset(
    {
        ".css",
        ".js",
        ".mjs",
        ".map",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".avif",
        ".svg",
        ".ico",
        ".bmp",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".webm",
        ".wasm",
        ".py",
        ".pyc",
        ".sh",
        ".ts",
    }
)


def read_path(
    path: str | os.PathLike[str],
    settings: Settings,
    fetcher: Fetcher | None = None,
) -> Iterator[Page | Failure]:
    """Yield the pages of a file, or of every readable file under a folder."""
    root = Path(path)
    source = str(path)
    if not root.exists():
        yield Failure(source, "no such file or folder", "FileNotFoundError")
        return
    if root.is_dir():
        for item in walk(root):
            if isinstance(item, Failure):
                yield item
            else:
                yield from read_file(item, settings, fetcher)
    else:
        yield from read_file(root, settings, fetcher)


def walk(root: Path) -> Iterator[Path | Failure]:
    """Files under ``root`` in sorted order; hidden entries and assets are skipped."""
    real_root = root.resolve()
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            yield failure(str(folder), exc)
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    yield Failure(
                        str(path), "symlink points outside the folder; not followed", "InputError"
                    )
                # A link to a folder inside the tree is walked where it really
                # is; following it too could loop.
                elif target.is_file() and not _is_asset(entry.name):
                    yield path
                continue
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(path)
            elif entry.is_file(follow_symlinks=False) and not _is_asset(entry.name):
                yield path
        # Depth-first in name order: push in reverse so the first pops first.
        pending.extend(reversed(subfolders))


def _is_asset(name: str) -> bool:
    return Path(name.lower()).suffix in _ASSET_SUFFIXES


def read_file(
    path: Path, settings: Settings, fetcher: Fetcher | None = None
) -> Iterator[Page | Failure]:
    """Yield the pages one file holds (one page, or many for archives and feeds)."""
    source = str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UnsupportedInputError("not a regular file")
        fetched_at = datetime.fromtimestamp(info.st_mtime, UTC)
        with path.open("rb") as fh:
            yield from _read_open_file(fh, path, info.st_size, fetched_at, settings, fetcher)
    except (InputError, OSError) as exc:
        yield failure(source, exc)


def _read_open_file(
    fh: BinaryIO,
    path: Path,
    size: int,
    fetched_at: datetime,
    settings: Settings,
    fetcher: Fetcher | None,
) -> Iterator[Page | Failure]:
    source = str(path)
    name = path.name.lower()
    kind = sniff(fh.read(HEAD_BYTES), name)
    compressed = kind == "gzip"
    if compressed:
        fh.seek(0)
        name = strip_gzip_suffix(name)
        head = gunzip_head(fh, HEAD_BYTES)
        if not head:
            raise UnsupportedInputError("corrupt or empty gzip file")
        kind = sniff(head, name)
        if kind == "gzip":
            raise UnsupportedInputError("gzip inside gzip is not read")
    if kind == "binary":
        raise UnsupportedInputError("binary data, not a page")
    if kind == "empty":
        raise UnsupportedInputError("empty file")

    if kind in {"warc", "jsonl"}:
        _check_size(size, settings.max_archive_bytes, "archive")
        fh.seek(0)
        if kind == "warc":
            # warcio detects gzip-per-record itself.
            yield from pages_from_warc(fh, source, settings)
            return
        stream: BinaryIO = fh
        if compressed:
            stream = CappedReader(gzip.GzipFile(fileobj=fh, mode="rb"), settings.max_archive_bytes)
        try:
            yield from pages_from_jsonl(stream, source, settings, fetched_at=fetched_at)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            yield Failure(source, f"corrupt gzip data: {exc}", "InputError")
        return

    # Sitemaps may legally reach 50 MB; every other format is one page's worth.
    cap = settings.max_decompressed_bytes if kind == "sitemap" else settings.max_file_bytes
    fh.seek(0)
    if compressed:
        body = read_gzip_capped(fh, cap)
    else:
        _check_size(size, cap, "file")
        body = fh.read(cap + 1)
        # The file may have grown since stat().
        _check_size(len(body), cap, "file")
    page = Page(source=source, body=body, fetched_at=fetched_at)
    yield from pages_from_body(page, settings, fetcher, name=name, kind=kind)


def _check_size(size: int, cap: int, what: str) -> None:
    if size > cap:
        raise TooLargeError(f"{what} is {size_text(size)}, over the {size_text(cap)} limit")
