"""Simulator against closed forms (Erlang C, exp(-lambda*idle), Little's law) and the seed table."""

import json
import math
import re

import numpy as np
import pytest

from kit.decide.cost import CostModel, Pricing, VariantCost
from kit.decide.simulate import kernels as k
from kit.decide.simulate.engine import Options, Tally, monthly_cost, simulate
from kit.decide.simulate.levels import simulate_levels
from kit.decide.simulate.platform import PlatformError, PlatformParams
from kit.decide.simulate.replay import load_trace
from kit.decide.simulate.service import Service
from kit.decide.simulate.traffic import TrafficError, make
from kit.results import Kind
from tests.helpers import run_cli
from tests.helpers.seed import SEED, seed_model

MONTH = 730 * 3600.0


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**n / math.factorial(n) for n in range(c)) + top)
    return p_wait / (c * mu - lam)


def lambda_service(warm_ms: np.ndarray, cold_ms: np.ndarray, **cost: object) -> Service:
    return Service(
        cost=VariantCost(name="standard", kind=Kind.LAMBDA, **cost),  # type: ignore[arg-type]
        warm_ms=warm_ms,
        cold_ms=cold_ms,
        endpoint_ms=np.array([]),
    )


@pytest.mark.parametrize("c, rho", [(1, 0.5), (2, 0.7), (4, 0.85)])
def test_fifo_mean_wait_matches_erlang_c(c: int, rho: float) -> None:
    rng = np.random.default_rng(1)
    mean_s = 0.1
    lam = rho * c / mean_s
    n = 3_000_000
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    service = rng.exponential(mean_s * 1000, n)
    st = np.zeros(8)
    st[k.F_ACTIVE] = c
    wait, served = np.empty(n), np.empty(n)
    k.fifo_servers(
        arrivals, service, c, c, 0.0, 0.0, 1.0, False, 0.7, 0, 0, 1e9, st, np.zeros(c), wait, served
    )
    expected = erlang_c_wait(c, lam, 1 / mean_s) * 1000
    assert np.mean(wait) == pytest.approx(expected, rel=0.02)
    # Little's law for the queue: mean number waiting = lambda * mean wait, the number
    # waiting counted independently at random instants
    ends = arrivals + wait / 1000
    probe = np.sort(rng.uniform(arrivals[1000], arrivals[-1000], 20_000))
    waiting = np.searchsorted(arrivals, probe) - np.searchsorted(np.sort(ends), probe)
    assert waiting.mean() == pytest.approx(lam * np.mean(wait) / 1000, rel=0.05)


def test_single_environment_cold_share_is_exp_minus_rate_times_idle() -> None:
    idle = 600.0
    for rate_per_s in (1 / 600, 1 / 300):
        traffic = make("poisson", rate_per_s * 60, 400_000 / rate_per_s)
        service = lambda_service(np.array([1.0]), np.array([0.0]))
        platform = PlatformParams.load(lambda_idle_lifetime_s=idle)
        tallies, aggregate = simulate([service], traffic, platform, Options(max_exact=10**7))
        t = tallies["standard"]
        assert not aggregate
        expected = math.exp(-rate_per_s * (idle + 0.001))
        assert t.cold / t.requests == pytest.approx(expected, rel=0.02)


def test_littles_law_for_lambda_environments_with_cold_starts() -> None:
    rng = np.random.default_rng(3)
    lam, n = 20.0, 400_000
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    warm = rng.lognormal(np.log(80), 0.5, n)
    cold = np.full(n, 900.0)
    pool_st = np.zeros(5)
    latency, kind = np.empty(n), np.empty(n, dtype=np.int8)
    k.lambda_pool(
        arrivals,
        warm,
        cold,
        5.0,  # short idle lifetime: many cold starts
        1000,
        1000,
        False,
        pool_st,
        np.zeros(1001),
        np.zeros(1001, dtype=np.int64),
        np.zeros(1001),
        np.full(1000, -1e18),
        latency,
        kind,
    )
    assert 0.001 < np.mean(kind == k.COLD) < 0.5
    starts, ends = arrivals, np.sort(arrivals + latency / 1000)
    probe = np.sort(rng.uniform(arrivals[1000], arrivals[-1000], 50_000))
    busy = np.searchsorted(starts, probe) - np.searchsorted(ends, probe)
    assert busy.mean() == pytest.approx(lam * np.mean(latency) / 1000, rel=0.02)


