"""Run the docstring examples of every module of the installed package."""

from __future__ import annotations

import doctest
import importlib
import inspect
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


PUBLIC = sorted(
    n for n in tensorcalc.__all__
    if callable(getattr(tensorcalc, n)) and not inspect.ismodule(getattr(tensorcalc, n))
)  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_has_a_runnable_example(name):
    """Each public function and class of ``tensorcalc.__all__`` has a docstring with an example
    (``>>>``), and the example runs as a doctest under its public name."""
    obj = getattr(tensorcalc, name)
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"tensorcalc.{name} has no example in its docstring"
    if name == "plot":
        pytest.importorskip("matplotlib")
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(obj, f"tensorcalc.{name}", globs={})
    assert tests and sum(len(t.examples) for t in tests) > 0
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0
