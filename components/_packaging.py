"""Build the Lambda zip: shared function code plus its manylinux cp312 dependencies.

The archive is deterministic (sorted entries, fixed timestamps) and cached under
``build/lambda/`` by a hash of the code, the requirements and the architecture,
so repeated previews neither rebuild nor show a diff. Nothing here imports pulumi.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from audio_inference.settings import DEFAULT_ARCHITECTURE

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
REQUIREMENTS = FUNCTIONS_DIR / "requirements.txt"
CACHE_DIR = ROOT / "build" / "lambda"
UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda's limit, layers included
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
# python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
# (onnxruntime ships only those) and older manylinux2014 ones both work.
PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
}
PYTHON_VERSION = "3.12"
"""The standard runtime's (python3.12); the managed variant's package is built for 3.13."""


class PackagingError(RuntimeError):
    """The package cannot be built or breaks a Lambda limit."""


@dataclass(frozen=True)
class LambdaPackage:
    """A built function archive and its sizes."""

    path: Path
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    architecture: str
    python_version: str = PYTHON_VERSION

    @property
    def source_code_hash(self) -> str:
        """Base64 SHA-256, the form Lambda reports as CodeSha256 (hex would diff forever)."""
        import base64

        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def code_files() -> list[Path]:
    """The function code that goes into every package (handlers + shared package)."""
    files = sorted(FUNCTIONS_DIR.glob("*.py")) + sorted(
        (FUNCTIONS_DIR / "audio_inference").rglob("*.py")
    )
    return [f for f in files if "__pycache__" not in f.parts]


def content_hash(architecture: str, python_version: str = PYTHON_VERSION) -> str:
    """Hash of everything that determines the archive's bytes."""
    digest = hashlib.sha256(f"{architecture}|{python_version}|".encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in code_files():
        digest.update(str(path.relative_to(FUNCTIONS_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _install_dependencies(architecture: str, target: Path, python_version: str) -> None:
    if architecture not in PLATFORMS:
        raise PackagingError(f"architecture {architecture!r} is not one of {', '.join(PLATFORMS)}")
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *(arg for tag in PLATFORMS[architecture] for arg in ("--platform", tag)),
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--target",
        str(tmp),
        "-r",
        str(REQUIREMENTS),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise PackagingError(
            f"pip could not fetch the {architecture} cp{python_version.replace('.', '')} "
            f"dependencies from {REQUIREMENTS}:\n"
            f"{result.stderr.strip()[-2000:]}"
        )
    # boto3/botocore come with the managed runtime; drop caches pip leaves behind.
    for junk in list(tmp.rglob("__pycache__")):
        shutil.rmtree(junk, ignore_errors=True)
    tmp.rename(target)


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> int:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    data = path.read_bytes()
    archive.writestr(info, data, compresslevel=6)
    return len(data)


def build_package(
    architecture: str = DEFAULT_ARCHITECTURE,
    cache_dir: Path = CACHE_DIR,
    python_version: str = PYTHON_VERSION,
) -> LambdaPackage:
    """Build (or reuse) the archive for ``architecture`` and ``python_version`` (cp312 for
    the standard runtime, cp313 for Managed Instances); enforce the 250 MB unzipped limit."""
    key = content_hash(architecture, python_version)[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = "" if python_version == PYTHON_VERSION else f"-py{python_version.replace('.', '')}"
    zip_path = cache_dir / f"function-{architecture}{tag}-{key}.zip"
    deps_key = hashlib.sha256(
        REQUIREMENTS.read_bytes() + architecture.encode() + python_version.encode()
    ).hexdigest()[:16]
    deps = cache_dir / f"deps-{architecture}{tag}-{deps_key}"
    if not zip_path.exists():
        if not deps.exists():
            _install_dependencies(architecture, deps, python_version)
        partial = zip_path.with_suffix(".partial")
        unzipped = 0
        with zipfile.ZipFile(partial, "w") as archive:
            for path in sorted(p for p in deps.rglob("*") if p.is_file()):
                unzipped += _add(archive, path, str(path.relative_to(deps)))
            for path in code_files():
                unzipped += _add(archive, path, str(path.relative_to(FUNCTIONS_DIR)))
        partial.rename(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(i.file_size for i in archive.infolist())
    if unzipped > UNZIPPED_LIMIT:
        raise PackagingError(
            f"the {architecture} function package is {unzipped / 2**20:.0f} MB unzipped, over "
            f"Lambda's 250 MB limit: trim {REQUIREMENTS.relative_to(ROOT)}"
        )
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    return LambdaPackage(
        zip_path, digest, zip_path.stat().st_size, unzipped, architecture, python_version
    )


def build_model_archive(
    model_dir: Path, cache_dir: Path = CACHE_DIR.parent / "sagemaker"
) -> tuple[Path, str]:
    """Deterministic ``model.tar.gz`` (model.onnx + model.json at its root) for SageMaker.

    SageMaker unpacks it into /opt/ml/model. Returns (path, sha256).
    """
    import gzip
    import io
    import tarfile

    files = [model_dir / "model.onnx", model_dir / "model.json"]
    for path in files:
        if not path.is_file():
            raise PackagingError(f"{path} is missing: run `make model` first")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            info = tarfile.TarInfo(path.name)
            info.size = path.stat().st_size
            info.mode = 0o644
            info.mtime = 0
            with path.open("rb") as f:
                tar.addfile(info, f)
    packed = gzip.compress(raw.getvalue(), mtime=0)
    digest = hashlib.sha256(packed).hexdigest()
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"model-{digest[:16]}.tar.gz"
    if not out.exists():
        out.write_bytes(packed)
    return out, digest