def test_seed_table_reproduced_exactly_with_given_prices_and_no_cold_overhead() -> None:
    pricing = Pricing.load()
    platform = PlatformParams.load()
    traffic = [make("poisson", rpm, MONTH) for rpm in SEED]
    given = seed_model().variants
    doc = simulate_levels(
        [], traffic, platform, Options(max_exact=20_000), pricing, ci_reps=0, given=given
    )
    for level in doc["shapes"][0]["levels"]:
        for name, expected in SEED[level["rpm"]].items():
            assert level["variants"][name]["monthly"] == pytest.approx(expected, rel=0.01)
            exact = seed_model().monthly(
                next(v for v in given if v.name == name), level["rpm"] * 60 * 730
            )
            assert level["variants"][name]["monthly"] == exact
    # a simulated Lambda whose cold starts cost nothing costs what the steady model says
    service = lambda_service(np.array([199.5]), np.array([]), memory_mb=1024, billed_ms=0)
    traffic72 = make("poisson", 72, MONTH)
    tallies, _ = simulate([service], traffic72, platform, Options(max_exact=200_000))
    cost, _, _ = monthly_cost(service, tallies["standard"], traffic72, platform, pricing)
    steady = VariantCost(name="s", kind=Kind.LAMBDA, memory_mb=1024, billed_ms=200)
    assert cost == pytest.approx(CostModel([steady]).monthly(steady, 72 * 60 * 730), rel=1e-9)


def test_provisioned_environments_absorb_traffic_without_cold_starts() -> None:
    traffic = make("poisson", 600, 3600 * 24)
    service = lambda_service(np.array([50.0]), np.array([800.0]), provisioned_concurrency=10)
    tallies, _ = simulate([service], traffic, PlatformParams.load(), Options())
    t = tallies["standard"]
    assert t.cold == 0 and t.provisioned == t.requests


def test_over_the_concurrency_limit_sync_calls_are_throttled_and_async_events_wait() -> None:
    traffic = make("poisson", 6000, 600)  # 100/s for 10 min, 100 ms each: ~10 busy
    platform = PlatformParams.load(lambda_account_concurrency=5)
    sync = lambda_service(np.array([100.0]), np.array([0.0]))
    sync.synchronous = True
    tallies, _ = simulate([sync], traffic, platform, Options())
    assert tallies["standard"].throttled / tallies["standard"].requests > 0.3
    assert math.isinf(tallies["standard"].percentile(99))
    async_ = lambda_service(np.array([10.0]), np.array([0.0]))
    tallies, _ = simulate([async_], make("poisson", 6000 * 4, 600), platform, Options())
    t = tallies["standard"]
    assert t.throttled == 0 and t.queued > 0 and t.percentile(50) >= 10


def test_t2_credits_run_out_above_the_baseline() -> None:
    def run(rpm: float) -> Tally:
        service = Service(
            cost=VariantCost(name="sagemaker", kind=Kind.SAGEMAKER, memory_mb=128),
            warm_ms=np.array([20.0]),
            cold_ms=np.array([]),
            endpoint_ms=np.array([100.0]),
        )
        tallies, _ = simulate(
            [service], make("poisson", rpm, 24 * 3600), PlatformParams.load(), Options()
        )
        return tallies["sagemaker"]

    # 2 vCPUs x 20 % baseline = 0.4 vCPU: 120 RPM x 0.1 s = 0.2 vCPU stays fast;
    # 420 RPM = 0.7 vCPU spends the 60 launch credits in 3.3 h (0.3 credits a minute), then
    # the CPU is held near the baseline and the queue grows until calls time out
    assert run(120).percentile(50) < 25
    slow = run(420)
    assert slow.percentile(50) > 1000 and slow.throttled / slow.requests > 0.2


