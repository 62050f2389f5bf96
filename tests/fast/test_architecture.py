"""The house rule of docs/architecture.md, checked: imports flow one way.

    deployments -> flows -> tasks (stages) -> pure logic, platforms -> core

Pure logic (tasks/schema, outputs, fuzz, ai, report, lint) and platforms sit side by side and
never import each other; neither they nor core import Prefect.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ("schema", "outputs", "fuzz", "ai", "report", "lint")
RANK = {"core": 1, "pure": 2, "platforms": 2, "stages": 3, "flows": 4, "deployments": 5}


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] in ("flows", "deployments"):
        return parts[0]
    if parts[0] != "tasks":
        return None
    if len(parts) == 1:
        return "stages"
    if parts[1] == "core":
        return "core"
    if parts[1] == "platforms":
        return "platforms"
    if parts[1] in PURE:
        return "pure"
    return "stages"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            # `from tasks import x` names a submodule
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def sources() -> list[Path]:
    files = []
    for top in ("tasks", "flows", "deployments"):
        files += [p for p in (ROOT / top).rglob("*.py") if "media" not in p.parts]
    return sorted(files)


def violations() -> list[str]:
    problems = []
    known = {module_name(p) for p in sources()}
    for path in sources():
        mine = module_name(path)
        here = layer(mine)
        for target, line in imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if target.split(".")[0] == "prefect" and here in ("core", "pure", "platforms"):
                problems.append(f"{where}: {here} code imports Prefect ({target})")
                continue
            if target not in known and not any(k.startswith(target + ".") for k in known):
                continue
            there = layer(target)
            if there is None or there == here:
                continue
            if RANK[there] > RANK[here]:
                problems.append(f"{where}: {here} imports upward from {there} ({target})")
            elif RANK[there] == RANK[here]:
                problems.append(f"{where}: {here} imports its sibling layer {there} ({target})")
    return problems


def import_graph(paths: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of `paths` it imports, wherever the import statement sits (at the
    top, inside a function, under `if __name__ == "__main__"`)."""
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        found = {target for target, _ in imports(path) if target in paths and target != module}
        # `from package import submodule` imports the submodule, not everything the package's
        # __init__ names: keep the package only when nothing below it was named.
        graph[module] = {t for t in found if not any(other.startswith(t + ".") for other in found)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_flow_one_way():
    assert violations() == []


def test_no_import_cycles():
    paths = {module_name(p): p for p in sources()}
    assert cycles(import_graph(paths)) == []


def test_the_cycle_check_sees_an_import_inside_a_function(tmp_path):
    """A cycle that only closes through a function-level import is still a cycle."""
    (tmp_path / "a.py").write_text("from b import thing\n")
    (tmp_path / "b.py").write_text("def thing():\n    from a import other\n    return other\n")
    (tmp_path / "c.py").write_text("import a\n")
    paths = {name: tmp_path / f"{name}.py" for name in ("a", "b", "c")}
    assert cycles(import_graph(paths)) == [["a", "b"]]


def test_the_rule_catches_a_wrong_way_import(tmp_path, monkeypatch):
    """The checker itself: a platform importing a stage, core importing Prefect, pure logic
    importing a platform are each reported."""
    bad = {
        "platforms": ("tasks.platforms.base", "from tasks.predictions import predict"),
        "core": ("tasks.core.config", "import prefect"),
        "pure": ("tasks.outputs.checkers", "from tasks.platforms import get_platform"),
    }
    for kind, (module, statement) in bad.items():
        source = tmp_path / (module.replace(".", "_") + ".py")
        source.write_text(statement + "\n")
        here = layer(module)
        (target, _), *_ = imports(source)
        there = layer(target)
        broke = (target.startswith("prefect") and here in ("core", "pure", "platforms")) or (
            there is not None and there != here and RANK[there] >= RANK[here]
        )
        assert broke, kind


def test_every_subpackage_says_what_it_is_for():
    for init in (ROOT / "tasks").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init.relative_to(ROOT)} needs a docstring"


def test_every_module_says_what_it_does_in_its_first_line():
    for path in sources():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{path.relative_to(ROOT)} has no module docstring"
