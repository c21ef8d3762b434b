"""Bounded decompression: a gzip bomb stops at the cap instead of filling memory."""

from __future__ import annotations

import io
import zlib
from typing import BinaryIO

from newsloom.errors import InputError, TooLargeError

__all__ = [
    "CappedReader",
    "Inflater",
    "gunzip_bytes",
    "gunzip_head",
    "read_gzip_capped",
    "size_text",
]

_CHUNK = 64 * 1024


def size_text(n: int) -> str:
    """Human size for messages: '50.0 MB', '64.0 KB', '900 bytes'."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n:,} bytes"


class Inflater:
    """Incremental gzip/deflate decoder whose output never exceeds ``cap`` bytes.

    ``feed`` raises ``TooLargeError`` as soon as the decoded total would pass
    the cap; zlib's ``max_length`` keeps each step's output bounded, so a
    tiny input that expands enormously is never fully materialised.
    """

    def __init__(self, encoding: str, cap: int) -> None:
        if encoding not in {"gzip", "x-gzip", "deflate"}:
            raise ValueError(f"unsupported encoding {encoding!r}")
        self._gzip = encoding != "deflate"
        self._cap = cap
        self._total = 0
        self._started = False
        self._raw_deflate = False
        self._members = 0
        self._trailing_junk = False
        self._obj = self._new()

    def _new(self) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the RFC but raw deflate in practice.
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        pending = data
        while pending:
            if self._obj.eof:
                # Concatenated gzip members are one stream (RFC 1952); for
                # deflate, or padding after the last member, the rest is ignored.
                if not self._gzip:
                    break
                self._obj = self._new()
                self._members += 1
            try:
                chunk = self._obj.decompress(pending, self._cap - self._total + 1)
            except zlib.error as exc:
                if not self._gzip and not self._started and not self._raw_deflate:
                    self._raw_deflate = True
                    self._obj = self._new()
                    continue
                if self._members > 0:
                    self._trailing_junk = True
                    break
                raise InputError(f"corrupt compressed data: {exc}") from None
            self._started = True
            self._total += len(chunk)
            if self._total > self._cap:
                raise TooLargeError(f"decompresses to more than {size_text(self._cap)}")
            out += chunk
            if self._obj.unconsumed_tail:
                pending = self._obj.unconsumed_tail
            elif self._obj.eof:
                pending = self._obj.unused_data
            else:
                pending = b""
        return bytes(out)

    def finish(self) -> bytes:
        out = self._obj.flush()
        self._total += len(out)
        if self._total > self._cap:
            raise TooLargeError(f"decompresses to more than {size_text(self._cap)}")
        if self._trailing_junk:
            return out
        if self._started and not self._obj.eof:
            raise InputError("truncated compressed data")
        return out


def gunzip_bytes(data: bytes, cap: int) -> bytes:
    """Decompress an in-memory gzip body, refusing to produce more than ``cap`` bytes."""
    inflater = Inflater("gzip", cap)
    return inflater.feed(data) + inflater.finish()


def read_gzip_capped(fh: BinaryIO, cap: int) -> bytes:
    """Read a whole gzip stream from ``fh``, stopping once past ``cap`` decoded bytes."""
    inflater = Inflater("gzip", cap)
    out = bytearray()
    while chunk := fh.read(_CHUNK):
        out += inflater.feed(chunk)
    out += inflater.finish()
    return bytes(out)


def gunzip_head(fh: BinaryIO, size: int) -> bytes:
    """First ``size`` decoded bytes of a gzip stream, tolerating a damaged tail.

    Only for sniffing: it never raises on corrupt data, it just stops.
    """
    obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    while len(out) < size and (chunk := fh.read(_CHUNK)):
        try:
            out += obj.decompress(chunk, size - len(out))
        except zlib.error:
            break
        if obj.eof:
            break
    return bytes(out)


class CappedReader(io.RawIOBase):
    """Binary stream wrapper that raises ``TooLargeError`` once more than ``cap`` bytes are read."""

    def __init__(self, stream: BinaryIO, cap: int) -> None:
        super().__init__()
        self._stream = stream
        self._cap = cap
        self._count = 0

    def readable(self) -> bool:
        return True

    def _tally(self, data: bytes) -> bytes:
        self._count += len(data)
        if self._count > self._cap:
            raise TooLargeError(f"decompresses to more than {size_text(self._cap)}")
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._tally(self._stream.read(-1 if size is None else size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._tally(self._stream.readline(-1 if size is None else size))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
