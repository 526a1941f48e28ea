"""Reductions over several axes and norms along axes: ``softmax(Z, (0, 1))``,
``logsumexp(Z, (0, 2))``, ``sum``/``mean`` over tuples, ``norm(X, axis)`` and p-norms
``norm(x, ord=p)``, against central differences of NumPy/SciPy at orders 1 and 2, in the
evaluator and every installed backend."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_hessian, central_jacobian
from orders import check_backend
from test_codegen import BACKEND_PARAMS

special = pytest.importorskip("scipy.special")

SH = {"Z": (2, 3, 2), "W": (2, 3, 2), "X": (3, 4), "x": (4,)}


def _values(rng):
    return {k: rng.normal(size=v) for k, v in SH.items()}


CASES = [
    ("sum(softmax(Z, (0, 1)) * W)", "Z",
     lambda v: np.sum(special.softmax(v["Z"], axis=(0, 1)) * v["W"])),
    ("softmax(Z, (2, 0))", "Z", lambda v: special.softmax(v["Z"], axis=(0, 2))),
    ("logsumexp(Z, (0, 2))", "Z", lambda v: special.logsumexp(v["Z"], axis=(0, 2))),
    ("logsumexp(Z, (-1, 0)) * sum(logsumexp(Z, 1))", "Z",
     lambda v: special.logsumexp(v["Z"], axis=(0, 2)) * np.sum(special.logsumexp(v["Z"], axis=1))),
    ("mean(Z, (0, 2)) + sum(Z, (0, 2))", "Z", lambda v: 1.25 * v["Z"].sum(axis=(0, 2))),
    ("norm(X, 1)", "X", lambda v: np.linalg.norm(v["X"], axis=1)),
    ("norm(X, axis=0) * norm(X, axis=-1)[0]", "X",
     lambda v: np.linalg.norm(v["X"], axis=0) * np.linalg.norm(v["X"], axis=1)[0]),
    ("norm(x, ord=3)", "x", lambda v: np.linalg.norm(v["x"], 3)),
    ("norm(x, ord=1.5) * norm(x, ord=1)", "x",
     lambda v: np.linalg.norm(v["x"], 1.5) * np.linalg.norm(v["x"], 1)),
]  # fmt: skip
IDS = [f"{t} wrt {w}" for t, w, _ in CASES]


def _fun(oracle, vals, wrt):
    return lambda x: oracle({**vals, wrt: x})


@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_value_and_derivatives_against_scipy(text, wrt, oracle):
    vals = _values(np.random.default_rng(3))
    f = tc.parse(text, SH)
    assert_close(f.evaluate(vals), oracle(vals), rtol=1e-12, atol=1e-12)
    assert tc.parse(str(f), SH) is f  # the printed form reads back
    fun = _fun(oracle, vals, wrt)
    assert_close(tc.derivative(f, wrt).evaluate(vals), central_jacobian(fun, vals[wrt]))
    h = tc.derivative(f, wrt, order=2).evaluate(vals)
    assert_close(h, central_hessian(fun, vals[wrt]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_every_backend(backend, text, wrt, oracle):
    vals = _values(np.random.default_rng(4))
    f = tc.parse(text, SH)
    check_backend(backend, f, wrt, vals, oracle)


@pytest.mark.parametrize(
    "text,message",
    [
        ("norm(x, 1)", "out of range"),
        ("norm(x, ord=0.5)", "p >= 1"),
        ("norm(X, 0, 1)", r"norm\(\) takes"),
        ("softmax(Z, (0, 0))", "repeated axis"),
        ("logsumexp(Z, (0, 3))", "out of range"),
        ("softmax(Z, (0, q))", "whole number"),
    ],
)
def test_bad_axes_are_clear_errors(text, message):
    with pytest.raises(tc.TensorCalcError, match=message):
        tc.parse(text, {**SH, "q": ()})


def test_softmax_over_all_axes_is_the_plain_softmax():
    assert tc.parse("softmax(Z, (0, 1, 2))", SH) is tc.parse("softmax(Z)", SH)
    assert tc.parse("norm(X, (0, 1))", SH) is tc.parse("norm(X)", SH)


@pytest.mark.parametrize(
    "text,wrt",
    [("sum(softmax(Z, (0, 1)) * W)", "Z"), ("sum(logsumexp(Z, (0, 2)))", "Z"),
     ("sum(transpose(Z, (0, 2, 1)) * transpose(W, (0, 2, 1)))", "Z")],
)  # fmt: skip
def test_explanations_show_tuple_axes(text, wrt):
    e = tc.explain(text, wrt, shapes=SH, verify=True)  # every step checked numerically
    assert e.result is tc.derivative(text, wrt, shapes=SH)
