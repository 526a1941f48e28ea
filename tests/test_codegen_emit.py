"""Each node of the generated function is computed once (``codegen/emit.py``): an output that
other outputs also read is a temporary, and an output asked for twice (a plain one, or one
summed in place block by block) is computed once and returned again as a copy, never as an
alias of the first."""

from __future__ import annotations

import ast
import importlib.util
import re

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy
from tensorcalc.codegen import BACKENDS

INSTALLED = [
    pytest.param(
        name, marks=pytest.mark.skipif(
            importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"
        ),
    )
    for name, b in BACKENDS.items()
    if name != "mxnet"
]  # fmt: skip

pytestmark = pytest.mark.usefixtures("jax_x64")


def _code(src: str) -> str:
    """The function's statements (its docstring shows the formulas)."""
    return src.rsplit('"""', 1)[1]


def _run_source(src, vals):
    namespace: dict = {}
    exec(compile(src, "<generated>", "exec"), namespace)  # our own generated module
    return namespace["f"](**vals)


@pytest.mark.parametrize("backend", INSTALLED)
def test_an_output_that_other_outputs_read_is_computed_once(backend, rng):
    f = tc.parse("sum(exp(x))", {"x": ("n",)})
    outs = [tc.parse("exp(x)", {"x": ("n",)}), f, tc.derivative(f, "x")]  # exp(x) three times
    code = _code(tc.codegen(outs, backend))
    assert code.count("exp(") == 1, code
    x = rng.normal(size=4)
    got = [as_numpy(g) for g in tc.compile(outs, backend)(x=x)]
    for g, o in zip(got, outs):
        np.testing.assert_allclose(g, o.evaluate(x=x), rtol=1e-12)
    if backend in ("numpy", "torch", "dask"):  # arrays that can be written to: not aliases
        assert not np.shares_memory(got[0], got[2])


def test_the_same_output_twice_is_computed_once_and_copied(rng):
    f = tc.parse("sin(A) @ B", {"A": ("n", "n"), "B": ("n", "n")})
    code = _code(tc.codegen([f, f]))
    assert code.count("np.sin(") == 1 and code.count("@") == 1 and ".copy()" in code
    vals = {"A": rng.normal(size=(3, 3)), "B": rng.normal(size=(3, 3))}
    a, b = tc.compile([f, f])(**vals)
    np.testing.assert_allclose(a, f.evaluate(vals), rtol=1e-12)
    assert np.array_equal(a, b) and not np.shares_memory(a, b)


def test_a_result_summed_in_place_twice_has_one_accumulator(rng):
    f = tc.parse(
        "norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
    )
    hess = tc.derivative(f, "W1", order=2)
    dims = {"h": 20, "d": 30, "o": 10, "N": 1000}
    once = _code(tc.codegen(hess, "numpy", dims=dims))
    twice = _code(tc.codegen([hess, hess], "numpy", dims=dims))
    assert "for i in range(" in once  # blocked, summed in place
    assert once.count("np.zeros(") == twice.count("np.zeros(") == 1
    assert twice.count("for ") == once.count("for ") and twice.count("+=") == once.count("+=")
    vals = {
        "W1": rng.normal(size=(7, 17)) / 3,
        "W2": rng.normal(size=(2, 7)),
        "X": rng.normal(size=(17, 5)),
        "T": rng.normal(size=(2, 5)),
    }
    a, b = _run_source(tc.codegen([hess, hess], "numpy", dims=dims), vals)
    np.testing.assert_allclose(a, hess.evaluate(vals), rtol=1e-10, atol=1e-10)
    assert np.array_equal(a, b) and not np.shares_memory(a, b)


def _unread_temporaries(src: str) -> set:
    tree = ast.parse(src)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
    names = [n for n in ast.walk(fn) if isinstance(n, ast.Name)]
    stored = {n.id for n in names if isinstance(n.ctx, ast.Store) and re.fullmatch(r"t\d+", n.id)}
    return stored - {n.id for n in names if isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize(
    "text,shapes,wrt",
    [
        ("sqrt(sin(x - x[::-1]))", {"x": (3,)}, "x"),
        ("x' @ A[::-1, ::-1] @ x", {"x": (3,), "A": (3, 3)}, "x"),
        ("norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": ("h", "d"), "W2": ("o", "h")}, "W1"),
        ("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")}, "w"),
    ],
)
@pytest.mark.parametrize("backend", ["numpy", "torch", "tensorflow", "dask"])
def test_every_temporary_is_read(backend, text, shapes, wrt):
    # a scaled product printed its shared core's operands again: t1 = cos(t0) / sqrt(sin(t0))
    # was computed, then written out twice more where 0.5 * t1 and -0.5 * t1 were needed
    f = tc.parse(text, shapes)
    outs = [f, tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)]
    assert not _unread_temporaries(tc.codegen(outs, backend))
    assert not _unread_temporaries(tc.codegen(outs[1], backend))
