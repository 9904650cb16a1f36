"""The wheel carries the contracts, the examples, the suite, py.typed and both entry points.

Builds the wheel from a copy of the source tree (so a stale ``build/`` cannot hide a missing
file), then looks inside it, and imports hookproof from the unpacked wheel to prove the package
data is found where it is installed.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src", "contracts", "fixtures", "suite")

pytestmark = pytest.mark.slow


def _build(source: Path, outdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), *extra, str(source)],
        capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.exists():
            shutil.copy2(path, source / name)
    outdir = tmp_path_factory.mktemp("dist")
    proc = _build(source, outdir)
    if proc.returncode != 0:  # no network for an isolated build environment
        proc = _build(source, outdir, "--no-isolation")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (built,) = outdir.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    )


def test_contracts_are_in_the_wheel(names: set[str]) -> None:
    expected = _files(ROOT / "contracts", (".json", ".yaml"))
    assert len(expected) > 50
    missing = [f for f in expected if f"hookproof/contracts/{f}" not in names]
    assert not missing


def test_examples_are_in_the_wheel(names: set[str]) -> None:
    expected = _files(ROOT / "fixtures", (".json", ".form", ".yaml"))
    assert len(expected) > 300
    assert any(f.endswith(".form") for f in expected)
    missing = [f for f in expected if f"hookproof/fixtures/{f}" not in names]
    assert not missing


def test_suite_and_py_typed_are_in_the_wheel(names: set[str]) -> None:
    suite = _files(ROOT / "suite", (".py",))
    assert "__init__.py" in suite
    missing = [f for f in suite if f"hookproof/suite/{f}" not in names]
    assert not missing
    assert "hookproof/py.typed" in names


def test_every_module_is_in_the_wheel(names: set[str]) -> None:
    modules = _files(ROOT / "src" / "hookproof", (".py",))
    missing = [f for f in modules if f"hookproof/{f}" not in names]
    assert not missing


def test_entry_points(wheel: Path, names: set[str]) -> None:
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    with zipfile.ZipFile(wheel) as archive:
        parser.read_string(archive.read(entry_points).decode("utf-8"))
    assert parser["console_scripts"]["hookproof"].strip() == "hookproof.cli:main"
    assert parser["pytest11"]["hookproof"].strip() == "hookproof.plugin"


def test_unpacked_wheel_finds_its_package_data(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    script = (
        "import hookproof, sys\n"
        "from hookproof.catalogue import load_catalogue\n"
        "from hookproof.catalogue.examples import valid_examples\n"
        "from hookproof.catalogue.validation import validate\n"
        f"assert hookproof.__file__.startswith({str(tmp_path)!r}), hookproof.__file__\n"
        "c = load_catalogue()\n"
        "n = 0\n"
        "for p in c.providers.values():\n"
        "    for e in p.events:\n"
        "        for x in valid_examples(p.id, e.name):\n"
        "            assert validate(x.payload, provider=p.id, event=e.name).ok, (e.name, x.name)\n"
        "            n += 1\n"
        "print(sum(len(p.events) for p in c.providers.values()), n)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events, examples = map(int, proc.stdout.split())
    assert events == 49 and examples > 100
