"""The layout holds: imports flow one way between top-level folders, nodes are module-level, functions short.

Imports are read with `ast` from every module of the service (function-level lazy imports and
`TYPE_CHECKING` blocks included), so a layer cannot reach upward by importing late. The rule is the
one docs/ARCHITECTURE.md states.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each top-level folder may import besides itself. cli/ reaches everything; tests/ and
# benchmarks/ are not checked. Two sideways reads: retrievers -> tools (query expansion takes the
# French of an English question's GMP terms from the glossary tool) and retrievers -> prompts (query
# rewriting and model reranking keep their prompt text in prompts/, like every prompt).
BELOW_AGENTS = {"relais", "prompts", "tools", "retrievers"}
ALLOWED: dict[str, set[str]] = {
    "relais": set(),
    "prompts": set(),
    "tools": {"relais"},
    "retrievers": {"relais", "tools", "prompts"},
    "agents": BELOW_AGENTS,
    "graphs": BELOW_AGENTS | {"agents"},
    "server": BELOW_AGENTS | {"agents", "graphs"},
    "evaluation": BELOW_AGENTS | {"agents", "graphs"},
    "cli": BELOW_AGENTS | {"agents", "graphs", "server", "evaluation"},
}
UNCHECKED = {"tests", "benchmarks"}
MAX_FUNCTION_LINES = 60  # the style asks for about 50; past 60 a function does several jobs
NODE_FOLDERS = ("agents", "graphs")


@dataclass(frozen=True)
class Import:
    """One import statement of a project module."""

    path: Path
    line: int
    module: str

    @property
    def folder(self) -> str:
        return self.module.split(".")[0]


def project_folders() -> set[str]:
    """Top-level packages of the repository (folders holding an __init__.py)."""
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - UNCHECKED


def service_modules() -> Iterator[Path]:
    for folder in sorted(project_folders()):
        yield from sorted((ROOT / folder).rglob("*.py"))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_of(path: Path) -> Iterator[Import]:
    """Every absolute import in the module, at any depth (relative imports stay inside their folder)."""
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            yield from (Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(path, node.lineno, node.module)


def folder_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def test_every_top_level_folder_has_a_place_in_the_layers():
    assert project_folders() == set(ALLOWED), "add the new folder to ALLOWED and to docs/ARCHITECTURE.md"


def test_the_allowed_directions_have_no_cycle():
    graphlib.TopologicalSorter(ALLOWED).prepare()  # raises CycleError naming the cycle


def test_no_module_imports_a_layer_above_its_own():
    folders = project_folders() | UNCHECKED
    upward = [f"{item.path.relative_to(ROOT)}:{item.line} imports {item.module} "
              f"({folder_of(item.path)}/ may import only {sorted(ALLOWED[folder_of(item.path)])})"
              for path in service_modules() for item in imports_of(path)
              if item.folder in folders and item.folder != folder_of(path)
              and item.folder not in ALLOWED[folder_of(path)]]
    assert not upward, "\n".join(upward)


def test_the_imports_between_folders_have_no_cycle():
    folders = project_folders() | UNCHECKED
    seen: dict[str, set[str]] = {folder: set() for folder in project_folders()}
    for path in service_modules():
        seen[folder_of(path)] |= {item.folder for item in imports_of(path)
                                  if item.folder in folders and item.folder != folder_of(path)}
    graphlib.TopologicalSorter(seen).prepare()


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "lazy.py"
    module.write_text("def late():\n    from server.app import create_app\n    import graphs.supervisor\n")
    assert [item.module for item in imports_of(module)] == ["server.app", "graphs.supervisor"]


def long_functions(path: Path, limit: int) -> Iterator[str]:
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                yield f"{shown(path)}:{node.lineno} {node.name}() is {length} lines"


def test_no_function_is_longer_than_the_limit():
    found = [line for path in service_modules() for line in long_functions(path, MAX_FUNCTION_LINES)]
    assert not found, "split these functions:\n" + "\n".join(found)


def test_the_length_check_measures_whole_functions(tmp_path):
    module = tmp_path / "long.py"
    module.write_text("def long():\n" + "    x = 1\n" * 70 + "\n\ndef short():\n    return 1\n")
    assert [line.split()[1] for line in long_functions(module, MAX_FUNCTION_LINES)] == ["long()"]


def nested_functions_in_builders(path: Path) -> Iterator[str]:
    """Functions defined inside a graph builder: a closure node cannot be called or tested alone."""
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("build_"):
            for inner in ast.walk(node):
                if inner is not node and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    yield f"{shown(path)}:{inner.lineno} inside {node.name}()"


@pytest.mark.parametrize("folder", NODE_FOLDERS)
def test_graph_nodes_are_module_level_functions(folder):
    found = [line for path in sorted((ROOT / folder).rglob("*.py")) for line in nested_functions_in_builders(path)]
    assert not found, "make these module-level functions taking the spec first:\n" + "\n".join(found)


def test_every_spec_names_its_graph_builder_in_the_agents_layer():
    from agents import all_specs

    for spec in all_specs():
        assert callable(spec.graph), spec.label
        assert spec.graph.__module__.startswith("agents."), (spec.label, spec.graph.__module__)
