"""The public surface: exports, sync/async parity, dependency rules, packaging."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import sse_client
import sse_client.testing
from sse_client import AsyncEventSource, EventSource


def public_names(module: types.ModuleType) -> set[str]:
    """Names a user can import: not private, not a submodule, not annotations."""
    return {
        name
        for name, value in vars(module).items()
        if name[0].isalpha() and not isinstance(value, types.ModuleType) and name != "annotations"
    }


def isort_order(names: list[str]) -> list[str]:
    """Constants first, then classes, then the rest, each alphabetically (ruff's RUF022)."""
    return sorted(names, key=lambda name: (not name.isupper(), not name[:1].isupper(), name))


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists exactly the public names, in order."""
    assert sse_client.__all__ == isort_order(sse_client.__all__)
    assert set(sse_client.__all__) - {"__version__"} == public_names(sse_client)
    assert sse_client.testing.__all__ == isort_order(sse_client.testing.__all__)
    assert set(sse_client.testing.__all__) == public_names(sse_client.testing)


def test_public_names_have_docstrings_and_the_public_module() -> None:
    """Every public class and function is documented and shown as sse_client.X."""
    for name in sse_client.__all__:
        obj = getattr(sse_client, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
            assert obj.__module__ == "sse_client", name
    for name in sse_client.testing.__all__:
        obj = getattr(sse_client.testing, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name


ASYNC_TO_SYNC = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
}


def public_members(cls: type) -> set[str]:
    names = {name for name in vars(cls) if not name.startswith("_")}
    return names | {
        name
        for name in vars(cls)
        if name.startswith("__") and name in {*ASYNC_TO_SYNC, *ASYNC_TO_SYNC.values()}
    }


def test_sync_and_async_sources_have_the_same_surface() -> None:
    """AsyncEventSource is EventSource with a-prefixed async twins, nothing more or less."""
    mapped = {ASYNC_TO_SYNC.get(name, name) for name in public_members(AsyncEventSource)}
    assert mapped == public_members(EventSource)


def test_sync_and_async_sources_take_the_same_arguments() -> None:
    """The constructors have the same parameters, defaults and order."""
    sync = inspect.signature(EventSource)
    asynchronous = inspect.signature(AsyncEventSource)
    assert [(p.name, p.default, p.kind) for p in sync.parameters.values()] == [
        (p.name, p.default, p.kind) for p in asynchronous.parameters.values()
    ]
    assert inspect.signature(sse_client.iter_events).parameters.keys() == (
        inspect.signature(sse_client.aiter_events).parameters.keys()
    )


def test_parser_imports_no_io_library() -> None:
    """The sans-I/O parser imports no HTTP stack, nor anyio nor tenacity."""
    # An empty stand-in for the package, so that only the parser's own imports run.
    code = (
        "import sys, types\n"
        "package = types.ModuleType('sse_client')\n"
        "package.__path__ = [sys.argv[1]]\n"
        "sys.modules['sse_client'] = package\n"
        "import sse_client._parser\n"
        "print(sorted({'httpx', 'httpx2', 'anyio', 'tenacity', 'trio'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(sse_client.__file__)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"


def test_version_matches_the_installed_metadata() -> None:
    """One version source: the package and its metadata agree."""
    assert importlib.metadata.version("sse-client") == sse_client.__version__


def test_every_error_is_an_sse_error() -> None:
    """One base class catches everything the library raises on purpose."""
    for error in (
        sse_client.ResponseError,
        sse_client.ReconnectError,
        sse_client.EventTooLarge,
        sse_client.StreamEnded,
    ):
        assert issubclass(error, sse_client.SSEError)
    assert issubclass(sse_client.SSEError, Exception)
    assert sse_client.EventTooLarge(limit=3).limit == 3
    assert "max_event_size=3" in str(sse_client.EventTooLarge(limit=3))
    assert sse_client.ReconnectError("gave up", attempts=2).attempts == 2


def test_the_testing_modules_example_runs() -> None:
    """The example at the top of sse_client.testing runs as written."""
    doc = sse_client.testing.__doc__ or ""
    code = doc[doc.index("    from sse_client import") : doc.index("The vocabulary:")]
    exec(textwrap.dedent(code), {})


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a module of the package at ``root``."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The ``modules`` that the module ``name`` (at ``path``) imports, wherever the
    import stands: module level, under TYPE_CHECKING, inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = node.module or ""
            if node.level:
                source = f"{base}.{source}".rstrip(".")
            for alias in node.names:
                # "from PACKAGE import MODULE" imports the module; any other name is the
                # package's (or the module's) own.
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & modules - {name}


def test_the_package_imports_form_no_circle() -> None:
    """Every import between the package's modules points one way: no circle, not even
    one closed by an import for the type checker alone."""
    root = Path(sse_client.__file__).parent
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    graph = {name: imports_of(path, name, set(paths)) for name, path in paths.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        assert name not in trail, f"import circle: {' -> '.join([*trail, name])}"
        if name not in done:
            for target in sorted(graph[name]):
                visit(target, [*trail, name])
            done.add(name)

    for name in sorted(graph):
        visit(name, [])
    # The settings and the errors import nothing of ours (the settings name _http's URL
    # type, for the type checker).
    assert graph["sse_client._policy"] <= {"sse_client._http"}
    assert graph["sse_client._errors"] == set()
