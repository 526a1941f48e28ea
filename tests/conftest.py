"""Shared test helpers: the finite-difference oracle and random inputs.

The oracle only ever evaluates the *function* (through an independent NumPy callable or the
reference evaluator of the original expression), never a derivative rule.
"""

from __future__ import annotations

import numpy as np
import pytest


def central_jacobian(fun, x, h=1e-6):
    """∂fun/∂x by central differences, shape fun(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(fun(x))
    out = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        out[(Ellipsis, *idx)] = (np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2 * h)
    return out


def central_hessian(fun, x, h=1e-4):
    """Second derivative by central differences of the function itself."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(fun(x))
    out = np.zeros(f0.shape + x.shape + x.shape)
    idxs = list(np.ndindex(*x.shape))
    for i in idxs:
        for j in idxs:
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                xx = x.copy()
                xx[i] += si * h
                xx[j] += sj * h
                vals.append(np.asarray(fun(xx)))
            out[(Ellipsis, *i, *j)] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    return out


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


def expr_fun(expr, values, name):
    """fun(x) = expr evaluated with ``values`` but ``name`` set to x (the reference evaluator)."""

    def fun(x):
        return expr.evaluate({**values, name: x})

    return fun


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def as_numpy(x):
    """A result of any backend (Dask, PyTorch, TensorFlow, JAX arrays) as a NumPy array."""
    if hasattr(x, "compute"):
        x = x.compute()
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


@pytest.fixture(scope="module")
def jax_x64():
    """JAX in float64 (as the other backends compute) for the module's tests."""
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)
