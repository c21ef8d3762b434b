"""Charset decoding and mojibake repair on text written for these tests."""

from __future__ import annotations

import codecs

import pytest

from newsloom.extract.encoding import decode, repair_mojibake

CLEAN = (
    "The mayor of Łódź said “the bridge will reopen in spring” — after a café owner "
    "in Przemyśl complained that the 12‐week closure had cost her €4,000."
)


def _as_cp874_mojibake(text: str, drop_lost: bool = True) -> str:
    """UTF-8 read as Windows-874 with Windows-1252 for 0x80–0x9F; bytes neither defines vanish."""
    out = []
    for byte in text.encode("utf-8"):
        raw = bytes([byte])
        for code_page in ("cp874", "cp1252"):
            try:
                out.append(raw.decode(code_page))
                break
            except UnicodeDecodeError:
                continue
        else:
            if not drop_lost:
                out.append("?")
    return "".join(out)


def _as_cp1252_mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def test_cp874_mojibake_with_lost_bytes_is_undone() -> None:
    broken = _as_cp874_mojibake(CLEAN)
    assert "โ€" in broken and "ล" in broken
    fixed, repairs = repair_mojibake(broken)
    assert fixed == CLEAN
    details = " ".join(r.detail for r in repairs)
    assert "cp874" in details and "lost" in details


def test_cp1252_mojibake_including_lost_closing_quote() -> None:
    broken = _as_cp1252_mojibake(CLEAN)
    assert "â€œ" in broken
    fixed, repairs = repair_mojibake(broken)
    assert "“the bridge will reopen in spring”" in fixed
    assert "Łódź" in fixed and "Przemyśl" in fixed
    assert repairs


@pytest.mark.parametrize(
    "text",
    [
        CLEAN,
        "สำนักข่าวรายงานว่าสะพานจะเปิดอีกครั้งในฤดูใบไม้ผลิ ลก ลภ",  # genuine Thai
        "Déjà vu: l’été à Montréal, « très chaud », dit-elle.",
        'Plain ASCII text with "straight" quotes.',
    ],
)
def test_clean_text_is_left_alone(text: str) -> None:
    fixed, repairs = repair_mojibake(text)
    assert fixed == text
    assert repairs == []


def test_partially_damaged_text_keeps_its_good_characters() -> None:
    good = "She said “yes” and left."
    broken = good + " " + _as_cp874_mojibake("He said “no” to the plan in Kraków.")
    fixed, _ = repair_mojibake(broken)
    assert fixed == good + " He said “no” to the plan in Kraków."


def test_decode_prefers_utf8_then_declared_then_detects() -> None:
    assert decode("naïve “quotes”".encode())[0] == "naïve “quotes”"
    assert decode(codecs.BOM_UTF8 + b"hello")[0] == "hello"
    latin = "Le café de la gare a fermé ses portes après trente ans.".encode("cp1252")
    text, repairs = decode(latin, "windows-1252")
    assert text.startswith("Le café")
    assert repairs and "windows-1252" in repairs[0].detail.replace("cp1252", "windows-1252")
    guessed, repairs = decode(latin * 5)
    assert "café" in guessed and repairs


def test_decode_never_raises_on_junk() -> None:
    text, repairs = decode(bytes(range(256)) * 4)
    assert isinstance(text, str)
    assert repairs


def test_other_code_pages_go_to_ftfy() -> None:
    clean = "Мэр заявил, что мост откроют весной, а паром будет ходить каждые 20 минут."
    broken = clean.encode("utf-8").decode("cp1251", errors="replace")
    fixed, repairs = repair_mojibake(broken)
    assert fixed == clean
    assert any("ftfy" in r.detail for r in repairs)
    # Genuine Russian text is not touched.
    assert repair_mojibake(clean) == (clean, [])
