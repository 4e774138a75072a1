"""The recommender against answers computed independently: closed forms, the seed's figure."""

from __future__ import annotations

import json
import math

import pytest

from kit.decide.cost.model import Pricing
from kit.decide.demand import Demand, DemandError
from kit.decide.recommend.basis import basis_from_primitives
from kit.decide.recommend.search import Search, search_levels
from kit.decide.recommend.space import MEMORY_GRID_MB, Target, candidates
from kit.decide.recommend.study import Primitives, recommend
from kit.decide.simulate.platform import PlatformParams
from tests.helpers import run_cli

MONTH_S = 730 * 3600


def _levels(basis, demand, target, levels, pricing=None, **kw):
    pricing = pricing or Pricing.load()
    return search_levels(
        basis,
        lambda scale: demand.traffic(MONTH_S, scale),
        target,
        PlatformParams.load(),
        pricing,
        levels,
        ci_reps=0,
        **kw,
    )


def test_the_cheapest_memory_meeting_p99_is_the_closed_form():
    # t(m) = a + b * 1769 / m; cost per request ~ m * t(m) = a m + 1769 b grows with m, so the
    # cheapest size meeting p99 <= T is the smallest grid size with a + b * 1769 / m <= T.
    a, b, p99 = 20.0, 400.0, 300.0
    need = 1769 * b / (p99 - a)
    expected = min(m for m in MEMORY_GRID_MB if m >= need)
    assert expected == 3008  # (2,048 MB gives 365 ms)
    basis = basis_from_primitives(
        billed_ms=a + b, memory_mb=1769, cpu_ms=b, init_ms=0, restore_ms=0,
        proxy_billed_ms=100, endpoint_ms=100,
    )  # fmt: skip
    target = Target(p99_ms=p99, architectures=("x86_64",), families=("lambda",))
    found = _levels(basis, Demand(rpm=1000), target, (1.0,), extend=False)
    pick = found["levels"][0]["families"]["lambda"]
    assert pick["config"]["lambdaMemoryMb"] == expected
    assert pick["p99_ms"] <= p99


def test_the_lambda_sagemaker_crossover_is_the_seeds_72_rpm(tmp_path):
    # The seed prices Lambda at $13.80 per 1M (4 GB x 204 ms + requests) and SageMaker at
    # $0.81 per 1M (the 128 MB proxy x 293 ms) + $40.88 a month (ml.t2.medium x 730 h),
    # without S3 or DynamoDB: 40.88 / (13.80 - 0.81) / 43,800 = 71.9 RPM.
    prices = tmp_path / "seed-prices.json"
    prices.write_text(json.dumps({"prices": {"s3_put": 0, "s3_get": 0, "dynamodb_write": 0}}))
    pricing = Pricing.load(prices)
    basis = basis_from_primitives(
        billed_ms=204, memory_mb=4096, cpu_ms=0, init_ms=0, restore_ms=0,
        proxy_billed_ms=293, endpoint_ms=150,
    )  # fmt: skip
    basis.memory = None  # the seed's fixed 4 GB
    target = Target(
        p99_ms=10_000,
        architectures=("x86_64",),
        families=("lambda", "sagemaker"),
        instance_types=("ml.t2.medium",),
        max_instances=1,
    )
    found = _levels(basis, Demand(rpm=72), target, (0.5, 2.0), pricing=pricing)
    [crossing] = found["crossovers"]
    assert (crossing["below"], crossing["above"]) == ("lambda", "sagemaker")
    expected = 40.88 / (13.80 - 0.81) / (730 * 60) * 1e6
    assert crossing["rpm"] == pytest.approx(expected, rel=0.03)
    low, high = crossing["bracket_rpm"]
    assert low <= crossing["rpm"] <= high


