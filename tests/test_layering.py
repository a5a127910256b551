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
