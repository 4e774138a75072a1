"""Cost model: the seed table, hand-computed cases, crossovers, overrides, input errors."""

import json

import pytest

from kit.decide.cost import CostInputError, CostModel, Pricing, VariantCost
from kit.results import Kind
from tests.helpers import run_cli
from tests.helpers.seed import SEED, seed_model


def test_seed_table_reproduced_within_one_percent():
    model = seed_model()
    report = model.report(tuple(SEED))
    for level in report["levels"]:
        for name, expected in SEED[level["rpm"]].items():
            assert level["totals"][name] == pytest.approx(expected, rel=0.01), (level["rpm"], name)
    crossing = next(
        x for x in report["crossovers"] if (x["a"], x["b"]) == ("standard", "sagemaker")
    )
    assert crossing["rpm"] == pytest.approx(72, rel=0.01)
    assert crossing["cheaper_below"] == "standard"
    assert [s["variant"] for s in report["cheapest"]] == ["standard", "sagemaker"]


def test_a_crossover_that_never_happens_says_why():
    x = seed_model().crossover(*seed_model().variants[:2])
    assert x.rpm is None and x.cheaper_below == "standard"
    assert "$13.80 vs $16.82 per 1M" in x.reason


# one S3 PUT, two GETs, one DynamoDB write, and 1,300 B of CloudWatch Logs at $0.50/GB
S3_DDB_PER_REQUEST = 0.000005 + 2 * 0.0000004 + 0.000000625 + 1300 / 1e9 * 0.5


def test_arm64_by_hand():
    v = VariantCost(name="a", kind=Kind.LAMBDA, memory_mb=1024, architecture="arm64", billed_ms=100)
    model = CostModel([v])
    expected = 0.2 + 1e6 * 1.0 * 0.1 * 0.0000133334 + 1e6 * S3_DDB_PER_REQUEST
    assert model.per_million(v) == pytest.approx(expected, rel=1e-9)
    assert model.fixed(v) == 0


def test_memory_change_scales_duration_only():
    small = VariantCost(name="s", kind=Kind.LAMBDA, memory_mb=2048, billed_ms=200)
    big = VariantCost(name="b", kind=Kind.LAMBDA, memory_mb=4096, billed_ms=200)
    model = CostModel([small, big])
    duration_small = model.breakdown(small, 1e6)["lambda_duration"]
    assert model.breakdown(big, 1e6)["lambda_duration"] == pytest.approx(2 * duration_small)
    assert duration_small == pytest.approx(1e6 * 2 * 0.2 * 0.0000166667)


def test_billed_init_of_cold_starts_is_charged():
    v = VariantCost(
        name="s",
        kind=Kind.LAMBDA,
        memory_mb=1024,
        billed_ms=100,
        cold_fraction=0.1,
        billed_init_ms=800,
    )
    gb_s = 1e6 * (0.1 + 0.1 * 0.8)
    assert CostModel([v]).breakdown(v, 1e6)["lambda_duration"] == pytest.approx(gb_s * 0.0000166667)


def test_snapstart_cache_and_restore_by_hand():
    v = VariantCost(
        name="ss",
        kind=Kind.SNAPSTART,
        memory_mb=4096,
        billed_ms=100,
        cold_fraction=0.01,
        billed_restore_ms=300,
    )
    model = CostModel([v])
    parts = model.breakdown(v, 1e6)
    assert parts["snapstart_restore"] == pytest.approx(1e4 * 4 * 0.0001397998)
    assert parts["lambda_duration"] == pytest.approx((1e6 * 4 * 0.1 + 1e4 * 4 * 0.3) * 0.0000166667)
    assert model.fixed(v) == pytest.approx(
        4 * 730 * 3600 * 0.0000015046
    )  # cache, one version, all month


def test_sagemaker_instance_and_serverless_by_hand():
    inst = VariantCost(
        name="sm",
        kind=Kind.SAGEMAKER,
        memory_mb=128,
        billed_ms=50,
        instance_type="ml.m5.large",
        instance_count=2,
    )
    serverless = VariantCost(
        name="sl",
        kind=Kind.SERVERLESS,
        memory_mb=128,
        billed_ms=50,
        serverless_memory_mb=2048,
        serverless_ms=150,
    )
    model = CostModel([inst, serverless])
    assert model.fixed(inst) == pytest.approx(0.115 * 730 * 2)
    assert model.fixed(serverless) == 0
    proxy = 0.2 + 1e6 * 0.125 * 0.05 * 0.0000166667 + 1e6 * S3_DDB_PER_REQUEST
    assert model.per_million(inst) == pytest.approx(proxy)
    assert model.per_million(serverless) == pytest.approx(proxy + 1e6 * 2 * 0.15 * 0.00002)


def test_hours_per_month_and_price_overrides(tmp_path):
    override = tmp_path / "prices.json"
    override.write_text(
        json.dumps(
            {
                "prices": {
                    "lambda_request": 0.0000004,
                    "sagemaker_instance_hour": {"instances": {"ml.t2.medium": 0.1}},
                }
            }
        )
    )
    pricing = Pricing.load(override, hours_per_month=720)
    v = VariantCost(name="m", kind=Kind.SAGEMAKER, memory_mb=128, billed_ms=0)
    model = CostModel([v], pricing)
    assert model.fixed(v) == pytest.approx(0.1 * 720)
    assert model.breakdown(v, 1e6)["lambda_requests"] == pytest.approx(0.4)
    assert pricing.instance_hour("ml.m5.large") == 0.115  # untouched entries stay
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"prices": {"lambda_requestz": 1}}))
    with pytest.raises(CostInputError, match="unknown price 'lambda_requestz'"):
        Pricing.load(bad)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (VariantCost(name="x", kind=Kind.LAMBDA, billed_ms=-5), "billed_ms is -5"),
        (VariantCost(name="x", kind=Kind.LAMBDA, memory_mb=64), "outside Lambda's 128-10240 MB"),
        (
            VariantCost(name="x", kind=Kind.SAGEMAKER, instance_type="ml.t3.medium"),
            "unknown SageMaker instance type",
        ),
        (VariantCost(name="x", kind=Kind.LAMBDA, cold_fraction=2), "cold fraction"),
    ],
)
def test_impossible_inputs(variant, message):
    with pytest.raises(CostInputError, match=message):
        CostModel([variant])


