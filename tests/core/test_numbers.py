"""Printed numbers compare the way the numbers do."""
import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.numbers import digits_to_tell_apart, score_text, tell_apart


def test_two_decimals_when_they_tell_the_numbers_apart():
    assert tell_apart(0.42, 0.5) == ("0.42", "0.50")
    assert tell_apart(0.5, 0.5) == ("0.50", "0.50")


@pytest.mark.parametrize("score,threshold,expected", [
    (0.9996, 1.0, ("0.9996", "1.0000")),
    (0.4999, 0.5, ("0.4999", "0.5000")),
    (0.499999999, 0.5, ("0.500000", "0.500000")),   # beyond MOST_DIGITS: the most we ever show
    (0.501, 0.5, ("0.501", "0.500")),
])
def test_more_digits_where_rounding_would_make_them_equal(score, threshold, expected):
    assert tell_apart(score, threshold) == expected
    assert digits_to_tell_apart(score, threshold) == len(expected[0].split(".")[1])


def test_score_text_beside_its_threshold():
    assert score_text(0.9996, 1.0) == "0.9996"
    assert score_text(0.76, 0.5) == "0.76"


def test_a_refusal_at_threshold_one_reads_true():
    t = NetworkedKernelTrainer("A", "networking", trust_threshold=1.0)
    t.reputation["B"] = 0.9996
    d = t.decide("code_review", "B")
    assert not d.accept
    assert d.reason == "reputation 0.9996 < threshold 1.0000"