def test_aggregate_mode_agrees_with_the_exact_simulation() -> None:
    traffic = make("poisson", 300, MONTH / 4)
    service = lambda_service(
        np.random.default_rng(0).lognormal(np.log(60), 0.4, 500), np.array([700.0])
    )
    platform = PlatformParams.load()
    exact, agg_flag = simulate([service], traffic, platform, Options(max_exact=10**8))
    agg, flag = simulate([service], traffic, platform, Options(max_exact=500_000))
    assert not agg_flag and flag
    e, a = exact["standard"], agg["standard"]
    assert a.requests == pytest.approx(e.requests, rel=0.01)
    assert a.percentile(99) == pytest.approx(e.percentile(99), rel=0.02)
    assert a.billed_ms == pytest.approx(e.billed_ms, rel=0.01)


def test_shapes_keep_the_average_rate() -> None:
    for shape in ("poisson", "diurnal", "bursty"):
        t = make(shape, 100, MONTH)
        assert t.expected_requests == pytest.approx(100 * 60 * 730, rel=1e-9)
    diurnal = make("diurnal", 100, MONTH)
    assert diurnal.rates.max() / diurnal.rates.min() == pytest.approx(10)
    arrivals = np.concatenate(list(diurnal.arrivals(np.random.default_rng(0))))
    assert arrivals.size == pytest.approx(100 * 60 * 730, rel=0.01)
    assert np.all(np.diff(arrivals) >= 0)
    bursty = make("bursty", 100, MONTH)
    phase = np.concatenate(list(bursty.arrivals(np.random.default_rng(0)))) % 1800
    assert phase.max() < 300  # nothing arrives while off
    with pytest.raises(TrafficError, match="0.001 requests per minute is outside"):
        make("poisson", 0.001, MONTH)


def test_replay_reads_s3_logs_csv_and_insights_exports(tmp_path) -> None:
    s3 = tmp_path / "access.log"
    line = (
        "79a5 my-bucket [06/Feb/2026:00:00:{s:02d} +0000] 192.0.2.3 arn:aws:iam::1:user/u "
        '3E57427F3EXAMPLE {op} uploads/a.wav "PUT /uploads/a.wav HTTP/1.1" 200 - - 10 10 10 -\n'
    )
    s3.write_text(
        "".join(line.format(s=s, op="REST.PUT.OBJECT") for s in range(0, 50, 5))
        + line.format(s=7, op="REST.GET.OBJECT")
    )
    trace = load_trace(s3, np.random.default_rng(0))
    assert trace.timestamps is not None and trace.timestamps.size == 10
    assert "S3 access log" in trace.source
    csv = tmp_path / "times.csv"
    csv.write_text("timestamp,key\n2026-02-06T00:00:00Z,a\n2026-02-06T00:01:00Z,b\n1770336120,c\n")
    assert list(load_trace(csv, np.random.default_rng(0)).timestamps) == [0.0, 60.0, 120.0]
    insights = tmp_path / "insights.json"
    insights.write_text(
        json.dumps(
            [{"@timestamp": "2026-02-06 00:00:00.000"}, {"@timestamp": "2026-02-06 00:00:30.500"}]
        )
    )
    assert list(load_trace(insights, np.random.default_rng(0)).timestamps) == [0.0, 30.5]
    bad = tmp_path / "bad.csv"
    bad.write_text("time\nyesterday\n")
    with pytest.raises(TrafficError, match="bad.csv line 2: 'yesterday' is not a timestamp"):
        load_trace(bad, np.random.default_rng(0))


def test_platform_overrides_are_checked(tmp_path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"parameters": {"lambda_idle_lifetime_s": {"value": 120}}}))
    p = PlatformParams.load(f)
    assert p["lambda_idle_lifetime_s"] == 120
    assert any(a["overridden"] == str(f) for a in p.assumptions())
    f.write_text(json.dumps({"parameters": {"idle": 1}}))
    with pytest.raises(PlatformError, match="unknown parameter 'idle'"):
        PlatformParams.load(f)
    every = PlatformParams.load().assumptions()
    assert all(a["source"] and a["date"] and a["verified"] in (True, False) for a in every)


