import io
import struct

import numpy as np
import pytest
import soundfile
from audio_inference.audio import AudioError, decode, load_waveform

from tests.helpers import tone, wav_bytes, with_chunk_before_data

RATE = 16_000


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_any_wav_decodes_to_mono_at_the_model_rate(subtype, channels):
    data = wav_bytes(tone(0.5, 44_100, channels=channels), 44_100, subtype)
    waveform = load_waveform(data, "x.wav", RATE)
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 8000) <= 1
    # a 0.5 amplitude tone survives every format within 8-bit quantisation
    assert 0.45 < np.max(np.abs(waveform)) < 0.56


def test_target_rate_comes_from_the_caller():
    assert abs(len(load_waveform(wav_bytes(tone(1.0, 44_100), 44_100), "x.wav", 8000)) - 8000) <= 1


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 48000])
def test_resampling_keeps_pitch(rate):
    waveform = load_waveform(wav_bytes(tone(1.0, rate, freq=1000.0), rate), "x.wav", RATE)
    spectrum = np.abs(np.fft.rfft(waveform))
    assert abs(np.argmax(spectrum) * 16_000 / len(waveform) - 1000) < 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not audio at all" * 40, "not a readable WAV"),
        (wav_bytes(tone(1.0))[:30], "not a readable WAV"),
        (wav_bytes(tone(1.0))[:20_000], "truncated"),
        (wav_bytes(np.zeros(16_000, dtype=np.float32)), "silent"),
        (wav_bytes(tone(0.05)), "long; upload at least"),
    ],
    ids=["empty", "not-audio", "cut-header", "cut-data", "silence", "too-short"],
)
def test_bad_input_is_a_clear_error_naming_the_input(data, message):
    with pytest.raises(AudioError) as err:
        load_waveform(data, "s3://b/in.wav", RATE)
    assert "s3://b/in.wav" in str(err.value) and message in str(err.value)


def test_non_wav_container_is_refused():
    buf = io.BytesIO()
    soundfile.write(buf, tone(0.5), 16_000, format="FLAC")
    with pytest.raises(AudioError, match="unsupported audio format FLAC"):
        load_waveform(buf.getvalue(), "a.wav", RATE)


def test_decode_keeps_channels():
    samples, rate = decode(wav_bytes(tone(0.2, 22_050, channels=2), 22_050), "a.wav")
    assert samples.shape[1] == 2 and rate == 22_050


# --- hostile and unusual inputs -------------------------------------------------------


def _codec_wav(subtype: str, seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, tone(seconds, rate, level=0.3), rate, format="WAV", subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize("subtype", ["GSM610", "G721_32", "IMA_ADPCM", "MS_ADPCM", "ULAW", "ALAW"])
def test_codecs_inside_wav_decode_or_fail_as_bad_input(subtype):
    # GSM 6.10 and G.721 used to raise a bare ValueError on read (a crash, no item).
    waveform = load_waveform(_codec_wav(subtype, 1.0), f"s3://b/{subtype}.wav", RATE)
    assert abs(len(waveform) - RATE) < 0.05 * RATE


@pytest.mark.parametrize("subtype", ["GSM610", "IMA_ADPCM", "PCM_16"])
def test_duration_limit_holds_on_decoded_audio_whatever_the_codec(subtype):
    # 40 s of GSM is ~65 KB: a byte-count estimate as if PCM said ~4 s.
    data = _codec_wav(subtype, 40.0)
    with pytest.raises(AudioError, match=r"longer than the 30 s limit \(MAX_AUDIO_SECONDS\)"):
        load_waveform(data, "s3://b/long.wav", RATE, max_seconds=30)


def test_audio_exactly_at_the_limit_is_accepted():
    waveform = load_waveform(wav_bytes(tone(30.0, 8000), 8000), "x.wav", RATE, max_seconds=30)
    assert len(waveform) == 30 * RATE


def test_large_metadata_chunk_before_data_is_still_a_valid_wav():
    data = with_chunk_before_data(wav_bytes(tone(1.0)), 200_000)
    assert len(load_waveform(data, "meta.wav", RATE, max_seconds=30)) == RATE


def test_large_trailing_chunk_does_not_count_as_audio():
    data = (
        wav_bytes(tone(20.0, 8000), 8000)
        + b"junk"
        + struct.pack("<I", 2_000_000)
        + b"\0" * 2_000_000
    )
    # ~2 MB of trailing bytes used to read as ~125 s of audio at 8 kHz 16-bit.
    assert len(load_waveform(data, "trail.wav", RATE, max_seconds=30)) == 20 * RATE


def test_extreme_sample_values_are_bad_input_not_a_crash():
    data = wav_bytes((tone(1.0) * 1e30).astype(np.float32), subtype="FLOAT")
    with pytest.raises(AudioError, match="far outside the \\[-1, 1\\] range"):
        load_waveform(data, "s3://b/loud.wav", RATE)


def test_absurd_header_sample_rate_is_refused_before_decoding():
    data = bytearray(wav_bytes(tone(1.0)))
    fmt = data.index(b"fmt ")
    struct.pack_into("<I", data, fmt + 12, 2)  # 2 Hz
    with pytest.raises(AudioError, match="sample rate 2 Hz is outside"):
        load_waveform(bytes(data), "s3://b/rate.wav", RATE)
