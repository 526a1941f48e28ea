"""Orders 0, 1 and 2 of an expression against an independent NumPy/SciPy oracle of its value:
the value itself, and central differences of the oracle for the first and second derivatives,
in ``evaluate`` and in a compiled backend (shared by the new-operation test tables)."""

from __future__ import annotations

import pytest

import tensorcalc as tc
from conftest import assert_close, central_hessian, central_jacobian
from test_codegen import to_backend, to_numpy


def oracle_fun(oracle, vals, wrt):
    """The oracle as a function of ``wrt`` alone, the other values fixed."""
    return lambda x: oracle({**vals, wrt: x})


def check_evaluate(f, wrt, vals, oracle):
    """f, ∂f and ∂²f from ``evaluate`` against the oracle and its central differences."""
    assert_close(f.evaluate(vals), oracle(vals), rtol=1e-12, atol=1e-12)
    fun = oracle_fun(oracle, vals, wrt)
    assert_close(tc.derivative(f, wrt).evaluate(vals), central_jacobian(fun, vals[wrt]))
    d2 = tc.derivative(f, wrt, order=2)
    assert_close(d2.evaluate(vals), central_hessian(fun, vals[wrt]), rtol=1e-4, atol=1e-5)


def check_backend(backend, f, wrt, vals, oracle):
    """f, ∂f and ∂²f compiled for ``backend`` against the oracle and its central differences."""
    outs = [f, tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)]
    if backend == "tensorflow" and outs[2].ndim > 8:
        pytest.skip("TensorFlow's where broadcasts up to rank 8 (it raises above; a known limit)")
    fn = tc.compile(outs, backend)
    got = fn(**{k: to_backend(backend, v) for k, v in vals.items() if k in fn.names})
    fun = oracle_fun(oracle, vals, wrt)
    want = [oracle(vals), central_jacobian(fun, vals[wrt]), central_hessian(fun, vals[wrt])]
    for g, w, tol in zip(got, want, (1e-10, 1e-5, 1e-4)):
        assert_close(to_numpy(g), w, rtol=tol, atol=tol)
