"""The layout: no import cycle, the library never imports salt.commands, the pure layer is pure.

The import graph is read from the source with :mod:`ast` (every ``import`` and
``from ... import`` of a ``salt`` module, at any depth, including those inside
functions), so a cycle hidden in a lazy import is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import salt

ROOT = Path(salt.__file__).parent
#: Modules of the pure layer: numpy and pandas only (no torch, OpenCV or files).
PURE = ("salt.views", "salt.scoring", "salt.results", "salt.classmap", "salt.errors")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The salt modules a file imports (``from salt.x import y``: ``salt.x.y`` if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        deps = _imports(path, modules)
        # importing a.b.c runs a/b/__init__ first: an edge, unless the importer is inside a.b
        # (a package's own modules run after its __init__ has started, which is no cycle)
        parents = {".".join(d.split(".")[:i]) for d in deps for i in range(2, d.count(".") + 1)}
        deps |= {q for q in parents if not name.startswith(q + ".")}
        graph[name] = {d for d in deps if d in modules and d != name and d != "salt"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_the_layers() -> None:
    graph = _graph()
    assert "salt.inference.pipeline" in graph["salt.inference.cluster"]
    assert "salt.classmap" in graph["salt.inference.measure"]


def test_no_import_cycle() -> None:
    assert _cycle(_graph()) is None


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_library_never_imports_the_commands() -> None:
    graph = _graph()
    offenders = {
        m: sorted(d for d in deps if d.startswith("salt.commands"))
        for m, deps in graph.items()
        if not m.startswith("salt.commands") and m != "salt.cli"
    }
    assert {m: d for m, d in offenders.items() if d} == {}


def test_the_cluster_runner_uses_no_private_name_of_another_module() -> None:
    tree = ast.parse((ROOT / "inference" / "cluster.py").read_text(encoding="utf-8"))
    private = [
        f"{n.module}.{a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("salt")
        for a in n.names
        if a.name.startswith("_")
    ]
    assert private == []


def test_the_pure_layer_imports_no_torch_cv2_or_io() -> None:
    for name in PURE:
        path = ROOT / (name.split(".", 1)[1].replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        } | {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not imported & {"torch", "cv2", "os", "pathlib"}, (name, imported)
        deps = _graph()[name]
        assert all(d in PURE for d in deps), (name, deps)


#: Size limits of the layout: a module this long, or a function with this many lines of
#: code (docstring, comments and blank lines not counted), is split, unless the function
#: states why not in a comment starting with ``# long:``.
MODULE_LINES = 600
FUNCTION_CODE_LINES = 80


def _code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    skip: set[int] = set()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        skip = set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    count = 0
    for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        text = lines[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


def _long_functions(source: str) -> list[tuple[str, int]]:
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = lines[node.lineno - 1 : node.end_lineno]
            stated = any(line.strip().startswith("# long:") for line in body)
            if _code_lines(lines, node) > FUNCTION_CODE_LINES and not stated:
                found.append((node.name, node.lineno))
    return found


def test_no_module_is_too_long() -> None:
    long = {
        _module_name(p): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert not long, f"modules over {MODULE_LINES} lines: {long}"


def test_no_function_is_too_long_without_a_reason() -> None:
    long = {
        f"{_module_name(p)}:{line} {name}"
        for p in ROOT.rglob("*.py")
        for name, line in _long_functions(p.read_text(encoding="utf-8"))
    }
    assert not long, f"functions over {FUNCTION_CODE_LINES} lines of code: {sorted(long)}"


def test_the_length_check_counts_code_not_docstrings() -> None:
    doc = '    """' + "\n".join(["doc"] * 100) + '"""\n'
    code = "".join(f"    x{i} = {i}\n" for i in range(81))
    assert _long_functions("def f():\n" + doc + "    return 1\n") == []
    assert _long_functions("def f():\n" + code) == [("f", 1)]
    assert _long_functions("def f():\n    # long: one table, clearer whole\n" + code) == []
