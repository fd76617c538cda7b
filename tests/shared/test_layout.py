"""The layout a newcomer walks: no module of services/ or shared/ imports, directly or through
others, a module that imports it back. A static check over every import statement (those inside
functions too: a lazy import that dodges a cycle is still a cycle)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts and parts[0] == "services":
                continue  # alembic scripts, loaded by path
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports: `from a import b` is a.b when that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {t for t in targets if t in modules and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_resolves_relative_and_package_imports():
    graph = import_graph()
    assert "shared.web" in graph["services.quota.app"]
    assert "services.quota.models" in graph["services.quota.app"]  # from .models import Base
    assert "shared.contracts.base" in graph["shared.contracts"]


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_services_import_the_contracts_constants_instead_of_copying_them():
    """A value list shared/contracts defines is written once: a service's own literal copy of it
    (the whole list, or a run of three or more of its values in order) is a second definition."""
    from shared.contracts import candidates, quotas

    defined = {"STAGES": candidates.STAGES, "REMINDER_KINDS": candidates.REMINDER_KINDS,
               "GENDERS": candidates.GENDERS, "COMPOSITION_ATTRIBUTES": quotas.COMPOSITION_ATTRIBUTES}
    copies = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Tuple) or len(node.elts) < 3:
                continue
            if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                continue
            values = tuple(e.value for e in node.elts)
            for name, constant in defined.items():
                runs = {constant[i:i + len(values)] for i in range(len(constant))}
                if values in runs:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno} copies {name}")
    assert copies == []


def test_the_period_pattern_is_the_contracts():
    from services.quota import periods
    from shared.contracts.quotas import PERIOD_PATTERN

    assert not hasattr(periods, "_PATTERN")
    assert periods.parse_period("2020-2025").start.year == 2020
    assert PERIOD_PATTERN.match("2020-2025").groups() == ("2020", "2025")
