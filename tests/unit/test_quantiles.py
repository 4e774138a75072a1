"""Order-statistic percentile intervals against published tables and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from kit.measure.local.reference import TOLERANCE, compare
from kit.results.quantiles import quantile, rank_interval, samples_needed


def test_median_ranks_match_the_published_table():
    # Conover, Practical Nonparametric Statistics, 3rd ed., Table A3 / example 3.2: for
    # n = 100 the 95 % interval on the median is (x(40), x(61)); for n = 20, (x(6), x(15)).
    assert rank_interval(100, 50) == (40, 61)
    assert rank_interval(20, 50) == (6, 15)


def test_samples_needed_is_the_closed_form():
    for q in (50.0, 90.0, 95.0, 99.0):
        n = samples_needed(q)
        p = max(q, 100 - q) / 100
        assert p**n <= 0.025 < p ** (n - 1), q
        assert rank_interval(n, q)[1] <= n  # the largest observation bounds it
        assert rank_interval(n - 1, q)[1] == n  # one fewer: nothing does
    assert samples_needed(99.0) == 368


def test_a_p99_from_37_samples_is_not_bounded_above():
    q = quantile(np.arange(1.0, 38.0), 99)
    assert q.value == pytest.approx(36.64) and q.high is None and not q.bounded


def test_interval_covers_the_true_quantile_as_often_as_it_claims():
    rng = np.random.default_rng(1)
    true_p90 = -np.log(0.1)  # exponential(1)
    hits = 0
    trials = 2000
    for _ in range(trials):
        q = quantile(rng.exponential(size=60), 90)
        hits += q.low <= true_p90 <= q.high
    assert 0.95 <= hits / trials <= 0.99  # conservative by construction (discrete ranks)


def test_consistency_flags_a_variant_beyond_the_tolerance():
    reference = {"a.wav": [2.0, 2.0, 2.0], "b.wav": [6.0, 6.0, 6.0]}
    fine = compare("standard", [("a.wav", 2.1), ("b.wav", 6.3), ("a.wav", 2.0)], reference, 2.0)
    assert fine.trusted and fine.ratio == pytest.approx(1.05)
    # per clip: a run that drew more long clips is not "slow"
    long_clips = compare("standard", [("b.wav", 6.0)] * 5, reference, 2.0)
    assert long_clips.trusted and long_clips.ratio == pytest.approx(1.0)
    slow = compare("snapstart", [("a.wav", 2.0 * (1 + TOLERANCE) + 0.1)] * 3, reference, 2.0)
    assert not slow.trusted and slow.note.startswith("this figure is an emulation artefact")
    nothing = compare("http", [], reference, None)
    assert not nothing.trusted and nothing.ratio is None
