"""Each handler module end to end against moto S3 + DynamoDB with S3's own event bodies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from audio_inference.audio import AudioError
from audio_inference.settings import SNAPSTART, STANDARD, ConfigError

from kit.measure.local.emulator import apply_env, handler_env, restore_env
from kit.measure.local.fault_proxy import Fault, FaultProxy
from tests.helpers import (
    Context,
    all_items,
    get_item,
    load_handler,
    tone,
    upload,
    url_event,
    wav_bytes,
    with_chunk_before_data,
)


@pytest.fixture
def standard(aws):
    server, stack = aws
    previous = apply_env(handler_env(server, stack, STANDARD))
    module = load_handler("standard_handler")
    yield server, stack, module
    restore_env(previous)


def test_one_upload_gives_one_ok_item(standard):
    server, stack, module = standard
    event = upload(server, stack, STANDARD, "a tone (1).wav", wav_bytes(tone(1.0, 22_050), 22_050))
    summary = module.handler(event, Context("req-42"))
    item = get_item(server, stack, "incoming/standard/a tone (1).wav", STANDARD)
    assert item["status"] == "ok" and item["label"] in {"tone", "chirp", "noise", "pulses"}
    assert sum(float(v) for v in item["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert item["request_id"] == "req-42" and item["cold_start"] is True
    assert item["model_sha256"] == module.PIPELINE.classifier.model.sha256
    assert set(item["timings_ms"]) >= {"download", "decode", "inference", "handler"}
    assert item["event_time"] == event["Records"][0]["eventTime"]
    assert item["completed_at"].endswith("Z")
    assert summary["results"][0]["timings_ms"]["store"] > 0
    module.handler(upload(server, stack, STANDARD, "b.wav", wav_bytes(tone())), Context("req-43"))
    assert get_item(server, stack, "incoming/standard/b.wav", STANDARD)["cold_start"] is False


BAD_INPUTS = {
    "not-audio.wav": (b"<html>not audio</html>" * 50, "not a readable WAV"),
    "empty.wav": (b"", "empty"),
    "truncated.wav": (wav_bytes(tone(2.0))[:30_000], "truncated"),
    "silence.wav": (wav_bytes(np.zeros(16_000, dtype=np.float32)), "silent"),
    "too-long.wav": (wav_bytes(tone(40.0, 8000), 8000), "MAX_AUDIO_SECONDS"),
}


def test_bad_input_matrix_gives_error_items_and_loses_nothing(standard):
    server, stack, module = standard
    events = [upload(server, stack, STANDARD, name, data) for name, (data, _) in BAD_INPUTS.items()]
    events.append(upload(server, stack, STANDARD, "good.wav", wav_bytes(tone())))
    # Every record in one event: one bad record never drops the others.
    merged = {"Records": [r for e in events for r in e["Records"]]}
    module.handler(merged, Context())
    items = {i["key"].rsplit("/", 1)[1]: i for i in all_items(server, stack)}
    assert len(items) == len(BAD_INPUTS) + 1
    for name, (_, message) in BAD_INPUTS.items():
        assert items[name]["status"] == "error", name
        assert message in items[name]["error"] and name in items[name]["error"]
    assert items["good.wav"]["status"] == "ok"


def test_oversize_object_is_refused_before_download(aws, monkeypatch):
    server, stack = aws
    env = handler_env(server, stack, STANDARD) | {"MAX_OBJECT_BYTES": "20000"}
    previous = apply_env(env)
    try:
        module = load_handler("standard_handler")
        event = upload(server, stack, STANDARD, "big.wav", wav_bytes(tone(2.0)))
        module.handler(event, Context())
    finally:
        restore_env(previous)
    item = get_item(server, stack, "incoming/standard/big.wav", STANDARD)
    assert item["status"] == "error" and "MAX_OBJECT_BYTES" in item["error"]
    assert item["timings_ms"]["download"] < 1000


def test_object_deleted_before_processing(standard):
    server, stack, module = standard
    event = upload(server, stack, STANDARD, "gone.wav", wav_bytes(tone()))
    server.client("s3").delete_object(Bucket=stack.bucket, Key="incoming/standard/gone.wav")
    module.handler(event, Context())
    item = get_item(server, stack, "incoming/standard/gone.wav", STANDARD)
    assert item["status"] == "error" and "deleted before" in item["error"]


def test_redelivery_neither_duplicates_nor_overwrites(standard):
    server, stack, module = standard
    event = upload(server, stack, STANDARD, "once.wav", wav_bytes(tone()))
    module.handler(event, Context("first"))
    first = get_item(server, stack, "incoming/standard/once.wav", STANDARD)
    summary = module.handler(event, Context("second"))
    assert summary["results"][0]["status"] == "duplicate"
    assert len(all_items(server, stack)) == 1
    assert get_item(server, stack, "incoming/standard/once.wav", STANDARD) == first
    # A new upload of the same key (newer sequencer) replaces the result.
    newer = upload(server, stack, STANDARD, "once.wav", wav_bytes(tone(freq=2000.0)))
    module.handler(newer, Context("third"))
    assert get_item(server, stack, "incoming/standard/once.wav", STANDARD)["request_id"] == "third"


def test_s3_test_event_is_ignored(standard):
    server, stack, module = standard
    summary = module.handler({"Service": "Amazon S3", "Event": "s3:TestEvent"}, Context())
    assert summary["results"] == [] and all_items(server, stack) == []


@pytest.fixture
def faulty(aws):
    """The standard handler talking to moto through a fault-injecting proxy."""

    server, stack = aws
    faults: list[Fault] = []
    proxy = FaultProxy(server.url, faults)
    previous = apply_env(handler_env(server, stack, STANDARD) | {"AWS_ENDPOINT_URL": proxy.url})
    module = load_handler("standard_handler")
    yield server, stack, module, faults, proxy
    restore_env(previous)
    proxy.stop()


def test_transient_aws_failure_fails_the_invocation_after_other_records(faulty):
    from audio_inference.pipeline import RecordsFailed

    server, stack, module, faults, proxy = faulty
    good = upload(server, stack, STANDARD, "good.wav", wav_bytes(tone()))
    flaky = upload(server, stack, STANDARD, "flaky.wav", wav_bytes(tone()))
    faults.append(Fault("s3", "throttle", match="flaky.wav"))  # SlowDown on every try
    with pytest.raises(RecordsFailed, match="flaky.wav"):
        module.handler({"Records": flaky["Records"] + good["Records"]}, Context())
    assert proxy.injected["s3:throttle"] == 6  # one try and botocore's five retries
    assert get_item(server, stack, "incoming/standard/good.wav", STANDARD)["status"] == "ok"
    assert get_item(server, stack, "incoming/standard/flaky.wav", STANDARD) is None  # retried later


def test_throttling_that_passes_is_retried_by_botocore(faulty):
    server, stack, module, faults, proxy = faulty
    events = [upload(server, stack, STANDARD, f"t{i}.wav", wav_bytes(tone())) for i in range(6)]
    faults += [Fault("s3", "throttle", rate=0.3), Fault("dynamodb", "throttle", rate=0.3)]
    module.handler({"Records": [r for e in events for r in e["Records"]]}, Context())
    assert sum(proxy.injected.values()) > 0
    assert [i["status"] for i in all_items(server, stack)] == ["ok"] * 6


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("denied", "may not read this object (AccessDenied)"),
        ("no-bucket", "bucket no longer exists"),
    ],
)
def test_permanent_read_errors_become_error_items(faulty, setup, message):
    server, stack, module, faults, _ = faulty
    event = upload(server, stack, STANDARD, "secret.wav", wav_bytes(tone()))
    if setup == "denied":
        faults.append(Fault("s3", "denied", match="secret.wav"))
    else:
        event["Records"][0]["s3"]["bucket"]["name"] = "no-such-bucket"
    module.handler(event, Context())  # no exception: nothing to retry
    (item,) = all_items(server, stack)
    assert item["status"] == "error" and message in item["error"]
    assert item["object"].endswith("/incoming/standard/secret.wav")


def test_malformed_records_are_skipped_and_kept_others_processed(aws):
    server, stack = aws
    sqs = server.client("sqs")
    queue = sqs.create_queue(QueueName="failures")["QueueUrl"]
    previous = apply_env(handler_env(server, stack, STANDARD) | {"FAILURE_QUEUE_URL": queue})
    try:
        module = load_handler("standard_handler")
        good = upload(server, stack, STANDARD, "good.wav", wav_bytes(tone()))
        no_key = json.loads(json.dumps(good["Records"][0]))
        del no_key["s3"]["object"]["key"]
        bad_sqs = {"eventSource": "aws:sqs", "body": "{not json"}
        summary = module.handler(
            {"Records": [no_key, bad_sqs, "junk", *good["Records"]]}, Context()
        )
        assert module.handler({"Records": {"not": "a list"}}, Context())["results"][0]["kept"]
    finally:
        restore_env(previous)
    statuses = [r["status"] for r in summary["results"]]
    assert statuses.count("malformed") == 3 and statuses.count("ok") == 1
    assert get_item(server, stack, "incoming/standard/good.wav", STANDARD)["status"] == "ok"
    kept = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    reasons = [json.loads(m["Body"])["reason"] for m in kept]
    assert len(reasons) == 4 and any("not JSON" in r for r in reasons)


def test_poison_records_are_kept_at_once_and_never_cost_a_sibling(aws):
    server, stack = aws
    sqs = server.client("sqs")
    queue = sqs.create_queue(QueueName="poison")["QueueUrl"]
    previous = apply_env(handler_env(server, stack, STANDARD) | {"FAILURE_QUEUE_URL": queue})
    try:
        module = load_handler("standard_handler")
        good = upload(server, stack, STANDARD, "sibling.wav", wav_bytes(tone()))
        forged = json.loads(json.dumps(good["Records"][0]))
        forged["s3"]["object"]["versionId"] = 12345  # botocore would refuse it
        no_source = {k: v for k, v in good["Records"][0].items() if k != "eventSource"}
        poison = [
            {"eventSource": "aws:sqs", "body": "[" * 100_000},  # RecursionError in json
            forged,
            no_source,
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "pad": "x" * 300_000},
        ]
        summary = module.handler({"Records": [*poison, *good["Records"]]}, Context())  # no raise
        bridge = module.handler(
            {"detail-type": "Object Created", "source": "aws.s3", "detail": {}}, Context()
        )
    finally:
        restore_env(previous)
    statuses = [r["status"] for r in summary["results"]]
    assert statuses.count("malformed") == 4 and statuses.count("ok") == 1
    assert bridge["results"][0]["status"] == "malformed" and bridge["results"][0]["kept"]
    assert get_item(server, stack, "incoming/standard/sibling.wav", STANDARD)["status"] == "ok"
    kept = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        kept += [json.loads(m["Body"]) for m in batch]  # every message is valid JSON
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    assert len(kept) == 5 and all(k["reason"] for k in kept)
    assert any(k["record"].get("truncated") for k in kept)


def test_an_object_replaced_between_the_two_reads_is_not_spliced(aws):
    from audio_inference.events import S3Object
    from audio_inference.storage import HEAD_BYTES, S3Reader

    server, stack = aws
    s3 = server.client("s3")
    first = wav_bytes(tone(3.0, freq=440.0))  # over HEAD_BYTES: read in two GETs
    second = wav_bytes(tone(3.0, freq=880.0))
    assert len(first) > HEAD_BYTES
    key = "incoming/standard/replaced.wav"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=first)
    calls = []

    def replace_after_first_get(**kwargs):
        calls.append(1)
        if len(calls) == 1:  # another upload lands between the two ranged GETs
            server.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=second)

    s3.meta.events.register("after-call.s3.GetObject", replace_after_first_get)
    obj = S3Object(stack.bucket, key, len(first), None, "0001", "t")
    with pytest.raises(AudioError, match="replaced while it was being read"):
        S3Reader(s3, 10_000_000).read(obj)
    assert S3Reader(server.client("s3"), 10_000_000).read(obj) == second  # a clean read works


def test_valid_wavs_are_judged_by_their_audio_not_their_size(standard):

    server, stack, module = standard
    meta = with_chunk_before_data(wav_bytes(tone(1.0)), 100_000)  # beyond the 64 KB first GET
    at_limit = wav_bytes(tone(30.0, 8000), 8000)
    for name, data in (("meta.wav", meta), ("at-limit.wav", at_limit)):
        module.handler(upload(server, stack, STANDARD, name, data), Context())
        item = get_item(server, stack, f"incoming/standard/{name}", STANDARD)
        assert item["status"] == "ok", item.get("error")


def test_non_finite_scores_give_an_error_item_and_the_rest_are_stored(aws, tmp_path):
    from tests.helpers.onnx_graphs import unstable_model

    server, stack = aws
    folder = unstable_model(tmp_path / "unstable")  # NaN scores when the peak is under 0.6
    s3 = server.client("s3")
    for name in ("model.onnx", "model.json"):
        s3.upload_file(str(folder / name), stack.bucket, f"unstable/{name}")
    env = handler_env(server, stack, STANDARD) | {
        "MODEL_S3_URI": f"s3://{stack.bucket}/unstable/model.onnx"
    }
    previous = apply_env(env)
    try:
        module = load_handler("standard_handler")
        quiet = upload(server, stack, STANDARD, "quiet.wav", wav_bytes(tone(level=0.3)))
        loud = upload(server, stack, STANDARD, "loud.wav", wav_bytes(tone(level=0.9)))
        module.handler({"Records": quiet["Records"] + loud["Records"]}, Context())
    finally:
        restore_env(previous)
    items = {i["key"].rsplit("/", 1)[1]: i for i in all_items(server, stack)}
    assert items["loud.wav"]["status"] == "ok" and items["loud.wav"]["label"] == "loud"
    assert items["quiet.wav"]["status"] == "error"
    assert "quiet.wav" in items["quiet.wav"]["error"]
    assert "non-finite scores" in items["quiet.wav"]["error"]


def test_missing_model_fails_init_naming_variable_and_uri(aws):
    server, stack = aws
    env = handler_env(server, stack, STANDARD) | {
        "MODEL_S3_URI": f"s3://{stack.bucket}/nope/model.onnx"
    }
    previous = apply_env(env)
    try:
        with pytest.raises(ConfigError, match=r"MODEL_S3_URI=s3://audio-uploads/nope/model.onnx"):
            load_handler("standard_handler")
    finally:
        restore_env(previous)


def test_snapstart_hooks_prime_and_refresh(aws):
    from awslambdaric import lambda_runtime_hooks_runner

    server, stack = aws
    previous = apply_env(handler_env(server, stack, SNAPSTART))
    try:
        module = load_handler("snapstart_handler")
        pipeline = module.PIPELINE
        lambda_runtime_hooks_runner.run_before_snapshot()
        module.handler(upload(server, stack, SNAPSTART, "a.wav", wav_bytes(tone())), Context())
        assert pipeline.cold is False
        identity, s3 = pipeline.environment_id, pipeline.reader.s3
        lambda_runtime_hooks_runner.run_after_restore()
        assert pipeline.cold is True and pipeline.environment_id != identity
        assert pipeline.reader.s3 is not s3
        module.handler(upload(server, stack, SNAPSTART, "b.wav", wav_bytes(tone())), Context())
    finally:
        restore_env(previous)
    a = get_item(server, stack, "incoming/snapstart/a.wav", SNAPSTART)
    b = get_item(server, stack, "incoming/snapstart/b.wav", SNAPSTART)
    assert a["status"] == b["status"] == "ok" and a["cold_start"] and b["cold_start"]
    assert a["environment_id"] != b["environment_id"]


def test_http_entry_answers_and_stores_the_same_item(aws):
    server, stack = aws
    previous = apply_env(handler_env(server, stack, "http"))
    try:
        module = load_handler("http_handler")
        ok = module.handler(url_event(wav_bytes(tone())), Context("req-http"))
        bad = module.handler(url_event(b"not audio" * 100), Context("req-bad"))
        wrong = module.handler(url_event(b"", method="GET"), Context("req-get"))
    finally:
        restore_env(previous)
    body = json.loads(ok["body"])
    assert ok["statusCode"] == 200 and body["label"] in {"tone", "chirp", "noise", "pulses"}
    assert body["object"] == "https://abc123.lambda-url.us-east-1.on.aws/requests/req-http"
    assert body["model_sha256"] and "inference" in body["timings_ms"]
    items = {i["object"]: i for i in all_items(server, stack)}
    assert items[body["object"]]["status"] == "ok" and items[body["object"]]["variant"] == "http"
    assert items[body["object"]]["event_time"].startswith("2025-11-24T")
    error = json.loads(bad["body"])
    assert bad["statusCode"] == 400 and "not a readable WAV" in error["error"]
    assert items[error["object"]]["error"] == error["error"]  # the same text as the item
    assert wrong["statusCode"] == 405


def test_container_variant_loads_the_baked_model_without_s3(aws, model_dir):
    server, stack = aws
    env = handler_env(server, stack, "container")
    assert "MODEL_S3_URI" not in env and env["MODEL_DIR"] == str(model_dir)
    previous = apply_env(env)
    try:
        module = load_handler("standard_handler")
        event = upload(server, stack, "container", "c.wav", wav_bytes(tone()))
        module.handler(event, Context())
    finally:
        restore_env(previous)
    item = get_item(server, stack, "incoming/container/c.wav", "container")
    assert item["status"] == "ok" and item["variant"] == "container"


def test_a_model_failure_on_one_clip_gives_its_item_and_the_sibling_is_stored(aws, tmp_path):
    import onnx

    from tests.helpers.onnx_graphs import framed_model, model_folder

    server, stack = aws
    framed = onnx.load(str(framed_model(tmp_path / "framed.onnx", frame=8000)))
    folder = model_folder(framed, tmp_path / "framed", ["up", "down"])
    s3 = server.client("s3")
    for name in ("model.onnx", "model.json"):
        s3.upload_file(str(folder / name), stack.bucket, f"framed/{name}")
    env = handler_env(server, stack, STANDARD) | {
        "MODEL_S3_URI": f"s3://{stack.bucket}/framed/model.onnx"
    }
    previous = apply_env(env)
    try:
        module = load_handler("standard_handler")
        whole = upload(server, stack, STANDARD, "whole.wav", wav_bytes(tone(1.0)))
        awkward = upload(server, stack, STANDARD, "awkward.wav", wav_bytes(tone(1.7)))
        module.handler({"Records": awkward["Records"] + whole["Records"]}, Context())
    finally:
        restore_env(previous)
    items = {i["key"].rsplit("/", 1)[1]: i for i in all_items(server, stack)}
    assert items["whole.wav"]["status"] == "ok", items["whole.wav"].get("error")
    assert items["awkward.wav"]["status"] == "error"
    assert (
        "awkward.wav: the model failed on this clip (27200 samples, 1.7 s)"
        in (items["awkward.wav"]["error"])
    )
