"""One source for each rule: Pulumi.yaml's defaults agree with settings; the proxy's timeouts fit."""

import json
import re

import pytest
from audio_inference import endpoint, settings

from components.config import project_schema


def test_pulumi_yaml_defaults_match_the_settings_module():
    schema = project_schema()
    assert schema["lambdaMemoryMb"]["default"] == settings.DEFAULT_LAMBDA_MEMORY_MB
    assert schema["proxyMemoryMb"]["default"] == settings.DEFAULT_PROXY_MEMORY_MB
    assert schema["timeoutSeconds"]["default"] == settings.DEFAULT_TIMEOUT_SECONDS
    assert schema["maxObjectMb"]["default"] * 2**20 == settings.DEFAULT_MAX_OBJECT_BYTES
    assert schema["maxAudioSeconds"]["default"] == settings.DEFAULT_MAX_AUDIO_SECONDS
    assert set(schema["variants"]["default"]) <= set(settings.VARIANTS)
    managed = {
        "managedInstanceType": settings.DEFAULT_MANAGED_INSTANCE_TYPE,
        "managedMemoryMb": settings.DEFAULT_MANAGED_MEMORY_MB,
        "managedMemoryGibPerVcpu": settings.DEFAULT_MANAGED_GIB_PER_VCPU,
        "managedMaxConcurrency": settings.DEFAULT_MANAGED_MAX_CONCURRENCY,
        "managedMaxVcpus": settings.DEFAULT_MANAGED_MAX_VCPUS,
        "managedMinEnvironments": settings.DEFAULT_MANAGED_MIN_ENVIRONMENTS,
        "managedMaxEnvironments": settings.DEFAULT_MANAGED_MAX_ENVIRONMENTS,
    }
    assert {key: schema[key]["default"] for key in managed} == managed


@pytest.mark.parametrize("timeout", [endpoint.minimum_timeout_seconds(), 90, 120, 300, 900])
def test_proxy_read_timeout_times_attempts_fits_the_function_timeout(timeout):
    config = endpoint.client_config(timeout)
    attempts = config.retries["total_max_attempts"]
    worst = attempts * (config.connect_timeout + config.read_timeout) + endpoint.MARGIN_SECONDS
    assert worst <= timeout
    # each attempt leaves the container its 60 s plus room for a serverless cold start
    assert (
        config.read_timeout >= settings.ENDPOINT_RESPONSE_SECONDS + endpoint.COLD_START_ROOM_SECONDS
    )
    assert attempts >= 1 and (timeout < 300 or attempts >= 3)


def test_a_short_timeout_still_fits_with_a_shorter_read():
    config = endpoint.client_config(30)
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout + config.read_timeout + endpoint.MARGIN_SECONDS <= 30


def test_object_names_survive_the_custom_attributes_header():
    name = "s3://b/incoming/sagemaker/bad é (1)+x.wav"
    encoded = endpoint.encode_name(name)
    assert encoded.isascii() and all(32 < ord(c) < 127 for c in encoded)
    assert endpoint.decode_name(encoded) == name
    assert len(endpoint.encode_name("s3://b/" + "é" * 2000)) <= endpoint.CUSTOM_ATTRIBUTES_MAX


def test_model_sample_rate_comes_from_model_json(model_dir):
    import json

    from audio_inference.core import LocalClassifier
    from audio_inference.model import OnnxModel

    from tests.helpers import tone, wav_bytes

    onnx = (model_dir / "model.onnx").read_bytes()
    meta = json.loads((model_dir / "model.json").read_text())
    result = LocalClassifier(OnnxModel(onnx, {**meta, "sample_rate": 8000})).classify(
        wav_bytes(tone(2.0, 44_100), 44_100), "x.wav"
    )
    assert result.audio_seconds == pytest.approx(2.0, abs=1e-3)
    with pytest.raises(ValueError, match="sample_rate"):
        OnnxModel(onnx, {k: v for k, v in meta.items() if k != "sample_rate"})