def test_cli_prints_tables_writes_json_and_refuses_bad_input(tmp_path):
    out = tmp_path / "cost.json"
    ok = run_cli(
        "kit",
        "cost",
        "--price",
        "standard=13.80:0",
        "--price",
        "sagemaker=0.81:40.88",
        "--json",
        str(out),
        "--plot",
        str(tmp_path / "c.png"),
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "71.9" in ok.stdout and (tmp_path / "c.png").stat().st_size > 10_000
    assert json.loads(out.read_text())["crossovers"][0]["rpm"] == pytest.approx(71.86, rel=1e-3)
    bad = run_cli("kit", "cost", "--billed-ms", "-3", timeout=120)
    assert bad.returncode == 2 and "billed_ms is -3" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("kit", "cost", "--instance-type", "ml.x9.huge", timeout=120)
    assert bad.returncode == 2 and "unknown SageMaker instance type" in bad.stderr


def test_snapstart_cache_is_charged_per_active_version():
    one = VariantCost(name="ss", kind=Kind.SNAPSTART, memory_mb=2048, billed_ms=10)
    three = VariantCost(
        name="ss3", kind=Kind.SNAPSTART, memory_mb=2048, billed_ms=10, snapstart_versions=3
    )
    model = CostModel([one, three])
    assert model.fixed(three) == pytest.approx(3 * model.fixed(one))
    assert model.fixed(one) == pytest.approx(2 * 730 * 3600 * 0.0000015046)
    with pytest.raises(CostInputError, match="at least the live version"):
        CostModel([VariantCost(name="x", kind=Kind.SNAPSTART, snapstart_versions=0)])


def test_results_file_versions_reach_the_cost_model():
    from kit.decide.cost import variants_from_results
    from tests.helpers.results import doc, setup

    d = doc({"snapstart": setup(Kind.SNAPSTART, snapstart_versions=4)}, {"snapstart": [20.0]})
    assert variants_from_results(d)[0].snapstart_versions == 4
    assert variants_from_results(d, snapstart_versions=2)[0].snapstart_versions == 2


def test_provisioned_concurrency_by_hand():
    v = VariantCost(
        name="pc",
        kind=Kind.LAMBDA,
        memory_mb=2048,
        billed_ms=100,
        provisioned_concurrency=2,
        cold_fraction=0.2,
        billed_init_ms=900,
    )
    model = CostModel([v])
    parts = model.breakdown(v, 1e6)
    # reserved: 2 environments x 2 GB x a 730-hour month; duration at the provisioned rate, no INIT
    assert parts["provisioned_concurrency"] == pytest.approx(2 * 2 * 730 * 3600 * 0.0000041667)
    assert parts["lambda_duration"] == pytest.approx(1e6 * 2 * 0.1 * 0.0000097222)
    assert model.fixed(v) == pytest.approx(parts["provisioned_concurrency"])
    arm = VariantCost(name="a", kind=Kind.LAMBDA, architecture="arm64", provisioned_concurrency=1)
    assert CostModel([arm]).fixed(arm) == pytest.approx(4 * 730 * 3600 * 0.0000033334)
    with pytest.raises(CostInputError, match="SnapStart cannot be combined"):
        CostModel([VariantCost(name="s", kind=Kind.SNAPSTART, provisioned_concurrency=1)])


def test_http_requests_pay_no_s3_upload():
    from kit.decide.cost import variants_from_results
    from tests.helpers.results import doc, setup

    d = doc(
        {"standard": setup(memory_mb=1024), "http": setup(memory_mb=1024, entry="http")},
        {"standard": [99.5], "http": [99.5]},
    )
    standard, http = variants_from_results(d)
    model = CostModel([standard, http])
    assert "s3_requests" not in model.breakdown(http, 1e6)
    assert model.per_million(standard) - model.per_million(http) == pytest.approx(
        1e6 * (0.000005 + 2 * 0.0000004)
    )


def test_memory_model_recovers_a_known_curve_and_prices_any_size():
    """duration = 10 + 40 / min(v, 1) + 120 / v, sampled exactly: the fit returns it."""
    from kit.decide.memory import fit_memory_model, predict_ms, vcpus
    from kit.results import SizePoint

    def truth(m: float) -> float:
        v = vcpus(m)
        return 10 + 40 / min(v, 1) + 120 / v

    points = [
        SizePoint(
            variant="standard",
            memory_mb=m,
            median_ms=truth(m),
            p90_ms=None,
            cold_ms=None,
            inference_ms=None,
            billed_ms_mean=truth(m),
            cold_fraction=0.0,
            billed_init_ms_mean=0,
            billed_restore_ms_mean=0,
            errors=0,
            samples=100,
        )
        for m in (512, 1024, 1769, 3538, 7076)
    ]
    model = fit_memory_model(points)["standard"]
    assert (model.fixed_ms, model.single_thread_ms, model.parallel_ms) == pytest.approx(
        (10, 40, 120), rel=1e-6
    )
    assert max(abs(r) for r in model.residual_pct) < 1e-6
    assert predict_ms(model, 2500) == pytest.approx(truth(2500))
