"""Numerical differentiation and derivative checking (tensorcalc.numeric)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc import numeric

# -- seed examples ----------------------------------------------------------------------------


def test_seed_2_difference_quotients():
    f = lambda x: x**2  # noqa: E731
    assert numeric.difference_quotient(f, 2, 0.1) == 4.1
    assert numeric.difference_quotient(f, 2, 0.01) == 4.01
    assert numeric.difference_quotient(f, 2, 0.01, kind="central") == 4.0
    assert numeric.difference_quotient(f, 2, 0.1, kind="backward") == pytest.approx(3.9)
    assert numeric.difference_quotient(np.exp, 0.0, 1e-3) == pytest.approx(1.0005, rel=1e-6)


def test_seed_26_first_order_approximation():
    L = lambda v: np.log(np.exp(v[0]) + np.exp(v[1]))  # noqa: E731
    p = np.array([0.0, np.log(2)])
    g = numeric.gradient(L, p, method="richardson")
    assert g == pytest.approx(np.exp(p) / np.exp(p).sum(), abs=1e-12)
    assert g.sum() == pytest.approx(1.0)
    eps = np.array([0.01, -0.03])
    approx = L(p) + eps @ g
    assert approx == pytest.approx(1.081946, abs=1e-6)
    assert L(p + eps) == pytest.approx(1.082124, abs=1e-6)
    assert abs(approx - L(p + eps)) < 2e-4
    assert tc.check(tc.parse("log(exp(x) + exp(y))"), "x").passed


def test_seed_30_matrix_gradient_agrees_with_central_differences(rng):
    X, U, V = rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), rng.normal(size=(2, 5))
    f = lambda v: np.sum((X - U @ v) ** 2)  # noqa: E731
    grad = lambda v: -2 * U.T @ (X - U @ v)  # noqa: E731
    fd = numeric.gradient(f, V, method="central")
    np.testing.assert_allclose(grad(V), fd, rtol=1e-6, atol=1e-6)
    assert tc.check_grad(f, grad, V).passed
    expr = tc.parse("norm(X - U @ V)^2", {"X": "m,n", "U": "m,r", "V": "r,n"})
    assert tc.check(expr, "V").passed


# -- methods and layout -----------------------------------------------------------------------

X0 = np.array([0.3, -1.1, 0.8])


def f_vec(v):
    return np.array([np.sin(v[0]) * v[1], np.exp(v[2]) + v[0] ** 2])


def jac_vec(v):
    return np.array([[np.cos(v[0]) * v[1], np.sin(v[0]), 0.0], [2 * v[0], 0.0, np.exp(v[2])]])


@pytest.mark.parametrize(
    "method,tol",
    [
        ("forward", 1e-6),
        ("backward", 1e-6),
        ("central", 1e-9),
        ("complex", 1e-14),
        ("richardson", 1e-12),
    ],
)
def test_methods_accuracy_and_error_estimates(method, tol):
    J, err = numeric.jacobian(f_vec, X0, method=method, full_output=True)
    assert J.shape == (2, 3)
    actual = np.abs(J - jac_vec(X0))
    assert actual.max() < tol
    assert np.all(actual <= err + 1e-15)  # the estimate bounds the true error


def test_layout_and_orders():
    A = np.arange(6.0).reshape(2, 3) / 7
    M = np.array([[1.0, 0.2], [0.3, 2.0]])
    d = numeric.derivative(lambda W: W @ np.ones(3), A)  # (2,) by (2, 3)
    assert d.shape == (2, 2, 3)
    np.testing.assert_allclose(d, np.einsum("ip,q->ipq", np.eye(2), np.ones(3)), atol=1e-9)
    H = numeric.hessian(
        lambda v: v[0] ** 2 * v[1] + v[1] ** 3, np.array([1.0, 2.0]), method="richardson"
    )
    np.testing.assert_allclose(H, [[4.0, 2.0], [2.0, 12.0]], atol=1e-7)
    T = numeric.derivative(lambda v: np.sum(v**4), np.array([1.0, -0.5]), order=3)
    np.testing.assert_allclose(
        T, np.diag([24.0, -12.0])[:, :, None] * np.eye(2)[:, None, :], atol=1e-3
    )
    G = numeric.gradient(lambda W: np.linalg.slogdet(W)[1], M, method="richardson")
    np.testing.assert_allclose(G, np.linalg.inv(M).T, atol=1e-10)


def test_bad_arguments():
    with pytest.raises(tc.TensorCalcError, match="method"):
        numeric.derivative(np.sin, 1.0, method="magic")
    with pytest.raises(tc.TensorCalcError, match="complex step"):
        numeric.derivative(np.sin, 1.0, order=2, method="complex")
    with pytest.raises(tc.TensorCalcError, match="kind"):
        numeric.difference_quotient(np.sin, 1.0, 0.1, kind="sideways")


# -- checking expressions ---------------------------------------------------------------------

COOKBOOK = [
    ("x' @ A @ x", {"A": ("n", "n")}, "x"),
    ("a' @ X @ b", {"a": ("m",), "X": ("m", "n"), "b": ("n",)}, "X"),
    ("logdet(X)", {"X": ("n", "n")}, "X"),
    ("det(X)", {"X": ("n", "n")}, "X"),
    ("tr(inv(X) @ A)", {"X": ("n", "n"), "A": ("n", "n")}, "X"),
    ("norm(y - Phi @ theta)^2", {"Phi": ("N", "D")}, "theta"),
    ("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")}, "w"),
    ("logsumexp(x)", {"x": ("n",)}, "x"),
    ("sqrt(x) + log(x)", {"x": ("n",)}, "x"),
    ("x * exp(-x^2 - y^2)", {}, "x"),
    ("3*x^4 - 4*x^3 - 12*x^2", {}, "x"),
]


@pytest.mark.parametrize("text,shapes,wrt", COOKBOOK)
@pytest.mark.parametrize("order", [1, 2])
def test_correct_symbolic_derivatives_pass(text, shapes, wrt, order):
    report = tc.check(tc.parse(text, shapes), wrt, order=order)
    assert report.passed, str(report)
    assert "PASS" in str(report)


# -- checking user code: planted bugs ---------------------------------------------------------


def _problem(rng, n=10):
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    b, c = rng.normal(size=n), rng.normal(size=n)
    Q = A @ A.T + np.eye(n)

    def f(x):
        return np.sum(c * np.sin(A @ x + b)) + 0.5 * x @ Q @ x + np.log1p(np.exp(c @ x))

    def g(x):
        return A.T @ (c * np.cos(A @ x + b)) + Q @ x + c / (1 + np.exp(-(c @ x)))

    return f, g, rng.normal(size=n)


PLANTS = {
    "sign flip": lambda g: g * np.where(np.arange(g.size) == 3, -1.0, 1.0),
    "1e-3 relative": lambda g: g * np.where(np.arange(g.size) == 5, 1 + 1e-3, 1.0),
    "1e-6 relative": lambda g: g * np.where(np.arange(g.size) == 7, 1 + 1e-6, 1.0),
}


@pytest.mark.parametrize("plant", PLANTS)
@pytest.mark.parametrize("seed", range(5))
def test_planted_bugs_are_caught(plant, seed):
    f, g, x = _problem(np.random.default_rng(seed))
    assert tc.check_grad(f, g, x).passed
    bad = lambda v: PLANTS[plant](g(v))  # noqa: E731
    report = tc.check_grad(f, bad, x)
    assert not report.passed, str(report)
    assert "FAIL" in str(report)


def test_transposed_matrix_gradient_is_caught(rng):
    A, B = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    f = lambda X: np.trace(A @ X @ B)  # noqa: E731
    good = lambda X: A.T @ B.T  # noqa: E731
    assert tc.check_grad(f, good, rng.normal(size=(4, 4))).passed
    assert not tc.check_grad(f, lambda X: B @ A, rng.normal(size=(4, 4))).passed


def test_no_false_failures_on_1000_correct_problems():
    rng = np.random.default_rng(2026)
    failures = []
    for k in range(1000):
        f, g, x = _problem(rng)
        r = tc.check_grad(f, g, x)
        if not r.passed:
            failures.append((k, str(r)))
    assert failures == []


def test_jacobian_and_hessian_checks(rng):
    assert tc.check_jacobian(f_vec, jac_vec, X0).passed
    assert not tc.check_jacobian(f_vec, lambda v: jac_vec(v).T.T * 1.001, X0).passed
    Q = rng.normal(size=(3, 3))
    f = lambda x: x @ Q @ x + np.sum(x**3)  # noqa: E731
    assert tc.check_hessian(f, lambda x: Q + Q.T + np.diag(6 * x), X0).passed
    assert not tc.check_hessian(f, lambda x: Q + Q.T, X0).passed


def test_float32_is_explained_not_failed_blindly(rng):
    A = rng.normal(size=(5, 5)).astype(np.float32)
    f = lambda x: np.float32(0.5) * x @ A @ x  # noqa: E731
    g = lambda x: 0.5 * (A + A.T) @ x  # noqa: E731
    x = rng.normal(size=5).astype(np.float32)
    report = tc.check_grad(f, g, x)
    assert report.passed, str(report)
    assert "float32" in str(report) and "float64" in str(report)
    assert not tc.check_grad(f, lambda v: -g(v), x).passed


def test_complex_step_through_the_reference_evaluator():
    # the evaluator's stable kernels must keep imaginary parts (no silent float casts)
    f = tc.parse("sum(sigmoid(x) * softplus(x)) + logsumexp(x)", {"x": (3,)})
    x = np.array([0.1, -0.4, 0.7])
    g = numeric.gradient(lambda v: f.evaluate(x=v), x, method="complex")
    np.testing.assert_allclose(g, tc.derivative(f, "x").evaluate(x=x), rtol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
def test_check_differences_a_symmetric_variable_along_symmetric_directions(order, rng):
    # entry-wise steps leave the symmetric matrices; differences of f((V + V')/2) give sym(G)
    f = tc.parse("tr(S @ S @ S)", {"S": ("n", "n", "symmetric")})
    a = rng.standard_normal((4, 4))
    s = a + a.T
    report = tc.check(f, "S", values={"S": s}, order=order)
    assert report.passed
    if order == 1:  # d tr(S³) = 3 tr(S² dS): the gradient is 3 S², symmetric already
        i = report.worst_index
        assert report.worst_actual == pytest.approx((3 * s @ s)[i], rel=1e-12)
        assert report.worst_expected == pytest.approx((3 * s @ s)[i], rel=1e-7)


def test_check_of_a_symmetric_variable_agrees_with_the_closed_form_of_logdet(rng):
    a = rng.standard_normal((3, 3))
    s = a @ a.T + 3 * np.eye(3)
    report = tc.check(tc.parse("logdet(S)", {"S": ("n", "n", "sym")}), "S", values={"S": s})
    assert report.passed
    assert report.worst_actual == pytest.approx(np.linalg.inv(s)[report.worst_index], rel=1e-12)
