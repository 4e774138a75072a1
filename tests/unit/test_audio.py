import numpy as np
import pytest
from audio_inference.audio import AudioError, decode, load_waveform, probe

from tests.helpers import tone, wav_bytes

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_any_wav_decodes_to_mono_16k(subtype, channels):
    data = wav_bytes(tone(0.5, 44_100, channels=channels), 44_100, subtype)
    waveform = load_waveform(data, "x.wav")
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert abs(len(waveform) - 8000) <= 1
    # a 0.5 amplitude tone survives every format within 8-bit quantisation
    assert 0.45 < np.max(np.abs(waveform)) < 0.56


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 48000])
def test_resampling_keeps_pitch(rate):
    waveform = load_waveform(wav_bytes(tone(1.0, rate, freq=1000.0), rate), "x.wav")
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
        load_waveform(data, "s3://b/in.wav")
    assert "s3://b/in.wav" in str(err.value) and message in str(err.value)


def test_non_wav_container_is_refused():
    import io

    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, tone(0.5), 16_000, format="FLAC")
    with pytest.raises(AudioError, match="unsupported audio format FLAC"):
        load_waveform(buf.getvalue(), "a.wav")


def test_probe_reads_header_of_a_partial_download():
    data = wav_bytes(tone(10.0, 48_000, channels=2), 48_000)
    info = probe(data[:4096], "big.wav")
    assert (info.sample_rate, info.channels) == (48_000, 2)
    assert info.estimated_seconds(len(data)) == pytest.approx(10.0, rel=1e-3)


def test_decode_keeps_channels():
    samples, rate = decode(wav_bytes(tone(0.2, 22_050, channels=2), 22_050), "a.wav")
    assert samples.shape[1] == 2 and rate == 22_050
