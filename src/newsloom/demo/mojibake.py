"""Make the demo corpus's two mojibake pages from their clean sources.

Mojibake is what a page turns into when its UTF-8 bytes are read with a legacy
code page and the resulting characters are saved again as UTF-8.  Two kinds
are planted in the corpus, each made here so the damage is exact rather than
typed by hand:

* ``cp1252``: read as Windows-1252, the way browsers do it (the five bytes that
  code page leaves undefined become the C1 control with the same number), so
  nothing is lost and ftfy can undo it: ``“`` → ``â€œ``, ``é`` → ``Ã©``.
* ``cp874``: read as Windows-874 (Thai) for bytes 0xA0–0xFF and Windows-1252
  for 0x80–0x9F, and every byte neither defines is dropped.  A closing quote
  ``”`` (E2 80 9D) ends up as ``โ€``: its last byte is gone, which is why
  generic fixers cannot restore it.

The clean pages live in ``mojibake_src/`` beside this file, at the same path
they have under ``corpus/``.  Run ``python -m newsloom.demo.mojibake`` to
rewrite the corrupted copies after editing a clean one; ``--check`` only
compares.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

__all__ = [
    "PAGES",
    "SOURCE_DIR",
    "corrupt",
    "cp874_mojibake",
    "cp1252_mojibake",
    "render",
]

DEMO_DIR = Path(__file__).resolve().parent
SOURCE_DIR = DEMO_DIR / "mojibake_src"
CORPUS_DIR = DEMO_DIR / "corpus"

# Path under both mojibake_src/ and corpus/, and the kind of damage.
PAGES: tuple[tuple[str, str], ...] = (
    (
        "html/pellingfordexaminer.example/corvane-recalls-14-batches-of-blood-pressure-tablets.html",
        "cp1252",
    ),
    (
        "text/civicpulsenow.example/recount-upholds-okonjo-fell-triumph-in-saltmarsh.txt",
        "cp874",
    ),
)


def _decode_byte(byte: int, codec: str) -> str | None:
    try:
        return bytes([byte]).decode(codec)
    except UnicodeDecodeError:
        return None


@cache
def _cp1252_table() -> tuple[str, ...]:
    # Undefined bytes keep their number as a C1 control, as in the WHATWG
    # windows-1252 decoder every browser uses.
    return tuple(_decode_byte(b, "cp1252") or chr(b) for b in range(256))


@cache
def _cp874_table() -> tuple[str, ...]:
    # Windows' own Thai decoder takes 0x80–0x9F from Windows-1252; an
    # undefined byte becomes nothing, so the table holds "" for it.
    table: list[str] = []
    for b in range(256):
        codec = "cp1252" if 0x80 <= b <= 0x9F else "cp874"
        table.append(_decode_byte(b, codec) or "")
    return tuple(table)


def cp1252_mojibake(text: str) -> str:
    """``text`` as it reads after its UTF-8 bytes were decoded as Windows-1252."""
    table = _cp1252_table()
    return "".join(table[b] for b in text.encode("utf-8"))


def cp874_mojibake(text: str) -> str:
    """``text`` as it reads after its UTF-8 bytes were decoded as Windows-874."""
    table = _cp874_table()
    return "".join(table[b] for b in text.encode("utf-8"))


_KINDS: dict[str, Callable[[str], str]] = {
    "cp1252": cp1252_mojibake,
    "cp874": cp874_mojibake,
}


def corrupt(text: str, kind: str) -> str:
    """Apply one kind of mojibake (``"cp1252"`` or ``"cp874"``) to clean text."""
    try:
        return _KINDS[kind](text)
    except KeyError:
        raise ValueError(f"unknown mojibake kind {kind!r}") from None


def render(relative_path: str, kind: str, source_dir: Path = SOURCE_DIR) -> bytes:
    """The corrupted page for one clean source, as the bytes saved in the corpus."""
    clean = (source_dir / relative_path).read_text(encoding="utf-8")
    return corrupt(clean, kind).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the corpus instead of writing"
    )
    args = parser.parse_args(argv)
    stale = []
    for relative_path, kind in PAGES:
        data = render(relative_path, kind)
        target = CORPUS_DIR / relative_path
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                stale.append(relative_path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"wrote {target.relative_to(DEMO_DIR)} ({kind})")
    for relative_path in stale:
        print(f"out of date: corpus/{relative_path}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
