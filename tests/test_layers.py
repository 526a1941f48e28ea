"""Lower layers never import higher ones (the house layering)."""

from __future__ import annotations

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "tensorcalc"

LAYER = {
    "errors": 0, "kernels": 0, "ops": 0, "shapes": 0, "expr": 0, "build": 0,
    "parse": 1, "sugar": 1, "numpy": 1,
    "diff": 2, "simplify": 2,
    "printing": 3, "explain": 3, "codegen": 3,
    "numeric": 4, "analysis": 4,
    "api": 5, "frameworks": 5, "transforms": 5, "cli": 5, "web": 5, "__init__": 5, "__main__": 5,
}  # fmt: skip


def top(module_path: pathlib.Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imported_tops(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    pkg = path.relative_to(SRC).parts[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(pkg[: len(pkg) - node.level + 1])
            parts = base + (node.module.split(".") if node.module else [])
            if parts:
                out.add(parts[0])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tensorcalc."):
            out.add(node.module.split(".")[1])
    return out


FILES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_imports(path):
    mine = LAYER[top(path)]
    for name in imported_tops(path):
        assert LAYER[name] <= mine, (
            f"{path.relative_to(SRC)} (layer {mine}) imports {name} (layer {LAYER[name]})"
        )


def test_every_module_has_a_layer():
    assert {top(p) for p in FILES} <= set(LAYER)
