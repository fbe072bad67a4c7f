"""The pure core's modules import one another without a cycle, type-only imports included."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"


def rules_imports() -> dict[str, set[str]]:
    """Module name -> the rules modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(RULES.glob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rules."):
                imported.add(str(node.module).removeprefix("rules."))
            elif isinstance(node, ast.Import):
                imported.update(
                    a.name.removeprefix("rules.") for a in node.names if a.name.startswith("rules.")
                )
        graph[path.stem] = imported
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, path = stack.pop()
        for target in sorted(graph.get(module, ())):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_rules_modules_import_each_other_without_a_cycle() -> None:
    graph = rules_imports()

    assert "engine" in graph
    assert "changes" in graph["engine"]
    assert {m: c for m in graph if (c := cycle_through(graph, m)) is not None} == {}
