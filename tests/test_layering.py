"""Imports point one way (DESIGN.md, "Layout"): checked on the source, by AST.

A module's layer is its first component under `firmware` (`firmware.dsp.dtmf` -> `dsp`).
The hardware libraries are imported only by the one module that owns each, and only
inside functions, so that the package imports on a laptop without PortAudio or a Pi.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "firmware"

# layer -> layers (or "layer.module" for a single module) it may import.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "dsp": {"errors"},
    "line": {"dsp", "errors"},
    "board": {"errors"},
    "settings": {"errors"},
    "store": {"errors"},
    "voicemail": {"dsp", "store", "settings", "errors"},
    "notify": {"store", "settings", "errors"},
    "ivr": {"dsp", "line.base", "settings", "store", "voicemail", "notify", "errors"},
    "web": {"ivr", "line.base", "line.sim", "dsp", "settings", "store", "voicemail",
            "notify", "errors"},
}
# Per-module extras that the table in DESIGN.md spells out in prose.
EXTRA: dict[str, set[str]] = {
    "line.fxo": {"board"},
}
# The composition root (appliance.py and restore_handoff.py, the part of it that hands a
# restore to the engine process) and the CLI may import everything.
UNRESTRICTED = {"appliance", "restore_handoff", "cli", "__main__", "__init__"}

HARDWARE_OWNERS = {
    "serial": "line.modem",
    "sounddevice": "line.audioport",
    "gpiozero": "board",
    "RPi": "board",
    "lgpio": "board",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) or "__init__"


def _package_of(path: Path) -> list[str]:
    """The package a file's relative imports resolve against, as parts under firmware."""
    return list(path.relative_to(ROOT).parent.parts)


def _imports(tree: ast.AST, package: list[str]) -> list[tuple[str, bool]]:
    """(imported dotted name, at module top level) for every import in the file.

    `from a.b import c` is reported as `a.b.c` (c may be a module or a name in a.b;
    the layer check only looks at the first two components under firmware).
    """
    found: list[tuple[str, bool]] = []
    top_level = {id(n) for n in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        top = id(node) in top_level
        if isinstance(node, ast.Import):
            found += [(a.name, top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against our package
                base = ["firmware", *package[: len(package) - node.level + 1]]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found += [(f"{name}.{a.name}", top) for a in node.names]
    return found


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layering_table(path: Path) -> None:
    module = _module_name(path)
    layer = module.split(".")[0]
    if layer in UNRESTRICTED:
        return
    assert layer in ALLOWED, f"{module}: layer '{layer}' is not in the layering table"
    allowed = ALLOWED[layer] | EXTRA.get(module, set()) | {layer}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name, _ in _imports(tree, _package_of(path)):
        if not name.startswith("firmware.") or name == "firmware":
            continue
        target = name.split(".")[1:]
        if len(target) == 1:  # `from firmware import __version__`
            continue
        ok = target[0] in allowed or ".".join(target[:2]) in allowed
        assert ok, f"{module} imports {name}, which layer '{layer}' may not import"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_hardware_libraries_are_imported_lazily_by_their_owner(path: Path) -> None:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name, top_level in _imports(tree, _package_of(path)):
        root = name.split(".")[0]
        if root in HARDWARE_OWNERS:
            assert module == HARDWARE_OWNERS[root], f"{module} imports {name}"
            assert not top_level, f"{module} imports {name} at import time, not lazily"


def test_importing_the_package_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, firmware, firmware.cli, firmware.line.base;"
        "heavy = {'serial', 'sounddevice', 'gpiozero', 'fastapi', 'soundfile'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
