"""No result is an input or another result: writing into what ``evaluate`` or a compiled
function returned never changes an input or another output, in every backend.

An output that is an input (``x``, the gradient ``a`` of ``a' @ x``), a view of one (``A'``,
``diag(A)``, ``x[1:3]``) or the same array as another output (``[exp(x), exp(x)]``) is
returned as a copy (the backends' ``copy`` entry; ``kernels.fresh`` for ``evaluate``); JAX and
TensorFlow arrays cannot be written, so they are returned as they are.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy
from tensorcalc.codegen import BACKENDS as TABLES

VEC, MAT, FIVE = {"x": ("n",), "a": ("n",)}, {"A": ("n", "n"), "x": ("n",)}, {"x": (5,)}


def _a_x():
    f = tc.parse("a' @ x", VEC)
    return [f, tc.derivative(f, "x"), tc.derivative(f, "a")]  # the gradients are a and x


# (outputs, shapes) whose results would alias an input or each other
CASES = [
    (["x"], VEC),
    (["x", "x"], VEC),
    (["x", "exp(x)", "exp(x)"], VEC),
    (["A'", "A", "diag(A)"], MAT),
    (["x[1:3]", "x[::-1]", "x"], FIVE),
    (_a_x(), VEC),
    ([tc.derivative(tc.parse("A @ x", MAT), "x"), tc.parse("A @ x", MAT)], MAT),
]


def _torch_zero(a):
    a.zero_()


def _setitem_zero(a):
    if isinstance(a, np.ndarray):  # a NumPy scalar (np.float64) cannot be written
        a[...] = 0.0


def _dask_zero(a):
    if a.ndim:
        a[:] = 0.0


def _from(module, name):
    def convert(a):
        return getattr(importlib.import_module(module), name)(a)

    return convert


# backend -> (its array from a NumPy one, write zeros into a result in place: None where the
# library's arrays cannot be written)
BACKENDS = {
    "numpy": (np.asarray, _setitem_zero),
    "torch": (_from("torch", "tensor"), _torch_zero),
    "dask": (_from("dask.array", "from_array"), _dask_zero),
    "jax": (_from("jax.numpy", "asarray"), None),
    "tensorflow": (_from("tensorflow", "constant"), None),
}
MODULE = {
    "numpy": "numpy",
    "torch": "torch",
    "dask": "dask",
    "jax": "jax",
    "tensorflow": "tensorflow",
}


def _exprs(outputs, shapes):
    return [o if isinstance(o, tc.Expr) else tc.parse(o, shapes) for o in outputs]


def _values(exprs, rng):
    found = {}
    for e in exprs:
        found.update(tc.expr.variables(e))
    return {k: rng.normal(size=tuple(3 if isinstance(d, str) else d for d in v.shape))
            for k, v in found.items()}  # fmt: skip


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("outputs,shapes", CASES, ids=lambda c: str(c)[:40])
def test_writing_a_result_changes_no_input_and_no_other_result(
    backend, outputs, shapes, rng, jax_x64
):
    if importlib.util.find_spec(MODULE[backend]) is None:
        pytest.skip(f"{backend} is not installed")
    convert, write = BACKENDS[backend]
    exprs = _exprs(outputs, shapes)
    values = _values(exprs, rng)
    inputs = {k: convert(v.copy()) for k, v in values.items()}
    results = tc.compile(exprs, backend)(**inputs)
    want = [e.evaluate(values) for e in exprs]
    for got, w in zip(results, want):
        np.testing.assert_allclose(as_numpy(got), w, rtol=1e-12)
    if write is None:
        return
    for k, r in enumerate(results):
        write(r)
        for name, v in inputs.items():
            np.testing.assert_array_equal(as_numpy(v), values[name], err_msg=f"input {name}")
        for j, other in enumerate(results[k + 1 :], start=k + 1):
            np.testing.assert_allclose(as_numpy(other), want[j], rtol=1e-12, err_msg=f"{j}")


@pytest.mark.parametrize("outputs,shapes", CASES, ids=lambda c: str(c)[:40])
def test_writing_an_evaluated_result_changes_no_input(outputs, shapes, rng):
    for e in _exprs(outputs, shapes):
        values = _values([e], rng)
        given = {k: v.copy() for k, v in values.items()}
        out = e.evaluate(given)
        out[...] = 0.0
        for name, v in given.items():
            np.testing.assert_array_equal(v, values[name], err_msg=f"{e}: input {name}")


def test_every_backend_table_copies():
    assert all("copy" in b.funcs for b in TABLES.values())
