"""Matrix-free products (diff/products.py, tc.hvp, tc.jvp_expr, tc.vjp_expr, Compiled.partial).

Every product is checked against central differences of the function itself (the reference
evaluator, no derivative rule) and against the formed Hessian or Jacobian contracted with the
direction; the logistic HVP is checked to hold no D × D array, in its expression, in its
generated code and in its peak memory.
"""

from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy
from tensorcalc.codegen import BACKENDS
from tensorcalc.expr import postorder, variables

INSTALLED = [
    pytest.param(
        name, marks=pytest.mark.skipif(
            importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"
        ),
    )
    for name, b in BACKENDS.items()
    if name != "mxnet"  # source only here
]  # fmt: skip

MLP_SHAPES = {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}
# scalar f, shapes, variable, sizes of the dimensions
SCALARS = [
    ("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")}, "w", {"N": 9, "D": 4}),
    ("x' @ A @ x", {"A": ("n", "n")}, "x", {"n": 3}),
    ("norm(y - Phi @ theta)^2", {"Phi": ("N", "D")}, "theta", {"N": 6, "D": 3}),
    ("norm(W2 @ tanh(W1 @ X) - T)^2", MLP_SHAPES, "W1", {"h": 3, "d": 2, "o": 2, "N": 5}),
    ("norm(W2 @ tanh(W1 @ X) - T)^2", MLP_SHAPES, "W2", {"h": 3, "d": 2, "o": 2, "N": 5}),
    ("logsumexp(A @ x) + sum(x^4)", {"A": ("m", "n")}, "x", {"m": 4, "n": 3}),
    ("sin(x) * exp(x)", {}, "x", {}),
]
# any f: the Jacobian-vector and vector-Jacobian products
FUNCTIONS = [
    ("sigmoid(X @ w)", {"X": ("N", "D")}, "w", {"N": 5, "D": 3}),
    ("W2 @ tanh(W1 @ X)", MLP_SHAPES, "W1", {"h": 3, "d": 2, "o": 2, "N": 4}),
    ("A @ X @ B", {"A": ("m", "n"), "X": ("n", "p"), "B": ("p", "q")}, "X",
     {"m": 2, "n": 3, "p": 4, "q": 2}),
    ("softmax(A @ x)", {"A": ("m", "n")}, "x", {"m": 4, "n": 3}),
] + SCALARS  # fmt: skip


def _values(f, sizes, rng):
    vals = {}
    for name, v in variables(f).items():
        shape = tuple(d if isinstance(d, int) else sizes[d] for d in v.shape)
        vals[name] = rng.normal(size=shape) * (0.5 if name in ("W1", "w", "theta") else 1.0)
    return vals


def _direction(shape, rng):
    return rng.normal(size=shape)


def _moved(f, vals, name, step):
    return np.asarray(f.evaluate({**vals, name: vals[name] + step}), dtype=float)


def _central_hvp(f, vals, name, v, h=1e-4):
    """H v by mixed central differences of f itself: ∂²f/∂xᵢ∂v for each entry i."""
    x = vals[name]
    out = np.zeros(np.shape(x))
    for i in np.ndindex(*np.shape(x)):
        e = np.zeros(np.shape(x))
        e[i] = h
        pp, pm = _moved(f, vals, name, e + h * v), _moved(f, vals, name, e - h * v)
        mp, mm = _moved(f, vals, name, -e + h * v), _moved(f, vals, name, -e - h * v)
        out[i] = (pp - pm - mp + mm) / (4 * h * h)
    return out


