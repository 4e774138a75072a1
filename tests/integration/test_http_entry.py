"""The function URL entry against events Lambda never sends (but any caller with
lambda:InvokeFunction can), and its agreement with the serving app on content types."""

from __future__ import annotations

import json

import pytest

from kit.measure.local.emulator import apply_env, handler_env, restore_env
from tests.helpers import Context, load_handler, tone, url_event, wav_bytes


def _forged(**changes):
    event = url_event(wav_bytes(tone()))
    for path, value in changes.items():
        target = event
        *parents, leaf = path.split(".")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return event


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (_forged(body={"a": 1}), 400),
        (_forged(body=12345), 400),
        (_forged(isBase64Encoded=True, body="!!!not base64!!!"), 400),
        (_forged(requestContext=None), 200),
        (_forged(**{"requestContext.http": "POST"}), 200),
        (_forged(**{"requestContext.timeEpoch": 1e20}), 200),
        (_forged(**{"requestContext.timeEpoch": -1e17}), 200),
        (_forged(**{"requestContext.domainName": "evil.example/<script>"}), 200),
        (_forged(headers=None), 200),
        (_forged(headers={"content-type": "application/json"}), 415),
        (_forged(headers={"content-type": "audio/wav; charset=binary"}), 200),
        ("not an event", 400),
    ],
    ids=["body-dict", "body-int", "bad-base64", "context-null", "http-str", "epoch-huge",
         "epoch-negative", "host-forged", "headers-null", "json", "wav-params", "string-event"],
)  # fmt: skip
def test_forged_function_url_events_get_an_answer_not_an_exception(aws, event, status):
    server, stack = aws
    previous = apply_env(handler_env(server, stack, "http"))
    try:
        module = load_handler("http_handler")
        answer = module.handler(event, Context("req-forged"))
    finally:
        restore_env(previous)
    assert answer["statusCode"] == status, answer
    body = json.loads(answer["body"])
    if status == 200:
        assert body["status"] == "ok"
        host = body["object"].split("/")[2]
        assert "<" not in host and "/" not in host  # a forged host never reaches the key
    else:
        assert body["error"]


def test_both_synchronous_entries_accept_the_same_content_types():
    from audio_inference.settings import AUDIO_CONTENT_TYPES

    import sagemaker.serve

    assert sagemaker.serve.CONTENT_TYPES is AUDIO_CONTENT_TYPES


def test_an_unreadable_upload_gets_the_same_error_text_every_time():
    from audio_inference.audio import AudioError, decode

    texts = set()
    for _ in range(3):
        with pytest.raises(AudioError) as err:
            decode(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10, "x.wav")
        texts.add(str(err.value))
    (text,) = texts  # the same text each time: no object address in it
    assert "Error opening the upload" in text and "0x" not in text
