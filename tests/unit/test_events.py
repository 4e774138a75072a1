import pytest
from audio_inference.events import s3_objects
from audio_inference.settings import ConfigError, Settings, upload_prefix


def record(key: str, sequencer: str = "0A1B", event: str = "ObjectCreated:Put") -> dict:
    return {
        "eventSource": "aws:s3",
        "eventName": event,
        "eventTime": "2026-11-22T10:00:00.000Z",
        "s3": {
            "bucket": {"name": "audio-b"},
            "object": {"key": key, "size": 10, "sequencer": sequencer},
        },
    }


def test_keys_are_url_decoded_and_all_records_kept():
    objs = s3_objects(
        {"Records": [record("incoming/standard/my+file%281%29.wav"), record("a.wav")]}
    )
    assert [o.key for o in objs] == ["incoming/standard/my file(1).wav", "a.wav"]
    assert objs[0].uri == "s3://audio-b/incoming/standard/my file(1).wav"


def test_test_event_and_deletes_are_ignored():
    assert s3_objects({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []
    assert s3_objects({"Records": [record("a.wav", event="ObjectRemoved:Delete")]}) == []


def test_sequencers_compare_as_padded_strings():
    a, b = s3_objects({"Records": [record("k", "FF"), record("k", "0100")]})
    assert a.sequencer < b.sequencer


def test_sqs_wrapped_events_are_unwrapped():
    import json

    wrapped = {
        "Records": [{"eventSource": "aws:sqs", "body": json.dumps({"Records": [record("x.wav")]})}]
    }
    assert [o.key for o in s3_objects(wrapped)] == ["x.wav"]


def test_sns_wrapped_events_are_unwrapped_in_both_shapes():
    import json

    from audio_inference.events import parse_event

    s3_event = json.dumps({"Records": [record("x.wav")]})
    sns_record = {"EventSource": "aws:sns", "Sns": {"Message": s3_event}}  # S3 -> SNS -> Lambda
    sns_in_sqs = {  # S3 -> SNS -> SQS -> Lambda
        "eventSource": "aws:sqs",
        "body": json.dumps({"Type": "Notification", "Message": s3_event}),
    }
    parsed = parse_event({"Records": [sns_record, sns_in_sqs]})
    assert [o.key for o in parsed.objects] == ["x.wav", "x.wav"] and not parsed.malformed


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"Records": [{"eventSource": "aws:sqs", "body": "[" * 100_000}]}, "nested too deeply"),
        ({"Records": [{"eventSource": "aws:sqs", "body": 5}]}, "SQS body is not a string"),
        ({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}, "no eventSource"),
        ({"Records": [{"eventSource": "aws:kinesis"}]}, "eventSource 'aws:kinesis'"),
        ({"detail-type": "Object Created", "source": "aws.s3", "detail": {}}, "EventBridge"),
        ({"hello": "world"}, "it has no 'Records'"),
        (
            {
                "Records": [
                    {
                        **record("k"),
                        "s3": {"bucket": {"name": "Bad_Bucket"}, "object": {"key": "k"}},
                    }
                ]
            },
            "not a valid S3 bucket name",
        ),
        (
            {
                "Records": [
                    {
                        **record("k"),
                        "s3": {
                            "bucket": {"name": "bkt"},
                            "object": {"key": "k", "versionId": 12345},
                        },
                    }
                ]
            },
            "versionId must be a string",
        ),
        ({"Records": [record("k" * 1025)]}, "1024-byte limit"),
    ],
    ids=[
        "deep-json",
        "body-int",
        "no-source",
        "kinesis",
        "eventbridge",
        "no-records",
        "bucket",
        "version-int",
        "long-key",
    ],
)
def test_every_record_that_cannot_be_read_is_malformed_with_a_reason(event, reason):
    from audio_inference.events import parse_event

    parsed = parse_event(event)
    assert not parsed.objects and len(parsed.malformed) == 1
    assert reason in parsed.malformed[0][0]


def test_envelopes_nest_only_as_deep_as_aws_wraps():
    import json

    from audio_inference.events import parse_event

    event: dict = {"Records": [record("x.wav")]}
    for _ in range(5):  # deeper than S3 -> SNS -> SQS
        event = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(event)}]}
    parsed = parse_event(event)
    assert not parsed.objects and "too many envelopes" in parsed.malformed[0][0]