@pytest.mark.parametrize("text,shapes,wrt,sizes", SCALARS, ids=[c[0] + " " + c[2] for c in SCALARS])
def test_hvp_matches_central_differences_and_the_formed_hessian(text, shapes, wrt, sizes, rng):
    f = tc.parse(text, shapes)
    vals = _values(f, sizes, rng)
    hv = tc.hvp(f, wrt)
    assert "v" in variables(hv) and variables(hv)["v"].shape == variables(f)[wrt].shape
    v = _direction(np.shape(vals[wrt]), rng)
    got = tc.compile(hv)(**{**vals, "v": v})
    want = _central_hvp(f, vals, wrt, v)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * (1 + np.abs(want).max()))
    hess = tc.hessian(f, wrt).evaluate(vals)
    k = np.ndim(v)
    formed = np.tensordot(hess, v, axes=(list(range(k, 2 * k)), list(range(k))))
    np.testing.assert_allclose(got, formed, rtol=1e-10, atol=1e-10 * (1 + np.abs(formed).max()))


@pytest.mark.parametrize(
    "text,shapes,wrt,sizes", FUNCTIONS, ids=[c[0] + " " + c[2] for c in FUNCTIONS]
)
def test_jvp_and_vjp_match_central_differences(text, shapes, wrt, sizes, rng):
    f = tc.parse(text, shapes)
    vals = _values(f, sizes, rng)
    v = _direction(np.shape(vals[wrt]), rng)
    h = 1e-6
    want = (_moved(f, vals, wrt, h * v) - _moved(f, vals, wrt, -h * v)) / (2 * h)
    jv = tc.compile(tc.jvp_expr(f, wrt))(**{**vals, "v": v})
    np.testing.assert_allclose(jv, want, rtol=1e-6, atol=1e-6 * (1 + np.abs(want).max()))
    u = rng.normal(size=np.shape(want))
    uj = tc.compile(tc.vjp_expr(f, wrt))(**{**vals, "u": u})
    assert np.shape(uj) == np.shape(vals[wrt])
    fd = np.zeros(np.shape(vals[wrt]))  # ∂⟨u, f⟩/∂xᵢ by central differences
    for i in np.ndindex(*np.shape(fd)):
        e = np.zeros(np.shape(fd))
        e[i] = h
        fd[i] = np.sum(u * (_moved(f, vals, wrt, e) - _moved(f, vals, wrt, -e))) / (2 * h)
    np.testing.assert_allclose(uj, fd, rtol=1e-6, atol=1e-6 * (1 + np.abs(fd).max()))
    jac = tc.jacobian(f, wrt).evaluate(vals)  # and the formed Jacobian, contracted
    k, m = np.ndim(v), np.ndim(u)
    np.testing.assert_allclose(jv, np.tensordot(jac, v, k), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(uj, np.tensordot(u, jac, m), rtol=1e-10, atol=1e-10)


LOGISTIC = "sum(log(1 + exp(-y * (X @ w))))"


def _logistic(rng, n, d):
    return {
        "X": rng.normal(size=(n, d)) / np.sqrt(d),
        "y": rng.choice([-1.0, 1.0], n),
        "w": rng.normal(size=d),
        "v": rng.normal(size=d),
    }


def _logistic_hvp_by_hand(X, y, w, v):
    p = 1 / (1 + np.exp(-y * (X @ w)))
    return X.T @ (p * (1 - p) * (X @ v))


def test_logistic_hvp_is_matrix_free():
    f = tc.parse(LOGISTIC, {"X": ("N", "D")})
    hv = tc.hvp(f, "w")
    shapes = {n.shape for n in postorder([hv])}
    assert ("D", "D") not in shapes and shapes <= {("N", "D"), ("N",), ("D",), ()}
    src = tc.codegen(hv, dims={"N": 20000, "D": 2000}).rsplit('"""', 1)[1]
    assert "_gram" not in src and "einsum" not in src and "X @ v" in src  # X'(d ⊙ (X v))
    for backend in ("jax", "torch", "tensorflow", "dask"):
        assert "gram" not in tc.codegen(hv, backend).rsplit('"""', 1)[1]


def test_logistic_hvp_peak_memory_is_far_below_a_hessian(rng):
    n, d = 400, 1500  # a Hessian would be 18 MB; X is 4.8 MB
    vals = _logistic(rng, n, d)
    c = tc.compile(tc.hvp(tc.parse(LOGISTIC, {"X": ("N", "D")}), "w"))
    fn = c.function(**vals)
    args = [vals[k] for k in c.names]
    fn(*args)
    tracemalloc.start()
    try:
        got = fn(*args)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * d * d * 8  # vectors of N and D only
    np.testing.assert_allclose(got, _logistic_hvp_by_hand(**vals), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", INSTALLED)
def test_products_compile_for_every_backend(backend, rng, jax_x64):
    f = tc.parse(LOGISTIC, {"X": ("N", "D")})
    vals = _logistic(rng, 30, 5)
    want = _logistic_hvp_by_hand(**vals)
    np.testing.assert_allclose(
        as_numpy(tc.compile(tc.hvp(f, "w"), backend)(**vals)), want, rtol=1e-10, atol=1e-12
    )
    g = tc.parse("W2 @ tanh(W1 @ X)", MLP_SHAPES)
    mv = _values(g, {"h": 3, "d": 2, "o": 2, "N": 4}, rng)
    for expr, extra in ((tc.jvp_expr(g, "W1"), {"v": rng.normal(size=(3, 2))}),
                        (tc.vjp_expr(g, "W1"), {"u": rng.normal(size=(2, 4))})):  # fmt: skip
        ref = tc.compile(expr)(**mv, **extra)
        got = as_numpy(tc.compile(expr, backend)(**mv, **extra))
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_partial_reuses_the_weights_across_directions(rng):
    f = tc.parse(LOGISTIC, {"X": ("N", "D")})
    vals = _logistic(rng, 50, 6)
    c = tc.compile(tc.hvp(f, "w"))
    hv = c.partial(X=vals["X"], y=vals["y"], w=vals["w"])
    for _ in range(3):
        v = rng.normal(size=6)
        want = _logistic_hvp_by_hand(vals["X"], vals["y"], vals["w"], v)
        np.testing.assert_allclose(hv(v=v), want, rtol=1e-12, atol=1e-13)
    with pytest.raises(tc.EvaluationError, match="'z' is not a variable"):
        c.partial(z=1.0)


def test_partial_of_a_value_and_gradient_with_nothing_left():
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    c = tc.compile([f, tc.gradient(f, "x")])
    value, grad = c.partial(x=np.ones(2), A=np.eye(2))()
    assert float(value) == 2.0 and grad.tolist() == [2.0, 2.0]


def test_the_direction_is_named_v_unless_taken():
    f = tc.parse("v' @ A @ x + x' @ A @ x", {"A": ("n", "n")})
    assert sorted(variables(tc.hvp(f, "x"))) == ["A", "v1"]
    assert "v1" in variables(tc.jvp_expr(f, "x"))
    assert "d" in variables(tc.hvp(f, "x", direction="d"))
    g = tc.parse("u * x^2")
    assert "u1" in variables(tc.vjp_expr(g, "x"))
    with pytest.raises(tc.DifferentiationError, match="'A' is already a variable"):
        tc.hvp(f, "x", direction="A")
    with pytest.raises(tc.DifferentiationError, match="must be an identifier"):
        tc.hvp(f, "x", direction="2 v")
    with pytest.raises(tc.DifferentiationError, match="hvp needs a scalar"):
        tc.hvp("A @ x", "x", shapes={"A": ("m", "n")})
    with pytest.raises(tc.DifferentiationError, match="no variable 'q'"):
        tc.hvp(f, "q")


def test_hvp_on_a_symmetric_matrix_is_the_symmetric_hessian_times_v(rng):
    f = tc.parse("logdet(S) - tr(C @ S)", {"S": ("n", "n", "symmetric"), "C": ("n", "n")})
    a = rng.normal(size=(3, 3))
    s, c = a @ a.T + 3 * np.eye(3), rng.normal(size=(3, 3))
    b = rng.normal(size=(3, 3))
    v = b + b.T
    got = tc.compile(tc.hvp(f, "S"))(S=s, C=c, v=v)
    si = np.linalg.inv(s)
    np.testing.assert_allclose(got, -si @ v @ si, rtol=1e-10, atol=1e-12)  # d²logdet = -S⁻¹VS⁻¹
