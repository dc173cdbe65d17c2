"""Confidence intervals for survey results, computed from counts and sums that SQL returns.

Pure Python (no database, no scipy): the Student-t quantile is found by bisection on the
regularised incomplete beta function.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist


def nps_interval(promoters: int, passives: int, detractors: int, z: float = 1.96) -> dict:
    """Net Promoter Score (-100..100) with its normal-approximation interval.

    Each answer scores +1 (promoter), 0 (passive) or -1 (detractor); the NPS is 100 times their
    mean, and its standard error comes from the variance of those scores,
    p + d - (p - d)^2, with p and d the shares of promoters and detractors.
    """
    n = promoters + passives + detractors
    result = {
        "n": n,
        "score": None,
        "low": None,
        "high": None,
        "standard_error": None,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }
    if n <= 0:
        return result
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    result["score"] = score
    if n < 2:
        return result
    variance = max(0.0, p + d - (p - d) ** 2)
    error = 100 * math.sqrt(variance / n)
    result["standard_error"] = error
    result["low"] = max(-100.0, score - z * error)
    result["high"] = min(100.0, score + z * error)
    return result


def wilson_interval(successes: int, n: int, z: float = 1.96) -> dict:
    """A share (0..1) with its Wilson score interval: sound for small samples and 0 % or 100 %.

    Used for CSAT's top-2-box (4 or 5 on 1..5).
    """
    result = {"n": n, "successes": successes, "share": None, "low": None, "high": None}
    if n <= 0:
        return result
    share = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / denominator
    result.update(share=share, low=max(0.0, centre - half), high=min(1.0, centre + half))
    return result


def mean_t_interval(
    n: int,
    total: float,
    total_of_squares: float,
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> dict:
    """The mean of n values, from their sum and sum of squares, with its Student-t interval.

    With `bounds` (a scale's ends), the interval is clipped to the scale.
    """
    result = {"n": n, "mean": None, "low": None, "high": None, "standard_deviation": None}
    if n <= 0:
        return result
    mean = total / n
    result["mean"] = mean
    if n < 2:
        return result
    # Sums of small integers: the subtraction is exact in practice; clip rounding noise.
    variance = max(0.0, (total_of_squares - total * total / n) / (n - 1))
    deviation = math.sqrt(variance)
    half = t_quantile(0.5 + confidence / 2, n - 1) * deviation / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    result.update(standard_deviation=deviation, low=low, high=high)
    return result


# --- Student's t ------------------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, epsilon = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < epsilon:
            break
    return h


def regularised_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1 - front * _beta_continued_fraction(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom."""
    tail = 0.5 * regularised_incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


@lru_cache(maxsize=512)
def t_quantile(probability: float, df: float) -> float:
    """The t value below which `probability` of Student's t (df degrees of freedom) lies."""
    if not 0 < probability < 1:
        raise ValueError("probability must be strictly between 0 and 1")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(df) or df > 1e7:
        return NormalDist().inv_cdf(probability)
    if probability < 0.5:
        return -t_quantile(1 - probability, df)
    if probability == 0.5:
        return 0.0
    low, high = 0.0, 1.0
    while t_cdf(high, df) < probability:  # t(0.9995, 1) is about 637: a few doublings
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2
