"""How many digits a number needs so that what is printed tells the truth.

A reason such as ``reputation 1.00 < threshold 1.00`` is false as printed: the score was
0.9996, rounded. Every place that prints a score next to what it is compared with (the
policy's reasons, the Score column, the bar's label, the confirmation of a mark) asks
here how to print the pair: two decimals, more only when two decimals would make
different numbers read the same. Pure: no I/O, usable from every layer.
"""
from __future__ import annotations

#: Decimals shown by default, and the most ever shown.
LEAST_DIGITS = 2
MOST_DIGITS = 6


def digits_to_tell_apart(a: float, b: float, least: int = LEAST_DIGITS, most: int = MOST_DIGITS) -> int:
    """The fewest decimals (≥ ``least``, ≤ ``most``) at which ``a`` and ``b`` print differently.

    Equal numbers need ``least``. Rounding is monotonic, so once the printed forms differ
    they compare the way the numbers do: ``a < b`` reads as ``a < b``.
    """
    if a == b:
        return least
    for digits in range(least, most + 1):
        if f"{a:.{digits}f}" != f"{b:.{digits}f}":
            return digits
    return most


def tell_apart(a: float, b: float, least: int = LEAST_DIGITS) -> tuple[str, str]:
    """``a`` and ``b`` printed with the same number of decimals, as many as they need to differ."""
    digits = digits_to_tell_apart(a, b, least)
    return f"{a:.{digits}f}", f"{b:.{digits}f}"


def score_text(score: float, threshold: float) -> str:
    """A score as shown beside its threshold (Score column, bar label): never equal-looking
    to the threshold unless it is equal, so its colour and the verdict agree with the digits."""
    return tell_apart(score, threshold)[0]
