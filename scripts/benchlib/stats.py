"""Medians with distribution-free confidence intervals, and verdicts on them.

On this kind of machine a run's figures wander by several per cent from one
second to the next, so one ratio proves nothing. A target is decided on the
median of paired ratios (two servers measured side by side, round after
round), with the interval that the order statistics of n rounds give for the
median: it holds at least `level` of the time whatever the distribution of
the noise (sign-test interval, no normality assumed).
"""
import math
import statistics


def _binomial_cdf(k, n):
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def median_interval(values, level=0.95):
    """(median, low, high, confidence) for the median of `values`.

    low and high are order statistics x(k) and x(n+1-k), with k the largest
    rank whose interval still holds with at least `level` confidence. Too few
    values for that give the whole range and the confidence it does have.
    """
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return None, None, None, 0.0
    k = 0
    while k + 1 <= n // 2 and 1 - 2 * _binomial_cdf(k, n) >= level:
        k += 1
    k = max(k, 1)  # too few rounds for `level`: the whole range, with what it has
    return statistics.median(xs), xs[k - 1], xs[n - k], 1 - 2 * _binomial_cdf(k - 1, n)


def at_most(interval, limit, level=0.95):
    """'met', 'not met' or 'undecided' for "the median is at most `limit`"."""
    _, low, high, confidence = interval
    if high is None or confidence < level:
        return "undecided"
    if high <= limit:
        return "met"
    if low > limit:
        return "not met"
    return "undecided"


def not_below(interval, limit, level=0.95):
    """'above', 'tie' or 'below' for "the median is not below `limit`"."""
    _, low, high, confidence = interval
    if high is None or confidence < level:
        return "undecided"
    if low >= limit:
        return "above"
    if high < limit:
        return "below"
    return "tie"