def test_a_huge_malformed_record_is_kept_as_a_valid_bounded_summary():
    import json

    from audio_inference.storage import failure_message

    message = failure_message("bad", {"pad": "x" * 400_000}, "req")
    assert len(message.encode()) < 262_144  # SQS's message limit
    kept = json.loads(message)
    assert kept["record"]["truncated"] and kept["record"]["json_chars"] > 400_000
    assert kept["record"]["head"].startswith('{"pad": "xxx')


def test_size_errors_show_bytes_when_megabytes_round_equal():
    from audio_inference.audio import over_limit

    assert over_limit(6_291_462, 6_291_456) == "6,291,462 bytes, over the 6,291,456-byte limit"
    assert over_limit(9_000_000, 6_291_456) == "9.0 MB, over the 6.3 MB limit"


def test_settings_name_the_missing_variable():
    with pytest.raises(ConfigError, match="PREDICTIONS_TABLE"):
        Settings.from_env({"VARIANT": "standard", "MODEL_S3_URI": "s3://b/m.onnx"})
    with pytest.raises(ConfigError, match="MODEL_S3_URI"):
        Settings.from_env({"VARIANT": "standard", "PREDICTIONS_TABLE": "t"})
    with pytest.raises(ConfigError, match="ENDPOINT_NAME"):
        Settings.from_env({"VARIANT": "sagemaker", "PREDICTIONS_TABLE": "t"})
    with pytest.raises(ConfigError, match="not a variant"):
        Settings.from_env({"VARIANT": "gpu", "PREDICTIONS_TABLE": "t"})
    with pytest.raises(ConfigError, match="MAX_OBJECT_BYTES"):
        Settings.from_env(
            {
                "VARIANT": "standard",
                "PREDICTIONS_TABLE": "t",
                "MODEL_S3_URI": "s3://b/k",
                "MAX_OBJECT_BYTES": "-1",
            }
        )


def test_upload_prefixes():
    assert upload_prefix("snapstart") == "incoming/snapstart/"
    with pytest.raises(ValueError, match="unknown variant"):
        upload_prefix("gpu")


def test_a_function_url_body_at_the_limit_fits_lambdas_event_and_one_above_does_not():
    import json

    from audio_inference.settings import HTTP_MAX_BODY_BYTES, MAX_PAYLOAD_BYTES

    from kit.measure.local.function_url import FunctionUrl

    signed = {  # what a SigV4-signed caller sends (sizes as AWS's)
        "Content-Type": "audio/wav",
        "Authorization": "AWS4-HMAC-SHA256 Credential=" + "A" * 200 + ", Signature=" + "f" * 64,
        "X-Amz-Date": "20261202T120000Z",
        "X-Amz-Security-Token": "T" * 1200,
        "X-Amz-Content-Sha256": "0" * 64,
    }
    url = FunctionUrl.__new__(FunctionUrl)  # only its event shape: no emulator, no server
    url.host = "abcdefghijklmnopqrstuvwxyz123456.lambda-url.us-east-1.on.aws"

    def size(n: int) -> int:
        return len(json.dumps(url.event("POST", "/", signed, b"\0" * n)))

    assert size(HTTP_MAX_BODY_BYTES) <= MAX_PAYLOAD_BYTES  # the handler's limit is reachable
    assert size(int(4.5 * 2**20)) > MAX_PAYLOAD_BYTES  # 4.5 MiB of audio never reaches it
    assert 4.4 * 2**20 < HTTP_MAX_BODY_BYTES < 4.5 * 2**20


def test_each_entry_caps_uploads_at_what_it_can_carry():
    from audio_inference.settings import (
        HTTP,
        HTTP_MAX_BODY_BYTES,
        MAX_PAYLOAD_BYTES,
        SAGEMAKER,
        SERVERLESS_PAYLOAD_BYTES,
        STANDARD,
        max_object_bytes,
    )

    assert max_object_bytes(HTTP, MAX_PAYLOAD_BYTES, False) == HTTP_MAX_BODY_BYTES
    assert max_object_bytes(SAGEMAKER, MAX_PAYLOAD_BYTES, True) == SERVERLESS_PAYLOAD_BYTES
    assert max_object_bytes(SAGEMAKER, MAX_PAYLOAD_BYTES, False) == MAX_PAYLOAD_BYTES
    assert max_object_bytes(STANDARD, 2_000_000, False) == 2_000_000
