"""Dependencies point one way: calibration -> devices -> fouroptics; inside fouroptics, optics
and data import no learning, compiler or shell code. Every import is parsed, including those
inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL = ("fouroptics/cli.py", "fouroptics/commands/")


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (relative imports resolved against
    ``package``, by default the file's package under the repository root)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                names.add(node.module)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _violations(folder: str, forbidden: tuple[str, ...], skip=()) -> list[str]:
    bad = []
    for path in _files(folder):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(s) for s in skip):
            continue
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{rel} imports {name}")
    return bad


def test_fouroptics_imports_no_devices_or_calibration_except_the_shell() -> None:
    assert _violations("fouroptics", ("devices", "calibration"), skip=SHELL) == []


def test_devices_import_no_calibration() -> None:
    assert _violations("devices", ("calibration",)) == []


def test_optics_and_data_import_no_learning_compiler_or_shell() -> None:
    forbidden = ("fouroptics.nn", "fouroptics.compiler", "fouroptics.cli", "fouroptics.commands")
    forbidden += ("devices", "calibration", "torch.nn")
    assert _violations("fouroptics/optics", forbidden) == []
    assert _violations("fouroptics/data", forbidden[:4] + forbidden[4:6]) == []


def test_compiler_imports_only_optics_nn_io_and_plain_libraries() -> None:
    assert _violations("fouroptics/compiler", ("devices", "calibration", "fouroptics.cli")) == []
    assert _violations("fouroptics/compiler", ("fouroptics.commands",)) == []


def test_the_parser_sees_imports_inside_functions_and_relative_ones(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    import devices.interface.bench\n    from calibration import x\n"
        "    from ..compiler import bundle\n"
    )
    names = imported_modules(probe, package="fouroptics.optics")
    assert {"devices.interface.bench", "calibration", "fouroptics.compiler"} <= names


# -- the wings of devices/ ----------------------------------------------------------------------
def test_the_simulated_bench_imports_neither_the_run_path_nor_the_compiler() -> None:
    """The simulator computes its truth on its own path: nothing of the readout that later
    undoes it, nothing of the compiler's model of the SLM."""
    forbidden = ("devices.run", "fouroptics.compiler", "fouroptics.nn", "calibration")
    assert _violations("devices/simulated", forbidden) == []


def test_the_run_path_imports_no_simulated_device() -> None:
    assert _violations("devices/run", ("devices.simulated", "devices.hardware")) == []


def test_the_interface_imports_no_other_wing() -> None:
    forbidden = ("devices.simulated", "devices.run", "devices.config", "devices.hardware")
    assert _violations("devices/interface", forbidden) == []


def test_devices_import_no_training_code() -> None:
    """Only the metrics of fouroptics.nn (accuracy, mIoU) are shared with the run path."""
    bad = [
        v
        for v in _violations("devices", ("fouroptics.nn", "fouroptics.commands", "fouroptics.cli"))
        if not v.endswith(" imports fouroptics.nn.metrics")
    ]
    assert bad == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circle() -> None:
    """Between modules of fouroptics, devices and calibration, imports inside functions
    included (a package's __init__ re-exporting its own modules is not a circle)."""
    files = [p for top in ("fouroptics", "devices", "calibration") for p in _files(top)]
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imp in imported_modules(path):
            # ``from pkg import mod`` names a module too: take the longest known prefix
            while imp and imp not in modules:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and not name.startswith(imp + "."):
                deps.add(imp)
        graph[name] = deps
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if modules[dep].name == "__init__.py" and node.startswith(dep + "."):
                continue
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep) :] + [node, dep]))
            elif dep not in state:
                visit(dep, stack + [node] if dep not in stack else stack)
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == []


def _own_private_names(tree: ast.AST) -> set[str]:
    """Underscore names a module defines: ``self._x = ...``, methods ``def _x``, keyword
    arguments ``_x=`` (argparse defaults)."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own.add(node.name)
        elif isinstance(node, ast.keyword) and node.arg:
            own.add(node.arg)
    return {n for n in own if n.startswith("_")}


def test_no_object_reaches_into_another_modules_private_state() -> None:
    """``obj._x`` outside the module that defines ``_x`` (``self``/``cls`` aside), a private
    name imported from another module, or ``obj.__dict__["_x"]``."""
    bad = []
    for top in ("fouroptics", "devices", "calibration"):
        for path in _files(top):
            tree = ast.parse(path.read_text())
            own = _own_private_names(tree)
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute):
                    name = node.attr
                    if not name.startswith("_") or name.startswith("__") or name in own:
                        continue
                    base = node.value
                    if isinstance(base, ast.Name) and base.id in ("self", "cls", "np", "sys"):
                        continue
                    bad.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    if node.module.split(".")[0] in ("fouroptics", "devices", "calibration"):
                        for alias in node.names:
                            if alias.name.startswith("_") and not alias.name.startswith("__"):
                                bad.append(f"{rel}:{node.lineno} imports {alias.name}")
                elif isinstance(node, ast.Subscript):
                    v, key = node.value, node.slice
                    if (
                        isinstance(v, ast.Attribute)
                        and v.attr == "__dict__"
                        and isinstance(key, ast.Constant)
                        and str(key.value).startswith("_")
                    ):
                        bad.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert bad == []


def test_modules_stay_short_or_say_why() -> None:
    """No module over 500 lines (the run path grew in one file before); a longer one must say
    why at its top."""
    long = []
    for top in ("fouroptics", "devices", "calibration"):
        for path in _files(top):
            text = path.read_text()
            if text.count("\n") > 500 and "Longer than 500 lines because" not in text[:3000]:
                long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert long == []


#: a simulated device's hidden truth: the run path, calibration and the compiler never read it
HIDDEN = {"params", "truth", "truth_calibration", "imperfections"}


def hidden_reads(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in HIDDEN:
                found.append(f"{path.relative_to(folder)}:{node.lineno} .{node.attr}")
    return found


def test_the_run_path_and_calibration_never_read_the_hidden_truth(tmp_path) -> None:
    assert hidden_reads(ROOT / "devices" / "run") == []
    assert hidden_reads(ROOT / "calibration") == []
    assert hidden_reads(ROOT / "fouroptics" / "compiler") == []
    (tmp_path / "bad.py").write_text("def f(cam):\n    return cam.params.gain\n")
    assert hidden_reads(tmp_path) != []
