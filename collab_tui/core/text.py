"""Text from peers, made safe to show a person (PROTOCOL.md, "Text from peers").

Every string that arrived in a payload may come from a hostile peer. Before any of it
reaches a terminal, a log line or a notification it goes through :func:`peer_text`,
which removes what a terminal would act on instead of printing:

* ESC sequences whole (CSI ``ESC [ … final``, OSC ``ESC ] … BEL/ST``, DCS/SOS/PM/APC
  strings, and two-character escapes), so no fragment such as ``[31m`` is left behind;
* every other C0 control (U+0000–U+001F) and DEL (U+007F); TAB, LF and CR become a
  space, so words stay apart and a value never spans two lines;
* every C1 control (U+0080–U+009F), which some terminals take as CSI/OSC themselves;
* bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), which can
  make text read in an order other than its bytes;
* line/paragraph separators (U+2028/U+2029) and lone surrogates.

and bounds the length (1,024 characters of one field by default, with ``…`` marking a
cut). Pure: no I/O, usable from every layer.
"""
from __future__ import annotations

import re

#: Longest peer string shown, per field (PROTOCOL.md).
MAX_PEER_TEXT = 1024

_ESCAPES = re.compile(
    r"""
    \x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?          # CSI (final byte may be missing at the end)
    | \x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)             # OSC / DCS / SOS / PM / APC strings
    | \x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?          # 8-bit CSI
    | [\x90\x9d\x98\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)   # 8-bit string introducers
    | \x1b[\x20-\x2f]*[\x30-\x7e]?                      # other escapes (ESC ( B, ESC 7, ESC c …)
    """,
    re.VERBOSE | re.DOTALL,
)
_SPACES = {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def peer_text(value: object, limit: int = MAX_PEER_TEXT) -> str:
    """*value* as a string a terminal will only print: controls out, length bounded.

    Non-strings are turned into their ``str`` first (a peer may send a number where text
    was expected). ``limit`` counts characters of the result; a longer text ends in ``…``.
    """
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():  # every character removed below is "not printable"
        text = _CONTROLS.sub("", _ESCAPES.sub("", text).translate(_SPACES))
    if limit > 0 and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def is_clean(text: str) -> bool:
    """True when *text* has nothing :func:`peer_text` would remove (for tests and checks)."""
    return _CONTROLS.search(text) is None
