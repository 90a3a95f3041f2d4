"""Means with 95% intervals over seeds (Student's t, small samples)."""
from __future__ import annotations

import math
from typing import Iterable

# two-sided 95% quantiles of Student's t by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t95(df: int) -> float:
    if df <= 0:
        return float("nan")
    if df in _T95:
        return _T95[df]
    for k in sorted(_T95):
        if k >= df:
            return _T95[k]
    return 1.960


def mean_ci(values: Iterable[float]) -> tuple[float, float, int]:
    """(mean, half-width of the 95% interval, n) ignoring NaNs; half-width NaN for n < 2."""
    xs = [v for v in values if not math.isnan(v)]
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan"), 0
    m = sum(xs) / n
    if n < 2:
        return m, float("nan"), n
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, t95(n - 1) * math.sqrt(var / n), n
