"""The Lambda archive and the SageMaker model archive."""

import tarfile
import zipfile

import pytest

from components import _packaging


def test_lambda_archive_holds_handlers_shared_code_and_runtime_deps_only():
    package = _packaging.build_package("x86_64")
    with zipfile.ZipFile(package.path) as archive:
        names = set(archive.namelist())
    for handler in (
        "standard_handler.py",
        "snapstart_handler.py",
        "sagemaker_proxy_handler.py",
        "audio_inference/pipeline.py",
        "audio_inference/settings.py",
    ):
        assert handler in names
    assert any(n.startswith("onnxruntime/") for n in names)
    assert any(n.startswith("soundfile") for n in names) and any(
        n.startswith("soxr/") for n in names
    )
    assert not any(n.startswith(("torch/", "torchaudio/", "boto3/", "botocore/")) for n in names)
    assert any("x86_64" in n and n.endswith(".so") for n in names)
    assert package.zipped_bytes <= _packaging.DIRECT_UPLOAD_LIMIT
    assert package.unzipped_bytes <= _packaging.UNZIPPED_LIMIT


def test_archive_is_cached_and_deterministic():
    first = _packaging.build_package("x86_64")
    mtime = first.path.stat().st_mtime
    again = _packaging.build_package("x86_64")
    assert again.sha256 == first.sha256 and again.path.stat().st_mtime == mtime
    assert _packaging.content_hash("x86_64") != _packaging.content_hash("arm64")


def test_unzipped_limit_is_enforced(monkeypatch):
    monkeypatch.setattr(_packaging, "UNZIPPED_LIMIT", 1024)
    with pytest.raises(_packaging.PackagingError, match="over Lambda's 250 MB limit"):
        _packaging.build_package("x86_64")


def test_unknown_architecture(tmp_path):
    with pytest.raises(_packaging.PackagingError, match="architecture 'sparc'"):
        _packaging.build_package("sparc", cache_dir=tmp_path)


def test_model_archive_is_deterministic(model_dir, tmp_path):
    path, digest = _packaging.build_model_archive(model_dir, tmp_path)
    again, digest2 = _packaging.build_model_archive(model_dir, tmp_path / "other")
    assert digest == digest2
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == ["model.json", "model.onnx"]


def test_source_code_hash_is_base64_like_lambdas_code_sha256():
    import base64
    import hashlib

    package = _packaging.build_package("x86_64")
    expected = base64.b64encode(hashlib.sha256(package.path.read_bytes()).digest()).decode()
    assert package.source_code_hash == expected