def test_an_overloaded_configuration_is_infeasible_not_a_price():
    basis = basis_from_primitives(
        billed_ms=300, memory_mb=1769, cpu_ms=0, init_ms=0, restore_ms=0,
        proxy_billed_ms=300, endpoint_ms=250,
    )  # fmt: skip
    # one ml.t2.medium, 2 workers of 250 ms: at most 480 RPM, far less on the T2 baseline
    target = Target(families=("sagemaker",), instance_types=("ml.t2.medium",), max_instances=1)
    found = _levels(basis, Demand(rpm=2000), target, (1.0,), extend=False)
    entry = found["levels"][0]["families"]["sagemaker"]
    assert entry["feasible"] is False and "monthly" not in entry
    assert entry["why_not"].startswith("cannot meet the target")
    assert found["levels"][0]["pick"] is None


def test_entries_are_never_ranked_against_each_other():
    basis = basis_from_primitives(
        billed_ms=50, memory_mb=1769, cpu_ms=0, init_ms=0, restore_ms=0,
        proxy_billed_ms=50, endpoint_ms=40, entry="http",
    )  # fmt: skip
    target = Target(entry="http")
    options = candidates(basis, target, PlatformParams.load(), Pricing.load(), 1.0)
    assert set(options) == {"lambda"}  # synchronous options only: the function URL
    assert {c.config["variants"][0] for c in options["lambda"]} == {"http"}
    assert all(c.service.synchronous for c in options["lambda"])


@pytest.mark.parametrize("shape", ["diurnal", "bursty"])
def test_aggregate_and_exact_simulation_agree_on_the_answer(shape):
    """A search in windows (max_exact small) confirms its winner request by request: the pick,
    its cost (1 %) and p99 (10 %) agree with a search that simulates every request."""
    # a heavy model: 3 s on one vCPU in Lambda, 0.5 s on an endpoint worker (what-if values)
    basis = basis_from_primitives(
        billed_ms=3000, memory_mb=1769, cpu_ms=2900, init_ms=400, restore_ms=200,
        proxy_billed_ms=520, endpoint_ms=500,
    )  # fmt: skip
    demand = (
        Demand(rpm=60, peak_ratio=3.0)
        if shape == "diurnal"
        else Demand(rpm=60, business_hours=(9, 13), offpeak=0.05)
    )
    target = Target(
        p99_ms=6000, families=("lambda", "sagemaker"), instance_types=("ml.c5.large",),
        architectures=("x86_64",),
    )  # fmt: skip
    window = _levels(basis, demand, target, (1.0,), max_exact=50_000, extend=False)["levels"][0]
    exact = _levels(basis, demand, target, (1.0,), max_exact=5_000_000, extend=False)["levels"][0]
    assert window["pick"] == exact["pick"]
    if shape == "diurnal":
        assert exact["pick"] == "sagemaker"  # the case the windows used to get wrong
    for family in ("lambda", "sagemaker"):  # every family's own answer, not only the pick
        a, b = window["families"][family], exact["families"][family]
        assert a["label"] == b["label"], family
        assert a["monthly"] == pytest.approx(b["monthly"], rel=0.01), family
        assert a["p99_ms"] == pytest.approx(b["p99_ms"], rel=0.10), family


def test_traffic_in_the_users_terms_is_restated_with_closed_form_rates():
    d = Demand(per_day=5000, business_hours=(9, 17), weekdays=True)
    assert d.average_rpm() == pytest.approx(5000 * 5 / (7 * 1440))  # 2.48
    assert d.peak_rpm() == pytest.approx(5000 / (8 * 60))  # 10.4
    assert d.restated() == (
        "5,000 requests a day, weekdays 09-17 UTC = 2.48 RPM average, 10.4 RPM at peak"
    )
    t = d.traffic(MONTH_S)
    assert t.expected_requests == pytest.approx(d.average_rpm() * 60 * 730, rel=1e-9)
    ratio = Demand(rpm=100, peak_ratio=3.0)
    assert ratio.peak_rpm() / ratio.average_rpm() == pytest.approx(3.0)
    berlin = Demand(per_day=100, business_hours=(9, 17), tz="Europe/Berlin").traffic(MONTH_S)
    assert berlin.rates[0] == 0 and berlin.edges[1] == 8 * 3600  # 09:00 CET is 08:00 UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rpm": 10, "per_day": 5}, "give the traffic once"),
        ({}, "give the traffic once"),
        ({"rpm": -1}, "positive number"),
        ({"rpm": math.nan}, "positive number"),
        ({"rpm": 10, "peak_ratio": 9}, "impossible"),
        ({"rpm": 10, "tz": "Mars/Olympus"}, "not a time zone"),
        ({"per_day": 10, "offpeak": 2}, "between 0 and 1"),
    ],
)
def test_traffic_that_cannot_be_used_says_why(kwargs, message):
    with pytest.raises(DemandError, match=message):
        Demand(**kwargs)


