"""The core never imports Qt (DESIGN.md's one rule)."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "playground" / "core"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")


def test_no_core_module_imports_qt_in_source():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in QT_MODULES]
    assert not offenders, offenders
    assert len(list(CORE.rglob("*.py"))) > 10  # the scan really looked at the core


def test_importing_every_core_module_loads_no_qt():
    modules = sorted(
        "playground.core." + ".".join(p.relative_to(CORE).with_suffix("").parts).removesuffix(".__init__")
        for p in CORE.rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.rstrip('.'))\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _names_of_modules(path: Path) -> list[str]:
    """Every module a core file imports, absolute (relative imports resolved) or named in a string."""
    package = ["playground", "core", *path.relative_to(CORE).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names += [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("playground."):
            names.append(node.value)  # a module started by name, e.g. a helper process
    return names


def test_no_core_module_names_an_app_module():
    offenders = [f"{path.relative_to(CORE)}: {name}" for path in CORE.rglob("*.py")
                 for name in _names_of_modules(path)
                 if name == "playground.app" or name.startswith("playground.app.")]
    assert not offenders, offenders


def test_the_check_for_app_modules_sees_relative_imports_and_names_in_strings(tmp_path, monkeypatch):
    fake = tmp_path / "playground" / "core" / "run"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text('from ...app.training import worker\nMODULE = "playground.app.training.x"\n')
    monkeypatch.setattr(sys.modules[__name__], "CORE", tmp_path / "playground" / "core")
    names = _names_of_modules(fake / "bad.py")
    assert "playground.app.training" in names and "playground.app.training.x" in names
