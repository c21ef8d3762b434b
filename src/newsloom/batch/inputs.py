"""Which files a batch reads, in which order, and how one file becomes pages.

The order is the single-process order: inputs as given, a folder walked by
``newsloom.read.files.walk`` (files of a folder by name, then its subfolders),
records in file order.  Every page carries that position as one integer, the
``order``; dedup and clustering use it wherever the single process depends on
what came first.

Local paths are listed on the driver and read on the executors with the same
``read_file`` the single process uses (so they must be visible to every
executor: local mode, or a shared file system).  Other URIs (``hdfs://``,
``s3a://``, …) are listed through Hadoop and read with ``binaryFiles``: the
executor spools the bytes to a temporary file and reads that.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from newsloom.errors import ConfigError
from newsloom.read.files import read_file, walk
from newsloom.settings import Settings
from newsloom.types import Failure, Page

if TYPE_CHECKING:
    from pyspark import SparkContext

__all__ = ["InputFile", "list_inputs", "order_of", "read_local", "read_spooled"]

# order = input << 48 | file << 24 | record: one sortable integer (63 bits).
_FILE_BITS = 24
_ITEM_BITS = 24
_INPUT_LIMIT = 1 << (63 - _FILE_BITS - _ITEM_BITS)


@dataclass(slots=True, frozen=True)
class InputFile:
    """One file to read: where it is and where it comes in the stream."""

    base: int  # order of its first record
    location: str  # local path or URI
    local: bool


def order_of(input_index: int, file_index: int, item_index: int) -> int:
    if input_index >= _INPUT_LIMIT or file_index >> _FILE_BITS or item_index >> _ITEM_BITS:
        raise ConfigError(
            f"too many inputs, files or records for one batch "
            f"(input {input_index}, file {file_index}, record {item_index})"
        )
    return (input_index << (_FILE_BITS + _ITEM_BITS)) | (file_index << _ITEM_BITS) | item_index


def _is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


def _local_path(location: str) -> str:
    return location[len("file://") :] if location.startswith("file://") else location


def list_inputs(sc: SparkContext, inputs: list[str]) -> tuple[list[InputFile], list[Failure]]:
    """The files under each input, in reading order, and the inputs that cannot be listed."""
    files: list[InputFile] = []
    failures: list[Failure] = []
    for input_index, location in enumerate(inputs):
        if _is_local(location):
            found, missing = _list_local(_local_path(location))
        else:
            found, missing = _list_hadoop(sc, location)
        failures.extend(missing)
        for file_index, name in enumerate(found):
            base = order_of(input_index, file_index, 0)
            files.append(InputFile(base, name, _is_local(location)))
    return files, failures


def _list_local(path: str) -> tuple[list[str], list[Failure]]:
    root = Path(path)
    if not root.exists():
        return [], [Failure(path, "no such file or folder", "FileNotFoundError")]
    if not root.is_dir():
        return [path], []
    found: list[str] = []
    failures: list[Failure] = []
    for item in walk(root):
        if isinstance(item, Failure):
            failures.append(item)
        else:
            found.append(str(item))
    return found, failures


def _walk_key(root: str, name: str) -> tuple[tuple[int, str], ...]:
    # walk() order: a folder's files by name, then its subfolders by name.
    parts = PurePosixPath(name[len(root) :].lstrip("/")).parts
    return (*((1, p) for p in parts[:-1]), (0, parts[-1]))


def _list_hadoop(sc: SparkContext, uri: str) -> tuple[list[str], list[Failure]]:
    jvm = sc._jvm  # py4j: the only way to Hadoop's file listing
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
        status = fs.getFileStatus(path)
        if not status.isDirectory():
            return [status.getPath().toString()], []
        root = status.getPath().toString()
        listing = fs.listFiles(path, True)
        found = []
        while listing.hasNext():
            name = listing.next().getPath().toString()
            relative = name[len(root) :]
            if any(part.startswith(".") for part in relative.split("/") if part):
                continue
            found.append(name)
    except Exception as exc:  # py4j wraps every Hadoop error (missing file, no scheme)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], [Failure(uri, f"cannot list: {message}", "InputError")]
    return sorted(found, key=lambda name: _walk_key(root, name)), []


def read_local(item: InputFile, settings: Settings) -> Iterator[tuple[int, Page | Failure]]:
    """Every page or failure of one local file, with its order."""
    for index, result in enumerate(read_file(Path(_local_path(item.location)), settings)):
        yield order_of_item(item, index), result


def read_spooled(
    item: InputFile, body: bytes, settings: Settings
) -> Iterator[tuple[int, Page | Failure]]:
    """Pages of a remote file whose bytes Spark delivered, named by its URI."""
    suffix = "".join(PurePosixPath(item.location).suffixes[-2:])
    handle, spool = tempfile.mkstemp(prefix="newsloom-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(body)
        for index, result in enumerate(read_file(Path(spool), settings)):
            # Name the record by the URI, not the spool file.
            renamed = item.location + result.source[len(spool) :]
            yield order_of_item(item, index), replace(result, source=renamed)
    finally:
        os.unlink(spool)


def order_of_item(item: InputFile, index: int) -> int:
    if index >> _ITEM_BITS:
        raise ConfigError(f"{item.location}: more than {1 << _ITEM_BITS} records in one file")
    return item.base | index
