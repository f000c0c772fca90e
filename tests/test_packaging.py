"""What the installed distribution promises: its plugin is cheap, its metadata is whole."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What loading the pytest plugin must not pull in: the package and its HTTP stack.
HEAVY = ("sse_client", "httpx", "httpx2", "httpcore", "h11", "anyio", "tenacity", "trio")


def test_loading_the_pytest_plugin_imports_neither_the_package_nor_its_http_stack() -> None:
    """pytest loads the plugin in every run of every project; that must cost nothing."""
    code = (
        "import sys\n"
        "import sse_client_pytest\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({name for name in sys.modules if name.split('.')[0] in heavy}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_pytest_entry_point_names_the_plugin_module() -> None:
    """The entry point pytest reads is the lightweight module, not a module of the package."""
    points = importlib.metadata.entry_points(group="pytest11")
    assert [point.value for point in points if point.name == "sse_client"] == ["sse_client_pytest"]


def test_metadata_carries_the_license_and_the_project_urls() -> None:
    """An index page shows the license and links to the docs, the changelog and the issues."""
    metadata = importlib.metadata.metadata("sse-client")
    assert metadata["License-Expression"] == "MIT"
    assert "LICENSE" in (metadata.get_all("License-File") or [])
    labels = {url.split(",")[0] for url in metadata.get_all("Project-URL") or []}
    assert {"Documentation", "Changelog", "Issues"} <= labels


def test_classifiers_name_exactly_the_pythons_from_the_floor_up() -> None:
    """The Python classifiers run without a gap from requires-python up (CI runs each)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floor = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert floor is not None
    minors = sorted(
        int(match[1])
        for classifier in project["classifiers"]
        if (match := re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", classifier))
    )
    assert minors == list(range(int(floor[1]), minors[-1] + 1))


def test_ci_runs_exactly_the_pythons_the_classifiers_name() -> None:
    """.ci/run tests every version the classifiers promise, and no other."""
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip("no .ci/run here (an unpacked sdist)")
    named = re.search(r"^pythons=\(([^)]*)\)$", ci.read_text(), re.MULTILINE)
    assert named is not None
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classified = [
        classifier.rpartition(" :: ")[2]
        for classifier in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", classifier)
    ]
    assert named[1].split() == classified