def test_simulate_cli_writes_json_and_plot(tmp_path) -> None:
    out = tmp_path / "sim.json"
    plot = tmp_path / "sim.png"
    result = run_cli(
        "kit", "simulate", "--rpm", "1,100", "--shape", "poisson,bursty",
        "--ci-reps", "2", "--json", str(out), "--plot", str(plot), "--max-exact", "100000",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert [s["shape"] for s in doc["shapes"]] == ["poisson", "bursty"]
    level = doc["shapes"][0]["levels"][1]
    assert set(level["variants"]) >= {"standard", "snapstart", "sagemaker", "managed-instances"}
    assert {r["name"] for r in level["price_only"]} == {"fargate", "batch-transform"}
    assert plot.stat().st_size > 10_000
    assert "cheapest with p99" in result.stdout
    bad = run_cli("kit", "simulate", "--shape", "square", timeout=120)
    assert bad.returncode == 2 and "--shape 'square'" in bad.stderr


def endpoint_service(
    kind: str, instance: str, endpoint_ms: float, max_concurrency: int | None = None
) -> Service:
    return Service(
        cost=VariantCost(
            name="sagemaker",
            kind=kind,
            memory_mb=128,
            instance_type=instance,
            serverless_memory_mb=2048 if kind == "sagemaker-serverless" else 0,
        ),
        warm_ms=np.array([20.0]),
        cold_ms=np.array([]),
        endpoint_ms=np.array([endpoint_ms]),
        max_concurrency=max_concurrency,
    )


def test_autoscaling_adds_instances_after_the_delay_and_not_for_t2() -> None:
    # 1,800 RPM x 100 ms = 3 busy workers; one ml.c5.large has 2
    traffic = make("poisson", 1800, 6 * 3600)
    platform = PlatformParams.load()
    fixed, _ = simulate(
        [endpoint_service("sagemaker", "ml.c5.large", 100)], traffic, platform, Options()
    )
    scaled, _ = simulate(
        [endpoint_service("sagemaker", "ml.c5.large", 100)],
        traffic,
        platform,
        Options(max_instances=4),
    )
    f, s = fixed["sagemaker"], scaled["sagemaker"]
    assert f.throttled / f.requests > 0.2  # overloaded: calls time out at 60 s
    mean_instances = s.server_seconds / s.span_s / 2
    assert 2 <= mean_instances <= 4
    # only the first scale-out delay (420 s of 6 h) sees the overload
    assert s.throttled / s.requests < 0.03 and s.percentile(95) < 1000
    t2, _ = simulate(
        [endpoint_service("sagemaker", "ml.t2.medium", 100)],
        traffic,
        platform,
        Options(max_instances=4),
    )
    assert t2["sagemaker"].server_seconds == pytest.approx(2 * 6 * 3600, rel=1e-3)


def test_serverless_cold_starts_and_its_concurrency_limit() -> None:
    platform = PlatformParams.load()
    idle = platform["serverless_idle_lifetime_s"]
    rate = 1 / idle  # one request per idle lifetime: exp(-1) of them find no warm container
    quiet = make("poisson", rate * 60, 100_000 * idle)
    tallies, _ = simulate(
        [endpoint_service("sagemaker-serverless", "", 50, 1)], quiet, platform, Options()
    )
    t = tallies["sagemaker"]
    assert t.endpoint_cold / t.requests == pytest.approx(math.exp(-1), rel=0.03)
    busy = make("poisson", 3000, 3600)  # 50/s x 50 ms = 2.5 busy, one allowed
    tallies, _ = simulate(
        [endpoint_service("sagemaker-serverless", "", 50, 1)], busy, platform, Options()
    )
    t = tallies["sagemaker"]
    assert t.queued / t.requests > 0.3  # throttled calls, retried a minute later
    assert t.percentile(99) > 60_000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notobj.json", b"[1, 2]", "item 0: not an object with an @timestamp field"),
        ("nots.json", b'[{"a": 1}]', "item 0: not an object with an @timestamp field"),
        ("bad.json", b'[{"@timestamp":', "not valid JSON"),
        ("deep.json", b"[" * 100_000, "nested too deeply"),
        ("nan.csv", b"timestamp\nnan\n5\n", "line 2: 'nan' is not a time between 1970 and 2100"),
        ("inf.csv", b"timestamp\n-inf\n5\n", "line 2: '-inf' is not a time"),
        ("huge.csv", b"timestamp\n1e300\n5\n", "line 2: '1e300' is not a time"),
        ("short.csv", b"a,timestamp\n1\n", "line 2: has 1 fields, the time is field 2"),
        ("long.csv", b"timestamp\n" + b"x" * 200_000 + b"\n", "line 2: longer than 100,000"),
        (
            "dates.log",
            b"b1 bk [99/Foo/2026:00:00:00 +0000] 1.2.3.4 - R REST.PUT.OBJECT k\n",
            "line 1: [99/Foo",
        ),
        (
            "dense.csv",
            b"timestamp\n" + b"".join(b"1700000000.%07d\n" % i for i in range(20_000)),
            "over the 100,000",
        ),
        ("bad.gz", b"\x1f\x8bnot gzip at all", "not a readable gzip file"),
    ],
)
def test_a_trace_that_cannot_be_replayed_is_refused_with_file_and_line(
    tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TrafficError) as err:
        load_trace(path, np.random.default_rng(0))
    assert message in str(err.value) and name in str(err.value)


