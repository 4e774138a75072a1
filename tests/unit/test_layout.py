"""The package layout's rules, read from the source: the data flow the folders promise holds."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit import ROOT
from kit.cli import COMMANDS

KIT = ROOT / "kit"
SOURCES = ("kit", "components", "functions", "sagemaker", "model_build", "benchmarks", "tests")
MAX_LINES = 450


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = _module(path) if path.name == "__init__.py" else _module(path).rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _importers(prefix: str, within: Path) -> list[str]:
    return [
        str(f.relative_to(ROOT))
        for f in _files(within)
        if any(m == prefix or m.startswith(prefix + ".") for m in _imports(f))
    ]


def test_nothing_imports_the_cli():
    offenders = [
        f
        for f in _importers("kit.cli", ROOT / "kit")
        if not f.startswith("kit/cli/") and f != "kit/__main__.py"
    ]
    offenders += _importers("kit.cli", ROOT / "components") + _importers(
        "kit.cli", ROOT / "benchmarks"
    )
    assert offenders == []


def test_measuring_never_imports_deciding():
    assert _importers("kit.decide", KIT / "measure") == []


def test_the_cost_model_never_imports_the_simulator():
    assert _importers("kit.decide.simulate", KIT / "decide" / "cost") == []


def test_benchmarks_are_not_imported_by_the_kit():
    for folder in ("kit", "components", "functions", "sagemaker", "model_build"):
        assert _importers("benchmarks", ROOT / folder) == [], folder


def test_no_library_function_takes_an_argparse_namespace():
    offenders = []
    for f in _files(KIT):
        if f.is_relative_to(KIT / "cli"):
            continue
        tree = ast.parse(f.read_text())
        if "argparse" in _imports(f):
            offenders.append(f"{f.relative_to(ROOT)} imports argparse")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "args" in names:
                    offenders.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name}(args)")
    assert offenders == []


def test_no_source_file_is_over_the_limit():
    long = [
        f"{f.relative_to(ROOT)}: {n} lines"
        for folder in SOURCES
        for f in _files(ROOT / folder)
        if (n := len(f.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_loads_no_heavy_library(command):
    """`--help` answers at once: no numba, numpy, boto3 or matplotlib is imported for it."""
    argv = ["--help"] if command is None else [command, "--help"]
    code = (
        "import sys\n"
        "from kit.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('numba', 'numpy', 'boto3', 'botocore', 'matplotlib', 'pulumi')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m kit" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_the_readme_layout_table_matches_the_tree():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Project layout", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"^\| `([^`]+)`", section, flags=re.M)
    assert paths, "the README has no layout table"
    for path in paths:
        for one in path.split("`, `"):
            assert (ROOT / one.rstrip("/")).exists(), f"README names {one}, which does not exist"
    named = set(" ".join(paths).replace("`", "").split())
    for folder in sorted(p.name for p in KIT.iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert any(n.rstrip("/").endswith(f"kit/{folder}") for n in named), folder


def _spec(module: str) -> bool:
    import importlib.util

    try:
        return bool(module) and importlib.util.find_spec(module) is not None
    except (ImportError, AttributeError, ValueError):
        return False


def test_every_import_resolves_including_those_inside_functions():
    """Lazy imports (inside functions) are not run by importing a module: resolve them all."""
    missing = []
    for folder in SOURCES:
        for f in _files(ROOT / folder):
            for name in _imports(f):
                top = name.split(".")[0]
                if top not in {"kit", "components", "benchmarks", "model_build", "sagemaker"}:
                    continue
                parts = name.split(".")
                # "pkg.mod.Name" imports Name from pkg.mod: one of the two must be a module
                if not (_spec(".".join(parts[:-1])) or _spec(name)):
                    missing.append(f"{f.relative_to(ROOT)}: {name}")
    assert missing == []
