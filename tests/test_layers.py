"""
The package's layers (docs/architecture.md), checked from its source.

Every module's imports are read with ``ast``, including imports inside
functions and under ``TYPE_CHECKING``; imports of other packages (Django,
redis, stream-python, ...) are not arrows. An arrow from a module to one in
a higher layer, or a cycle of modules, fails the test with the modules named.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "stream_django"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: Bottom to top; a module may import its own layer and the ones below.
LAYERS: list[tuple[str, list[str]]] = [
    ("base", ["stream_django", "stream_django.conf", "stream_django.exceptions", "stream_django.signals"]),
    ("read side", ["stream_django.activity", "stream_django.enrich", "stream_django.templatetags"]),
    ("engine", ["stream_django.engine"]),
    ("storage", ["stream_django.backends"]),
    ("package tables", ["stream_django.models", "stream_django.migrations"]),
    ("fan-out and events", ["stream_django.fanout", "stream_django.events"]),
    ("feeds API", ["stream_django.feeds", "stream_django.client"]),
    (
        "tracking",
        [
            "stream_django.managers",
            "stream_django.feed_manager",
            "stream_django.streams",
            "stream_django.context_processors",
        ],
    ),
    ("operations", ["stream_django.maintenance"]),
    (
        "surfaces",
        [
            "stream_django.apps",
            "stream_django.checks",
            "stream_django.tasks",
            "stream_django.importers",
            "stream_django.management",
            "stream_django.admin",
            "stream_django.api",
            "stream_django.stream_api",
            "stream_django.channels",
        ],
    ),
]

#: Names a storage backend must not import: the engine hands it a plan, so a
#: write never reads the feed-group configuration (docs/architecture.md).
CONFIG_LOOKUPS = {"stream_django.engine.feeds": {"get_group", "feed_groups"}}


def modules(root: Path, package: str) -> dict[str, Path]:
    """Return ``{dotted name: path}`` of every module under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int, set[str]]]:
    """Yield ``(module, line, names)`` for each import of a package module."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == name.split(".")[0]:
                    yield alias.name, node.lineno, set()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] != name.split(".")[0]:
                continue
            plain = set()
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if sub in known:
                    yield sub, node.lineno, set()
                else:
                    plain.add(alias.name)
            if plain:
                yield module, node.lineno, plain


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            exact_only = "." not in prefix and prefix == module.split(".")[0]
            matches = module == prefix or (not exact_only and module.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def check_tree(
    root: Path,
    package: str,
    layers: list[tuple[str, list[str]]],
    config_lookups: dict[str, set[str]] | None = None,
) -> list[str]:
    """Return the violations in the package at ``root``: unknown modules,
    upward arrows, configuration lookups in backends, and cycles."""
    found = modules(root, package)
    known = set(found)
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in found}
    for name, path in found.items():
        own = layer_of(name, layers)
        if own < 0:
            problems.append(f"{name} is in no layer: add it to LAYERS and docs/architecture.md")
            continue
        for target, line, names in imports(name, path, known):
            if target not in known:
                continue
            if target != name:
                graph[name].add(target)
            other = layer_of(target, layers)
            if other > own:
                problems.append(
                    f"{name} (layer {layers[own][0]!r}, line {line}) imports {target} "
                    f"from the higher layer {layers[other][0]!r}"
                )
            forbidden = (config_lookups or {}).get(target, set()) & names
            if forbidden and name.startswith(f"{package}.backends."):
                problems.append(
                    f"{name} (line {line}) imports {', '.join(sorted(forbidden))} from {target}: "
                    "a backend reads feed groups from the plan it is handed"
                )
    problems += [f"import cycle: {' -> '.join([*cycle, cycle[0]])}" for cycle in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_the_package_keeps_its_layers():
    assert check_tree(ROOT, PACKAGE, LAYERS, CONFIG_LOOKUPS) == []


def test_no_module_of_the_package_is_over_about_500_lines():
    long = {
        name: len(path.read_text().splitlines())
        for name, path in modules(ROOT, PACKAGE).items()
        if ".migrations." not in name and len(path.read_text().splitlines()) > 520
    }
    assert long == {}


def write(root: Path, files: dict[str, str]) -> None:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


TOY_LAYERS = [("base", ["toy.conf"]), ("engine", ["toy.engine"]), ("storage", ["toy.backends"])]


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "toy"
    write(
        root,
        {
            "__init__.py": "",
            "conf.py": "X = 1\n",
            "engine/__init__.py": "",
            "engine/feeds.py": "from toy.conf import X\ndef get_group(slug): return slug\n",
            "backends/__init__.py": "",
            "backends/base.py": "from toy.engine import feeds\n",
        },
    )
    return root


def test_a_clean_toy_package_passes(toy):
    layers = [("root", ["toy"]), *TOY_LAYERS]
    assert check_tree(toy, "toy", layers) == []


def test_an_upward_import_fails_naming_both_modules(toy):
    write(toy, {"conf.py": "X = 1\ndef later():\n    from toy.backends import base\n"})
    layers = [("root", ["toy"]), *TOY_LAYERS]
    assert check_tree(toy, "toy", layers) == [
        "toy.conf (layer 'base', line 3) imports toy.backends.base from the higher layer 'storage'",
        "import cycle: toy.backends.base -> toy.conf -> toy.engine.feeds -> toy.backends.base",
    ]


def test_a_relative_upward_import_and_a_same_layer_cycle_fail(toy):
    write(
        toy, {"engine/ids.py": "from . import feeds\n", "engine/feeds.py": "from .ids import *\nfrom ..conf import X\n"}
    )
    layers = [("root", ["toy"]), *TOY_LAYERS]
    assert check_tree(toy, "toy", layers) == ["import cycle: toy.engine.feeds -> toy.engine.ids -> toy.engine.feeds"]


def test_a_backend_reading_feed_group_configuration_fails(toy):
    write(toy, {"backends/base.py": "from toy.engine.feeds import get_group\n"})
    layers = [("root", ["toy"]), *TOY_LAYERS]
    rules = {"toy.engine.feeds": {"get_group", "feed_groups"}}
    assert check_tree(toy, "toy", layers, rules) == [
        "toy.backends.base (line 1) imports get_group from toy.engine.feeds: "
        "a backend reads feed groups from the plan it is handed"
    ]


def test_a_module_in_no_layer_is_reported(toy):
    write(toy, {"extra.py": ""})
    assert check_tree(toy, "toy", TOY_LAYERS) == [
        "toy is in no layer: add it to LAYERS and docs/architecture.md",
        "toy.extra is in no layer: add it to LAYERS and docs/architecture.md",
    ]
