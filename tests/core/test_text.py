"""peer_text: hostile strings from peers lose everything a terminal would act on."""
from __future__ import annotations

import pytest

from collab_tui.core.text import MAX_PEER_TEXT, is_clean, peer_text

HOSTILE = [
    ("\x1b]0;pwned\x07title", "title"),
    ("\x1b[2J\x1b[1;1Hfake row", "fake row"),
    ("\x1b[31mred\x1b[0m", "red"),
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x9b31mX", "X"),
    ("\x1bPqdcs\x1b\\after", "after"),
    ("a\u202eb\u2066c\u2069d\u200fe", "abcde"),
    ("one\ntwo\rthree\tfour", "one two three four"),
    ("nul\x00bell\x07del\x7f", "nulbelldel"),
    ("sur\udc80rogate", "surrogate"),
    ("line\u2028sep", "linesep"),
    ("trailing escape \x1b", "trailing escape "),
    ("unterminated osc \x1b]0;forever", "unterminated osc "),
]


@pytest.mark.parametrize(("raw", "shown"), HOSTILE)
def test_controls_and_sequences_are_removed_whole(raw: str, shown: str) -> None:
    out = peer_text(raw)
    assert out == shown
    assert is_clean(out)
    assert "\x1b" not in out and "\x07" not in out


def test_ordinary_text_is_untouched() -> None:
    for text in ["feature_development", "naïve café ✓ 日本語", "a b  c", "emoji 👍🏽"]:
        assert peer_text(text) == text


def test_length_is_bounded_with_a_visible_cut() -> None:
    out = peer_text("x" * 5000)
    assert len(out) == MAX_PEER_TEXT
    assert out.endswith("…")
    assert peer_text("abcdef", limit=4) == "abc…"
    assert peer_text("abcd", limit=4) == "abcd"


def test_non_strings_become_text() -> None:
    assert peer_text(12.5) == "12.5"
    assert peer_text(None) == "None"
