"""Percentiles with distribution-free intervals, and how many samples each one needs.

For the sorted sample x(1) <= ... <= x(n), the number of observations below the true
q-quantile is Binomial(n, q), so [x(l), x(u)] covers it with probability
P(l <= B < u) (Conover, *Practical Nonparametric Statistics*, 3rd ed., section 3.2).
No distribution is assumed. When the rank u the confidence needs is beyond n, the
upper end lies beyond the largest observation and is not stated: a p99 from 37 samples
is their maximum, and nothing bounds it from above.

The smallest sample whose maximum is a valid upper bound solves 1 - q**n >= 1 - alpha/2,
so n >= ln(alpha/2) / ln(q): 368 samples for a two-sided 95 % interval on a p99,
36 on a p90, 6 on a median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

CONFIDENCE = 0.95


class Quantile(BaseModel):
    """One percentile of a sample with its interval (None: beyond the data)."""

    model_config = ConfigDict(extra="forbid")

    q: float
    """The percentile, 0-100."""
    value: float | None
    low: float | None
    high: float | None
    n: int
    needs: int
    """Samples a bounded two-sided interval at ``confidence`` needs."""
    confidence: float = CONFIDENCE

    @property
    def bounded(self) -> bool:
        """Both ends of the interval are observations."""
        return self.low is not None and self.high is not None


def binomial_cdfs(n: int, p: float) -> list[float]:
    """[P(B <= k) for k = 0..n], B ~ Binomial(n, p); terms summed in log space."""
    if p <= 0 or p >= 1:
        return [float(p <= 0 or k == n) for k in range(n + 1)]
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    out, total = [], 0.0
    for k in range(n + 1):
        total += math.exp(
            log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q
        )
        out.append(min(total, 1.0))
    out[-1] = 1.0
    return out


def rank_interval(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """1-based ranks (l, u) with P(x(l) <= quantile <= x(u)) >= confidence.

    With B the number of observations below the quantile, x(l) misses it when B < l and
    x(u) when B >= u; l is the largest rank with P(B <= l - 1) <= tail and u the smallest
    with P(B >= u) <= tail, tail = (1 - confidence) / 2. l = 0 means no observation
    bounds it from below, u = n + 1 none from above.
    """
    cdf = binomial_cdfs(n, q / 100)
    tail = (1 - confidence) / 2
    low = 0
    while low < n and cdf[low] <= tail:
        low += 1
    high = n + 1
    while high > 1 and 1 - cdf[high - 2] <= tail:
        high -= 1
    return low, high


def samples_needed(q: float, confidence: float = CONFIDENCE) -> int:
    """The smallest n whose largest (or, below the median, smallest) observation bounds
    the q-percentile's interval: n >= ln((1 - confidence) / 2) / ln(max(p, 1 - p))."""
    p = q / 100
    tail = (1 - confidence) / 2
    return math.ceil(math.log(tail) / math.log(max(p, 1 - p)))


def quantile(values: Iterable[float], q: float, confidence: float = CONFIDENCE) -> Quantile:
    """The q-percentile of ``values`` (linear interpolation, numpy's default) with its
    order-statistic interval."""
    ordered = sorted(values)
    n = len(ordered)
    needs = samples_needed(q, confidence)
    if not n:
        return Quantile(q=q, value=None, low=None, high=None, n=0, needs=needs)
    k = (n - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, n - 1)
    value = ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
    low_rank, high_rank = rank_interval(n, q, confidence)
    return Quantile(
        q=q,
        value=value,
        low=ordered[low_rank - 1] if low_rank >= 1 else None,
        high=ordered[high_rank - 1] if high_rank <= n else None,
        n=n,
        needs=needs,
        confidence=confidence,
    )


def describe(quantile_: Quantile, unit: str = "ms") -> str:
    """'24.1 ms (95 % interval 22.0-27.3, n=400)' or why it is not stated."""
    if quantile_.value is None:
        return "no samples"
    name = f"p{quantile_.q:g}"
    if not quantile_.bounded:
        return (
            f"{name} not stated: {quantile_.n} samples, a {quantile_.confidence:.0%} interval "
            f"needs {quantile_.needs}"
        )
    return (
        f"{quantile_.value:,.1f} {unit} ({quantile_.confidence:.0%} interval "
        f"{quantile_.low:,.1f}-{quantile_.high:,.1f}, n={quantile_.n})"
    )