def test_stack_file_settings_are_read_through_one_function(tmp_path):
    from components.config import StackConfigError, read_settings

    stack = tmp_path / "Pulumi.team.yaml"
    stack.write_text(
        "config:\n  aws:region: eu-west-1\n  audio-inference-kit:lambdaMemoryMb: 1769\n"
        "  audio-inference-kit:variants: standard,sagemaker\n"
    )
    settings_ = read_settings(stack, check_model=False)
    assert settings_.region == "eu-west-1" and settings_.variants == ("standard", "sagemaker")
    assert settings_.memory_mb("standard") == 1769 and settings_.memory_mb("sagemaker") == 128
    assert read_settings(None, check_model=False).memory_mb("standard") == 4096
    stack.write_text("config:\n  audio-inference-kit:lambdaMemory: 1769\n")
    with pytest.raises(StackConfigError, match="lambdaMemory is not a setting"):
        read_settings(stack, check_model=False)


def test_example_stack_file_is_valid():
    from components.config import ROOT, read_settings

    assert (
        read_settings(ROOT / "examples" / "Pulumi.dev.yaml", check_model=False).region
        == "us-east-1"
    )


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "Infinity", "0", "-3", "1e400", "abc"])
@pytest.mark.parametrize(
    "name", ["MAX_AUDIO_SECONDS", "MAX_OBJECT_BYTES", "FUNCTION_TIMEOUT_SECONDS"]
)
def test_every_numeric_setting_refuses_non_finite_and_non_positive_at_start_up(name, raw):
    env = {"VARIANT": "standard", "PREDICTIONS_TABLE": "t", "MODEL_S3_URI": "s3://b/m.onnx"}
    with pytest.raises(settings.ConfigError) as err:
        settings.Settings.from_env(env | {name: raw})
    assert str(err.value).startswith(f"{name}={raw!r}")


def test_the_serving_app_refuses_a_bad_setting_in_one_line(model_dir):
    from tests.helpers import run_cli

    done = run_cli(
        "sagemaker.serve", "--model-dir", str(model_dir), env={"MAX_AUDIO_SECONDS": "nan"}
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "MAX_AUDIO_SECONDS='nan' is not finite" in done.stderr


def test_an_endpoint_refusing_the_payload_is_an_error_item_not_a_retry():
    import boto3
    from audio_inference.audio import AudioError
    from audio_inference.endpoint import EndpointClassifier
    from botocore.stub import Stubber

    client = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code="ValidationError",
            service_message="Request payload size is too large",
            http_status_code=400,
        )
        with pytest.raises(AudioError, match="big.wav: the endpoint refused the request"):
            EndpointClassifier(client, "ep").classify(b"RIFF", "big.wav")


@pytest.mark.parametrize("pad", range(3))  # the cut lands on each character of a %XX escape
def test_a_long_name_is_shortened_between_escapes_and_errors_name_the_whole_object(pad):
    import boto3
    from audio_inference.audio import AudioError
    from audio_inference.endpoint import EndpointClassifier
    from botocore.stub import Stubber

    name = "s3://b/" + "a" * pad + "é" * 400 + ".wav"
    encoded = endpoint.encode_name(name)
    assert len(encoded) <= endpoint.CUSTOM_ATTRIBUTES_MAX
    assert re.fullmatch(r"([^%]|%[0-9A-F]{2})*\.\.\.", encoded)  # no escape cut in half
    shortened = endpoint.decode_name(encoded)
    client = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with Stubber(client) as stub:  # the container's 400 names what the header gave it
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            http_status_code=424,
            modeled_fields={  # checked against the API model by the Stubber
                "OriginalStatusCode": 400,
                "OriginalMessage": json.dumps({"error": f"{shortened}: not a WAV"}),
            },
        )
        with pytest.raises(AudioError) as err:
            EndpointClassifier(client, "ep").classify(b"RIFF", name)
    assert str(err.value) == f"{name}: not a WAV"