def test_recommended_stack_passes_preflight(tmp_path, model_dir):
    found = recommend(
        None,
        Demand(rpm=50),
        Target(families=("lambda", "sagemaker"), instance_types=("ml.c5.large",)),
        primitives=Primitives(billed_ms=80, cpu_ms=60, endpoint_ms=60),
        levels=(1.0,),
        ci_reps=2,
        out=tmp_path,
        model_path=str(model_dir / "model.onnx"),
    )
    deploy = found["deploy"]
    assert deploy["preflight_refused"] is False, deploy["preflight_findings"]
    assert any(c.startswith("pulumi config set lambdaMemoryMb ") for c in deploy["commands"])
    assert (tmp_path / "Pulumi.recommended.yaml").is_file()
    assert "**" in found["answer"] and "a month" in found["answer"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--per-day", "-5"],
        ["--rpm", "10", "--business-hours", "17-09"],
        ["--rpm", "10", "--tz", "Mars/Olympus"],
        ["--rpm", "10", "--p99-ms", "nan"],
        ["--rpm", "10", "--levels", "0"],
        ["--rpm", "10", "--families", "gpu"],
        ["--rpm", "10", "--max-instances", "0"],
    ],
)
def test_cli_input_errors_are_one_line(flags):
    done = run_cli("kit", "recommend", *flags, "--no-preflight", timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.strip().count("\n") == 0


def test_search_prunes_without_losing_the_optimum():
    """Branch and bound against brute force: the same winner, fewer simulations."""
    basis = basis_from_primitives(
        billed_ms=150, memory_mb=1769, cpu_ms=120, init_ms=300, restore_ms=150,
        proxy_billed_ms=60, endpoint_ms=50,
    )  # fmt: skip
    target = Target(p99_ms=1500, architectures=("x86_64",))
    platform, pricing = PlatformParams.load(), Pricing.load()
    search = Search(Demand(rpm=30).traffic(MONTH_S), target, platform, pricing, 100_000)
    options = candidates(basis, target, platform, pricing, search.peak_rate)["lambda"]
    winner, stats = search.best(options)
    brute = [search.outcome(c) for c in options]
    best = min((o for o in brute if o.feasible), key=lambda o: o.monthly)
    assert winner is not None and winner.candidate.label == best.candidate.label
    assert stats["simulated"] < len(options)


def _managed_doc(solo_ms: float, busy_ms: float):
    """A results file with a measured managed variant: durations alone and with both slots
    busy in its 1-vCPU environment, as `kit local` records them (``concurrency``)."""
    from kit.results import Kind, ManagedSetup
    from tests.helpers.results import doc, setup

    managed = setup(
        Kind.MANAGED,
        2048,
        architecture="arm64",
        instance_type="c7g.large",
        instance_count=3,
        managed=ManagedSetup(
            memory_gib_per_vcpu=2, vcpus=1, max_concurrency=2, min_environments=3,
            max_environments=6, max_vcpus=12,
        ),
    )  # fmt: skip
    found = doc(
        {"standard": setup(), "managed": managed},
        {"standard": [200.0] * 40, "managed": [solo_ms] * 20 + [busy_ms] * 20},
    )
    rows = [
        r.model_copy(update={"concurrency": 1 + (r.index >= 20)}) if r.variant == "managed" else r
        for r in found.invocations
    ]
    return found.model_copy(update={"invocations": rows})


def test_managed_costs_its_three_instances_nat_and_requests_at_low_traffic(tmp_path):
    """At 1 RPM nothing scales: the month is 3 x c7g.large x 1.15 + one NAT gateway and its
    address + per request (Lambda request, NAT bytes), with S3/DynamoDB/logs priced at 0."""
    from kit.decide.recommend.basis import basis_from_results

    prices = tmp_path / "p.json"
    zero = ("s3_put", "s3_get", "dynamodb_write", "cloudwatch_logs_ingest_gb")
    prices.write_text(json.dumps({"prices": dict.fromkeys(zero, 0)}))
    pricing = Pricing.load(prices)
    basis = basis_from_results(_managed_doc(40.0, 80.0), "s3")
    target = Target(p99_ms=1000, families=("managed",), managed_types=("c7g.large",))
    found = _levels(basis, Demand(rpm=1), target, (1.0,), pricing=pricing, extend=False)
    pick = found["levels"][0]["families"]["managed"]
    n = 60 * 730
    expected = 3 * 0.0725 * 1.15 * 730 + (0.045 + 0.005) * 730 + n * (0.2e-6 + 4000 / 1e9 * 0.045)
    assert pick["monthly"] == pytest.approx(expected, rel=1e-3)
    assert pick["p99_ms"] == pytest.approx(40.0, rel=0.01)  # alone in its environment
    config = pick["config"]
    assert config["variants"] == ["managed"] and config["managedInstanceType"] == "c7g.large"
    assert config["managedMinEnvironments"] == 3 and config["managedMemoryMb"] == 2048


def test_a_recommended_managed_stack_passes_preflight(tmp_path, model_dir):
    target = Target(p99_ms=1000, families=("managed",), managed_types=("c7g.large", "c7i.large"))
    found = recommend(
        _managed_doc(40.0, 80.0), Demand(rpm=600), target, levels=(1.0,), ci_reps=0,
        out=tmp_path, model_path=str(model_dir / "model.onnx"), extend=False,
    )  # fmt: skip
    deploy = found["deploy"]
    assert deploy["preflight_refused"] is False and deploy["preflight_findings"] == []
    assert deploy["resources"]["aws:lambda/capacityProvider:CapacityProvider"] == 1
    assert "pulumi config set variants managed" in deploy["commands"]


def test_managed_durations_come_from_the_levels_measured():
    """A busy environment takes the busy level's time: at 8 requests a second on 3
    environments of 2 slots (3.2 busy slots), 400 ms alone / 1,600 ms both busy misses a 1 s
    p99 where 400 ms at both levels meets it."""
    from dataclasses import replace

    from kit.decide.recommend.basis import basis_from_results
    from kit.decide.simulate.engine import Options, simulate
    from kit.decide.simulate.traffic import make

    basis = basis_from_results(_managed_doc(400.0, 1600.0), "s3")
    assert [a[0] for a in basis.managed.by_concurrency] == [400.0, 1600.0]
    target = Target(p99_ms=1000, families=("managed",), managed_types=("c7g.large",))
    pricing = Pricing.load()
    options = candidates(basis, target, PlatformParams.load(), pricing, 8.0)["managed"]
    fixed = next(
        c
        for c in options
        if c.config["managedMaxEnvironments"] == 3 and c.config["managedMaxConcurrency"] == 2
    )
    flat = replace(fixed.service, by_concurrency=(fixed.service.by_concurrency[0],) * 2)
    flat = replace(flat, cost=replace(flat.cost, name="flat"))
    tallies, _ = simulate(
        [fixed.service, flat], make("poisson", 480.0, 3600.0), PlatformParams.load(),
        Options(max_exact=10**6, pricing=pricing),
    )  # fmt: skip
    assert tallies["managed"].percentile(99) > 1000 >= tallies["flat"].percentile(99)
