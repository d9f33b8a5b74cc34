"""Dependencies point one way: the NumPy core never imports the CLI, Typer, Rich or matplotlib."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_core_imports_no_ui():
    code = (
        "import sys\n"
        "import lstmcli.engine.network, lstmcli.engine.training, lstmcli.forecasting.forecaster\n"
        "import lstmcli.forecasting.backtest, lstmcli.modelfile, lstmcli.data.loader\n"
        "print(sorted(m for m in ('typer', 'rich', 'matplotlib', 'lstmcli.cli') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_engine_imports_no_pandas():
    code = "import sys, lstmcli.engine.training; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


PACKAGE = REPO / "lstmcli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The lstmcli modules that ``module``'s source imports, wherever the import stands (inside
    functions too: a lazy import is still a dependency); only imports under ``if TYPE_CHECKING:`` are
    left out, since they never run."""
    tree = ast.parse(source)
    type_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for statement in branch.body
        for node in ast.walk(statement)
    }
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # ``from pkg import module`` names a module; else the name is in base
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {name for name in found if name in modules}


def test_no_two_modules_import_each_other_directly_or_in_a_circle():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {
        name: _imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", set(files))
        - {name}
        for name, path in files.items()
    }
    circles = []
    for start in graph:  # a depth-first search from every module for a path back to it
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles)))


def test_the_import_finder_sees_lazy_and_relative_imports_but_not_type_only_ones():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n    from lstmcli.pkg import c\n"
        "def f():\n    from lstmcli.pkg.d import thing\n    import lstmcli.e\n"
    )
    modules = {"lstmcli.pkg.b", "lstmcli.pkg.c", "lstmcli.pkg.d", "lstmcli.e"}
    found = _imports(source, "lstmcli.pkg.a", False, modules)
    assert found == {"lstmcli.pkg.b", "lstmcli.pkg.d", "lstmcli.e"}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_modules_stay_small_enough_to_read():
    """The sizes issue #18 set: a newcomer reads the engine in an hour."""
    sizes = {str(p.relative_to(REPO)): _lines(p) for p in PACKAGE.rglob("*.py")}
    assert not {name: n for name, n in sizes.items() if n > 600}, "files over 600 lines"
    assert sum(n for name, n in sizes.items() if name.startswith("lstmcli/engine/")) <= 1500
    assert sizes["lstmcli/forecasting/forecaster.py"] <= 450
