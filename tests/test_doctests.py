"""Run the docstring examples of every module of the installed package."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tensorcalc

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(tensorcalc.__path__, "tensorcalc.")
    if m.name != "tensorcalc.__main__"
)


NEEDS = {"tensorcalc.analysis.plot": "matplotlib"}  # modules whose examples need an extra
NEEDS.update({"tensorcalc.web.app": "starlette", "tensorcalc.web.server": "starlette"})
NEEDS["tensorcalc.frameworks"] = ("jax", "torch", "tensorflow")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in NEEDS:
        needs = NEEDS[name]
        for module in (needs,) if isinstance(needs, str) else needs:
            pytest.importorskip(module)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
