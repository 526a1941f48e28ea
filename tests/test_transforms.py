"""JAX-style transformations of Python functions (tc.grad & co.) and tensorcalc.numpy."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcalc as tc
import tensorcalc.numpy as tnp
from conftest import assert_close, central_hessian, central_jacobian

# -- seed examples -------------------------------------------------------------------------------


def backprop(w, x, y, z):
    a = (w + x + y + z) ** 2
    b = (w + x - y - z) ** 2
    u = (a + b) ** 2
    v = (a - b) ** 2
    return (u + v) ** 2


def test_seed_28_backpropagation():
    value, grads = tc.value_and_grad(backprop, argnums=(0, 1, 2, 3))(-1.0, 0.0, -2.0, 1.0)
    assert float(value) == 1024.0
    assert [float(g) for g in grads] == [-4096.0] * 4
    assert isinstance(grads, tuple) and len(grads) == 4
    assert float(tc.grad(backprop)(-1.0, 0.0, -2.0, 1.0)) == -4096.0


def test_seed_11_gradient():
    f = lambda x1, x2: x1**2 * x2 + x1 * x2**3  # noqa: E731
    g1, g2 = tc.grad(f, argnums=(0, 1))(0.8, -1.7)
    assert float(g1) == pytest.approx(2 * 0.8 * -1.7 + (-1.7) ** 3)
    assert float(g2) == pytest.approx(0.8**2 + 3 * 0.8 * 1.7**2)


def test_seed_13_chain_rule():
    def h(t):
        x1, x2 = tnp.sin(t), tnp.exp(2 * t)
        return x1**2 * x2 + 3 * x1 + 6 * x2

    for t in (-0.5, 0.3, 1.2):
        x1, x2 = np.sin(t), np.exp(2 * t)
        assert float(tc.grad(h)(t)) == pytest.approx(
            (2 * x1 * x2 + 3) * np.cos(t) + (x1**2 + 6) * 2 * np.exp(2 * t)
        )


def test_seed_15_chain_rule_with_vector_inside():
    def h(t):
        x = tnp.cos(t) * t, tnp.sin(t) * t
        return tnp.exp(x[0] * x[1] ** 2)

    for t in (0.4, 1.1):
        x1, x2 = t * np.cos(t), t * np.sin(t)
        expected = np.exp(x1 * x2**2) * (
            x2**2 * (np.cos(t) - t * np.sin(t)) + 2 * x1 * x2 * (np.sin(t) + t * np.cos(t))
        )
        assert float(tc.grad(h)(t)) == pytest.approx(expected)


# -- conventions ----------------------------------------------------------------------------------


def quad(x, A):
    return x @ A @ x


def test_argnums_and_output_structure(rng):
    x, A = rng.normal(size=3), rng.normal(size=(3, 3))
    gx = tc.grad(quad)(x, A)
    assert gx.shape == (3,)
    assert_close(gx, (A + A.T) @ x)
    gx2, gA = tc.grad(quad, argnums=(0, 1))(x, A)
    assert_close(gA, np.outer(x, x))
    H = tc.hessian(quad)(x, A)
    assert_close(H, A + A.T)
    Hs = tc.hessian(quad, argnums=(0, 1))(x, A)
    assert len(Hs) == 2 and len(Hs[0]) == 2
    assert Hs[0][1].shape == (3, 3, 3)
    J = tc.jacobian(lambda x, A: A @ tnp.tanh(x))(x, A)
    assert_close(J, A * (1 - np.tanh(x) ** 2)[None, :])


def test_formula_and_names():
    f = tc.formula(quad, np.ones(3), np.eye(3))
    assert str(f) == "x' @ A @ x"
    assert str(tc.grad(quad).formula(np.ones(3), np.eye(3))) == "(A + A') @ x"
    assert tc.grad(quad).formula(np.ones(3), np.eye(3)).latex() == r"\left(A + A^\top\right) x"


def test_jvp_and_vjp(rng):
    f = lambda x, A: A @ tnp.sin(x)  # noqa: E731
    x, A = rng.normal(size=3), rng.normal(size=(2, 3))
    tx, tA = rng.normal(size=3), rng.normal(size=(2, 3))
    value, tangent = tc.jvp(f, (x, A), (tx, tA))
    assert_close(value, A @ np.sin(x))
    assert_close(tangent, A @ (np.cos(x) * tx) + tA @ np.sin(x))
    value, vjp_fn = tc.vjp(f, x, A)
    ct = rng.normal(size=2)
    gx, gA = vjp_fn(ct)
    assert_close(gx, (ct @ A) * np.cos(x))
    assert_close(gA, np.outer(ct, np.sin(x)))


def test_cache_per_signature():
    calls = []

    def f(x):
        calls.append(1)
        return tnp.sum(x**2)

    g = tc.grad(f)
    g(np.ones(3))
    g(np.arange(3.0))
    assert len(calls) == 1
    g(np.ones(4))
    assert len(calls) == 2
    assert_close(g(np.arange(4.0)), 2 * np.arange(4.0))


def test_indexing_and_numpy_functions_inside(rng):
    f = lambda x: x[0] * x[1] + np.sum(np.sin(x[1:])) + tnp.linalg.norm(x) ** 2  # noqa: E731
    x = rng.normal(size=4)
    expected = central_jacobian(lambda v: v[0] * v[1] + np.sum(np.sin(v[1:])) + np.sum(v**2), x)
    assert_close(tc.grad(f)(x), expected)


# -- what cannot be traced ------------------------------------------------------------------------


def test_branching_is_an_error():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(tc.TracingError, match="branch"):
        tc.grad(f)(1.0)

    def g(x):
        if x:
            return x
        return x

    with pytest.raises(tc.TracingError, match="truth value"):
        tc.grad(g)(1.0)


def test_conversion_and_unsupported_functions_are_errors():
    with pytest.raises(tc.TracingError, match="float"):
        tc.grad(lambda x: float(x) * 2)(1.0)
    with pytest.raises(tc.TracingError, match="numpy.cosh.*tensorcalc.numpy"):
        tc.grad(lambda x: np.sum(np.cosh(x)))(np.ones(2))
    with pytest.raises(tc.TracingError, match="scalar"):
        tc.grad(lambda x: x * 2)(np.ones(2))
    with pytest.raises(tc.TracingError, match="constant"):
        tc.grad(lambda x: 3.0)(1.0)


# -- property: random functions of the namespace against finite differences ------------------------

UNARY = [
    tnp.sin,
    tnp.cos,
    tnp.tanh,
    tnp.exp,
    tnp.sigmoid,
    tnp.softplus,
    tnp.arctan,
    lambda v: v * v,
]


@st.composite
def programs(draw):
    """A random f(x, A) built from tnp, as a list of steps applied to a vector state."""
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, len(UNARY) - 1)), min_size=1, max_size=5
        )
    )
    final = draw(st.sampled_from(["sum", "logsumexp", "norm", "quad"]))

    def f(x, A):
        h = x
        for kind, u in steps:
            if kind == 0:
                h = UNARY[u](h)
            elif kind == 1:
                h = tnp.tanh(A @ h)
            elif kind == 2:
                h = h * x + 0.5
            elif kind == 3:
                h = h / (2 + h * h)
            elif kind == 4:
                h = tnp.softmax(h)
            else:
                h = h + tnp.sum(h) * x
        if final == "sum":
            return tnp.sum(h)
        if final == "logsumexp":
            return tnp.logsumexp(h)
        if final == "norm":
            return tnp.linalg.norm(h + 2.0)
        return h @ A @ h

    return f


@settings(
    max_examples=int(os.environ.get("TC_TRACE_EXAMPLES", "150")),
    deadline=None,
    derandomize=not os.environ.get("TC_PROPERTY_RANDOM"),
)
@given(programs(), st.integers(0, 2**31))
def test_random_namespace_functions_match_finite_differences(f, seed):
    rng = np.random.default_rng(seed)
    x, A = rng.uniform(-1, 1, 3), rng.normal(size=(3, 3)) * 0.5
    value, (gx, gA) = tc.value_and_grad(f, argnums=(0, 1))(x, A)
    assert_close(value, f(x, A), rtol=1e-10, atol=1e-12)  # the same function, run with NumPy
    assert_close(gx, central_jacobian(lambda v: f(v, A), x), rtol=1e-5, atol=1e-6)
    assert_close(gA, central_jacobian(lambda M: f(x, M), A), rtol=1e-5, atol=1e-6)
    assert_close(tc.hessian(f)(x, A), central_hessian(lambda v: f(v, A), x), rtol=1e-3, atol=1e-4)


def test_closed_over_arrays_are_captured(rng):
    X, y, w = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3)

    def loss(w):
        return tnp.sum((X @ w - y) ** 2)

    assert_close(tc.grad(loss)(w), 2 * X.T @ (X @ w - y))
    assert_close(tc.hessian(loss)(w), 2 * X.T @ X)
    assert str(tc.grad(loss).formula(w)) == "2 * _c0' @ (_c0 @ w - _c1)"
    assert_close(
        tc.grad(lambda v: tnp.sum(np.exp(v) * np.arange(3.0)))(w), np.exp(w) * np.arange(3.0)
    )
    with pytest.raises(TypeError, match="declare it as a variable"):
        tc.vector("v", 3) + np.ones(3)
