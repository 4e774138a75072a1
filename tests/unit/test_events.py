import pytest
from audio_inference.events import s3_objects
from audio_inference.settings import ConfigError, Settings, upload_prefix


def record(key: str, sequencer: str = "0A1B", event: str = "ObjectCreated:Put") -> dict:
    return {
        "eventSource": "aws:s3",
        "eventName": event,
        "eventTime": "2026-11-22T10:00:00.000Z",
        "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 10, "sequencer": sequencer}},
    }


def test_keys_are_url_decoded_and_all_records_kept():
    objs = s3_objects(
        {"Records": [record("incoming/standard/my+file%281%29.wav"), record("a.wav")]}
    )
    assert [o.key for o in objs] == ["incoming/standard/my file(1).wav", "a.wav"]
    assert objs[0].uri == "s3://b/incoming/standard/my file(1).wav"


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
