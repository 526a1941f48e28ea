"""Powers of norms at 0 (tensorcalc.simplify.finite): every derivative of ‖x‖ᵖ that has a limit
at x = 0 evaluates to it, in ``evaluate`` and in compiled code, while the printed forms stay the
expert's; where the limit does not exist (the Hessian of ‖x‖) the value is inf or NaN.

The oracle is NumPy's closed form of the gradient and Hessian of r = ‖x‖ to the power p,
p rᵖ⁻² x and p rᵖ⁻² I + p (p − 2) rᵖ⁻⁴ x xᵀ, and central differences of it."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_jacobian
from tensorcalc.codegen import BACKENDS

SHAPES = {"vector": ({"x": ("n",)}, "x", (3,)), "matrix": ({"x": ("n", "m")}, "x", (3, 2))}
BACKEND_NAMES = [
    pytest.param(name, marks=pytest.mark.skipif(
        importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"))
    for name, b in BACKENDS.items() if name != "mxnet"
]  # fmt: skip


def _to_numpy(v):
    v = v.compute() if hasattr(v, "compute") else v
    v = v.detach().cpu().numpy() if hasattr(v, "detach") else v
    return np.asarray(v)


def _grad(x, p):
    r = np.linalg.norm(x)
    return p * r ** (p - 2) * x


def _hessian(x, p):
    r, n = np.linalg.norm(x), x.size
    eye = np.eye(n).reshape(x.shape + x.shape)
    return p * r ** (p - 2) * eye + p * (p - 2) * r ** (p - 4) * np.multiply.outer(x, x)


def _closed(x, p, order):
    """The order-th derivative of ‖x‖ᵖ by the closed forms (order 3 and 4 by central
    differences of the Hessian and of its central differences)."""
    if order == 1:
        return _grad(x, p)
    if order == 2:
        return _hessian(x, p)
    if order == 3:
        return central_jacobian(lambda v: _hessian(v, p), x, h=1e-5)
    return central_jacobian(lambda v: central_jacobian(lambda w: _hessian(w, p), v, 1e-4), x, 1e-4)


# order k of ‖x‖ᵖ with k < p: homogeneous of degree p − k ≥ 1, so 0 at 0
BELOW = [(p, k) for p in (3, 4, 5) for k in range(1, p)]


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("p,order", BELOW)
def test_derivatives_of_norm_powers_are_their_limit_0_at_0(kind, p, order):
    shapes, v, shape = SHAPES[kind]
    d = tc.derivative(tc.parse(f"norm({v})^{p}", shapes), v, order=order)
    zero = np.zeros(shape)
    got = d.evaluate({v: zero})
    assert got.shape == shape * order and np.all(got == 0)
    assert np.array_equal(tc.compile(d)(**{v: zero}), got)
    # continuous there: a point near 0 gives nearly 0 (degree p - k)
    near = 1e-4 * np.arange(1.0, 1.0 + zero.size).reshape(shape)
    assert np.max(np.abs(d.evaluate({v: near}))) < 100 * np.linalg.norm(near) ** (p - order)


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("p,order", [(3, 1), (3, 2), (3, 3), (5, 2), (5, 3), (4, 3)])
def test_derivatives_of_norm_powers_match_the_closed_form_away_from_0(kind, p, order):
    shapes, v, shape = SHAPES[kind]
    d = tc.derivative(tc.parse(f"norm({v})^{p}", shapes), v, order=order)
    rng = np.random.default_rng(p + order)
    x = rng.uniform(0.3, 1.2, shape) * rng.choice([-1, 1], shape)
    want = _closed(x, p, order)
    assert_close(d.evaluate({v: x}), want, rtol=1e-5, atol=1e-5)
    assert_close(tc.compile(d)(**{v: x}), want, rtol=1e-5, atol=1e-5)


def test_printed_forms_stay_the_experts():
    shapes = {"x": ("n",)}
    assert str(tc.hessian("norm(x)^3", "x", shapes)) == "3 * (norm(x) * eye(n) + x @ x' / norm(x))"
    assert str(tc.gradient("norm(x)^3", "x", shapes)) == "3 * norm(x) * x"
    assert str(tc.gradient("norm(x)", "x", shapes)) == "x / norm(x)"


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_every_backend_gives_the_limit_at_0(backend):
    f = tc.parse("norm(X)^5", {"X": ("n", "m")})
    outs = [tc.derivative(f, "X", order=k) for k in (1, 2, 3)] + [
        tc.hessian("norm(x)^3", "x", {"x": ("n",)})
    ]
    zero = np.zeros((3, 2))
    for o in outs:
        args = {"X": zero} if "X" in tc.expr.variables(o) else {"x": np.zeros(3)}
        got = _to_numpy(tc.compile(o, backend)(**args))
        assert got.shape == tc.evaluate(o, args).shape and np.all(got == 0)
    x = np.array([0.5, -1.0, 2.0])
    got = _to_numpy(tc.compile(outs[-1], backend)(x=x))
    np.testing.assert_allclose(got, _hessian(x, 3), rtol=1e-6, atol=1e-6)


def test_where_there_is_no_limit_the_value_is_not_finite():
    shapes = {"x": ("n",)}
    zero = np.zeros(3)
    for f, order in [("norm(x)", 2), ("norm(x)^3", 4), ("norm(x)", 3)]:
        d = tc.derivative(tc.parse(f, shapes), "x", order=order)
        with np.errstate(all="ignore"):
            assert not np.all(np.isfinite(d.evaluate(x=zero))), (f, order)
            assert not np.all(np.isfinite(tc.compile(d)(x=zero))), (f, order)


def test_bounded_without_a_limit_is_0_as_sign_is():
    # ∇‖x‖ = x/‖x‖ and d³‖x‖³ have no limit at 0 but are bounded: 0, as d|x| = sign(x) is 0
    shapes = {"x": ("n",)}
    assert np.array_equal(tc.gradient("norm(x)", "x", shapes).evaluate(x=np.zeros(3)), np.zeros(3))
    d3 = tc.derivative(tc.parse("norm(x)^3", shapes), "x", order=3)
    assert np.array_equal(d3.evaluate(x=np.zeros(2)), np.zeros((2, 2, 2)))


@pytest.mark.parametrize("method", ["gd", "newton", "momentum"])
@pytest.mark.parametrize("f", ["norm(x)^4", "norm(x)^3", "norm(x)"])
def test_minimize_from_0_stays_at_the_minimum(f, method):
    r = tc.minimize(f, "x", np.zeros(3), method=method, shapes={"x": (3,)})
    assert r.converged and np.array_equal(r.x, np.zeros(3)) and r.values[-1] == 0.0


def test_newton_on_norm_power_approaches_0_without_nan():
    r = tc.minimize("norm(x)^4", "x", np.ones(3), method="newton", steps=40, shapes={"x": (3,)})
    assert r.converged and np.all(np.isfinite(r.x)) and np.linalg.norm(r.x) < 1e-2


def _r(v):
    return np.linalg.norm(v)


@pytest.mark.parametrize(
    "text,at_zero,numpy",
    [
        ("x @ x' / norm(x)", 0.0, lambda x, y: np.outer(x, x) / _r(x)),  # ‖x‖ u uᵀ → 0
        ("(x - y) / norm(x - y)", 0.0, lambda x, y: (x - y) / _r(x - y)),  # 0 where x = y
        ("x @ x' @ x / norm(x)^2", 0.0, lambda x, y: x),  # (xᵀx) x / xᵀx = x
        ("x * x * x * norm(x)^-1.5", 0.0, lambda x, y: x**3 / _r(x) ** 1.5),  # degree 1.5
        ("x @ x / norm(x)^2", 1.0, lambda x, y: 1.0),  # 1, its limit (not uᵀu = 0)
        ("norm(x)^4 * x / (x @ x)", 0.0, lambda x, y: _r(x) ** 2 * x),
        ("unit(x) * norm(x)", 0.0, lambda x, y: x),
    ],
)
def test_user_expressions_with_a_limit_evaluate_to_it(text, at_zero, numpy):
    f = tc.parse(text, {"x": ("n",), "y": ("n",)})
    y = np.array([0.3, -0.2, 1.1])
    at = {"x": y if "y" in tc.expr.variables(f) else np.zeros(3), "y": y}  # where x - y = 0
    got = f.evaluate(at)
    assert np.all(got == at_zero)
    assert np.array_equal(tc.compile(f)(**at), got)
    away = {"x": np.random.default_rng(1).normal(size=3), "y": y}
    assert_close(f.evaluate(away), numpy(**away), rtol=1e-12, atol=1e-12)
    assert_close(tc.compile(f)(**away), numpy(**away), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_unit_is_x_over_its_norm_and_0_at_0(backend):
    f = tc.parse("unit(X)", {"X": (2, 2)})
    X = np.array([[3.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(_to_numpy(tc.compile(f, backend)(X=X)), X / 5.0)
    assert np.array_equal(_to_numpy(tc.compile(f, backend)(X=np.zeros((2, 2)))), np.zeros((2, 2)))
    assert np.array_equal(f.evaluate(X=np.zeros((2, 2))), np.zeros((2, 2)))
    assert str(f) == "unit(X)" and tc.parse(str(f), {"X": (2, 2)}) is f


def test_norm_powers_of_products_are_their_limit_at_0():
    # the norm's argument is a product (A x, 2 x), whose factors merge into the derivative's
    shapes = {"x": ("n",), "A": ("m", "n")}
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    rng = np.random.default_rng(5)
    x = rng.normal(size=3)
    y = A @ x
    want = {  # the closed forms of the gradient and Hessian of ‖A x‖³ and ‖2 x‖³
        ("norm(A @ x)^3", 1): 3 * _r(y) * A.T @ y,
        ("norm(A @ x)^3", 2): 3 * (_r(y) * A.T @ A + np.outer(A.T @ y, A.T @ y) / _r(y)),
        ("norm(2 * x)^3", 1): 8 * _grad(x, 3),
        ("norm(2 * x)^3", 2): 8 * _hessian(x, 3),
    }
    for (text, order), value in want.items():
        d = tc.derivative(tc.parse(text, shapes), "x", order=order)
        assert_close(d.evaluate(x=x, A=A), value, rtol=1e-10, atol=1e-10)
        at0 = d.evaluate(x=np.zeros(3), A=A)
        assert at0.shape == value.shape and np.all(at0 == 0), (text, order)
        assert np.array_equal(tc.compile(d)(x=np.zeros(3), A=A), at0)
    g = tc.gradient("norm(X @ Y)^3", "X", {"X": ("n", "k"), "Y": ("k", "m")})
    assert np.array_equal(g.evaluate(X=np.zeros((3, 2)), Y=np.eye(2)), np.zeros((3, 2)))


# a count written as two ones factors on one index (Σᵢ 1ᵢ1ᵢ = n, from ‖1‖²) is one n: the
# evaluation form once took each of them for the count inside a copy of x = n·1/s and gave
# n·‖x‖ (ML campaign, seed 2029482); the value is ‖x‖ = n^1.5 / s
COUNTS = [
    ("sum(x * x / norm(x)) where x = sum(ones(n)) * ones(n) / (1 + mean(y)^2)", 1.5),
    ("norm(ones(n))^2 * sum(ones(n))^2 / (1 + mean(y)^2)^2 / norm(sum(ones(n)) * ones(n) "
     "/ (1 + mean(y)^2))", 1.5),
    ("sum(x * x / norm(x)) where x = ones(n) / (1 + mean(y)^2)", 0.5),
]  # fmt: skip


@pytest.mark.parametrize("text,power", COUNTS)
@pytest.mark.parametrize("n", [2, 4])
def test_a_count_is_counted_once_in_the_evaluation_form(text, power, n):
    y = np.linspace(-1.0, 1.0, n)
    want = n**power / (1 + y.mean() ** 2)
    f = tc.parse(text, {"y": ("n",)})
    assert np.isclose(tc.evaluate(f, {"y": y}), want, rtol=1e-12)
    assert np.isclose(tc.compile(f, "numpy")(y=y), want, rtol=1e-12)


def test_a_power_taken_with_another_base_is_not_taken_twice():
    """In a product with 1 / ‖v‖ and 1 / ‖y‖ for v = 0.5 y² / ‖y‖, a copy of v takes the
    1 / ‖y‖ with it; the powers of y are then those left, not those before (the evaluation
    form multiplied by 1 / ‖y‖ once more: ML campaign, seed 6032241)."""
    f = tc.parse("sum(u * u / norm(u)) where u = (y / norm(y)) * (0.5 * y)", {"y": ("n",)})
    y = np.array([0.3, -1.2, 0.7])

    def fn(y):
        u = y / np.linalg.norm(y) * 0.5 * y
        return np.sum(u * u / np.linalg.norm(u))

    want = np.array([(fn(y + e) - fn(y - e)) / 2e-6 for e in np.eye(3) * 1e-6])
    d = tc.derivative(f, "y")
    for got in (tc.evaluate(d, {"y": y}), tc.compile(d, "numpy")(y=y),
                tc.evaluate(tc.parse(str(d), {"y": ("n",)}), {"y": y})):  # fmt: skip
        assert np.allclose(got, want, rtol=1e-6, atol=1e-9)