@pytest.mark.parametrize("encode", ["gzip", "utf-16", "latin-1"])
def test_compressed_and_non_utf8_traces_are_read(tmp_path, encode):
    import gzip

    text = "timestamp,who\n2026-01-01T00:00:00Z,J\u00fcrgen\n2026-01-01T00:01:00Z,b\n"
    data = {
        "gzip": lambda: gzip.compress(text.encode()),
        "utf-16": lambda: text.encode("utf-16"),
        "latin-1": lambda: text.encode("latin-1"),
    }[encode]()
    path = tmp_path / "trace.csv"
    path.write_bytes(data)
    assert list(load_trace(path, np.random.default_rng(0)).timestamps) == [0.0, 60.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", 'expected {"parameters"'),
        ('{"parameters": null}', 'expected {"parameters"'),
        ('{"parameters": {"lambda_idle_lifetime_s": "long"}}', "must be a number from 1"),
        ('{"parameters": {"lambda_idle_lifetime_s": {"value": -5}}}', "must be a number from 1"),
        ('{"parameters": {"lambda_scale_envs_per_10s": 0}}', "must be a number from 1"),
        ('{"parameters": {"lambda_account_concurrency": NaN}}', "must be a number from 1"),
        ('{"parameters": {"lambda_idle_lifetime_s": {"range": "wide"}}}', "range must be"),
        ('{"parameters": {"sagemaker_instance_vcpus": {"value": {"ml.x": 0}}}}', "vCPUs"),
        ('{"parameters": {"nope": 1}}', "unknown parameter"),
    ],
)
def test_platform_overrides_are_checked_like_the_shipped_file(tmp_path, text, message):
    from kit.decide.simulate.platform import PlatformError, PlatformParams

    path = tmp_path / "platform.json"
    path.write_text(text)
    with pytest.raises(PlatformError, match=re.escape(message)):
        PlatformParams.load(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", 'expected {"prices"'),
        ('{"prices": null}', 'expected {"prices"'),
        ('{"prices": {"lambda_request": -1}}', "must be a finite price of 0 or more"),
        ('{"prices": {"lambda_request": "nan"}}', "must be a finite price"),
        ('{"prices": {"lambda_request": NaN}}', "must be a finite price"),
        (
            '{"prices": {"sagemaker_instance_hour": {"instances": {"ml.t2.medium": -1}}}}',
            "must be a finite price",
        ),
        ('{"prices": {"sagemaker_instance_hour": 3}}', "is not a single price"),
        ('{"hours_per_month": 0}', "hours per month must be a number from 1 to 744"),
    ],
)
def test_price_overrides_are_checked_like_the_shipped_file(tmp_path, text, message):
    from kit.decide.cost import CostInputError, Pricing

    path = tmp_path / "prices.json"
    path.write_text(text)
    with pytest.raises(CostInputError, match=re.escape(message)):
        Pricing.load(path)
