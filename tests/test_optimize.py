"""Optimisers: iterates against closed forms, Newton in one step on quadratics."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc

QUAD = "0.5 * x' @ A @ x - b' @ x"
A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])


def _quad():
    return tc.parse(QUAD, {"x": 2, "A": (2, 2), "b": 2}).subs({"A": A, "b": B})


def test_gd_on_a_quadratic_matches_the_linear_recurrence():
    r = tc.minimize(_quad(), "x", [0.0, 0.0], lr=0.2, steps=10)
    x = np.zeros(2)
    for k in range(11):
        np.testing.assert_allclose(r.iterates[k], x, atol=1e-14)
        x = x - 0.2 * (A @ x - B)
    assert r.grad_norms[0] == pytest.approx(np.linalg.norm(B))


def test_newton_solves_a_quadratic_in_one_step():
    r = tc.minimize(_quad(), "x", [4.0, -3.0], method="newton", tol=1e-10)
    np.testing.assert_allclose(r.iterates[1], np.linalg.solve(A, B), atol=1e-12)
    assert r.converged and r.steps == 1


def test_momentum_matches_heavy_ball_recurrence():
    r = tc.minimize("x^2 - 4*x + 3", "x", 4.0, method="momentum", lr=0.1, beta=0.5, steps=5)
    x, v = 4.0, 0.0
    for k in range(6):
        assert r.iterates[k] == pytest.approx(x, abs=1e-14)
        v = 0.5 * v - 0.1 * (2 * x - 4)
        x = x + v


def test_several_variables_and_the_table():
    r = tc.minimize("(1 - x)^2 + 5 * (y - x^2)^2", ["x", "y"], {"x": -1.0, "y": 1.0},
                    method="newton", steps=50)  # fmt: skip
    assert r.converged and r.x["x"] == pytest.approx(1.0) and r.x["y"] == pytest.approx(1.0)
    lines = str(r).splitlines()
    assert lines[0].startswith("newton: converged in")
    assert lines[1].split() == ["k", "x", "y", "f", "|grad", "f|"]
    assert lines[2].split()[:3] == ["0", "-1", "1"]
    assert len(lines) == 2 + len(r.iterates)


def test_to_pandas():
    pd = pytest.importorskip("pandas")
    r = tc.minimize("x^2 - 4*x + 3", "x", 4, steps=3)
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert df["x"].tolist() == pytest.approx([4, 3.6, 3.28, 3.024])
    assert list(df.columns) == ["x", "f", "grad_norm"]


def test_divergence_is_reported():
    r = tc.minimize("x^2", "x", 1.0, lr=1.5, steps=2000)
    assert not r.converged and "diverged" in r.message


def test_newton_at_a_singular_hessian_says_it_is_stuck():
    # at x = 0 the Hessian of norm(x)^4 is 0 and the gradient of sum(x) is ones: no Newton step
    r = tc.minimize("norm(x)^4 + sum(x)", "x", [0.0, 0.0, 0.0], method="newton",
                    shapes={"x": 3})  # fmt: skip
    assert not r.converged and r.steps == 0
    assert r.message.startswith("stuck at step 0") and "singular" in r.message
    assert r.grad_norms == [pytest.approx(np.sqrt(3))]
    g = tc.minimize("norm(x)^4 + sum(x)", "x", [0.0, 0.0, 0.0], lr=0.05, steps=400,
                    shapes={"x": 3})  # fmt: skip
    assert g.converged  # 4 |x|^2 x = -ones: x = -c ones with 12 c^3 = 1
    np.testing.assert_allclose(g.x, -np.full(3, (1 / 12) ** (1 / 3)), atol=1e-6)


def test_errors():
    with pytest.raises(tc.TensorCalcError, match="unknown method"):
        tc.minimize("x^2", "x", 1.0, method="adam")
    with pytest.raises(tc.TensorCalcError, match="x0 must give"):
        tc.minimize("x^2 + y^2", ["x", "y"], {"x": 1.0})


def test_symbolic_shapes_take_the_values_sizes(rng):
    P, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    r = tc.minimize("norm(y - P @ t)^2", "t", np.zeros(3), method="newton",
                    at={"y": y, "P": P}, shapes={"y": "m", "P": "m,d"})  # fmt: skip
    np.testing.assert_allclose(r.x, np.linalg.lstsq(P, y, rcond=None)[0], atol=1e-10)
    assert r.converged and r.steps == 1
    lines = str(r).splitlines()
    assert lines[2].split()[:4] == ["0", "[0.,", "0.,", "0.]"]


# -- Newton-CG: Hessian-vector products, never a formed Hessian ---------------------------------


def _logistic_problem(n=400, d=15, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-X @ w_true)), 1.0, -1.0)
    return X, y


def _no_hessian(monkeypatch):
    def formed(self, theta):
        raise AssertionError("newton-cg formed the Hessian")

    monkeypatch.setattr(tc.analysis.common.Objective, "hessian", formed)


def test_newton_cg_on_ridge_logistic_regression_matches_scipy(monkeypatch):
    optimize = pytest.importorskip("scipy.optimize")
    _no_hessian(monkeypatch)
    X, y = _logistic_problem()
    f = tc.parse("sum(log(1 + exp(-y * (X @ w)))) + 0.5 * lam * w' @ w", {"X": ("N", "D")})
    r = tc.minimize(f, "w", np.zeros(15), method="newton-cg", at={"X": X, "y": y, "lam": 1.0},
                    tol=1e-10, steps=50)  # fmt: skip
    assert r.converged, r.message

    def fun(w):  # by hand, NumPy only
        return np.sum(np.logaddexp(0, -y * (X @ w))) + 0.5 * w @ w

    def jac(w):
        return -X.T @ (y / (1 + np.exp(y * (X @ w)))) + w

    def hessp(w, p):
        s = 1 / (1 + np.exp(-X @ w))
        return X.T @ (s * (1 - s) * (X @ p)) + p

    assert np.linalg.norm(jac(r.x)) < 1e-9  # the first-order condition, by hand
    ref = optimize.minimize(fun, np.zeros(15), jac=jac, hessp=hessp, method="Newton-CG",
                            options={"xtol": 1e-14})  # fmt: skip
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-7, atol=1e-8)
    assert r.values[-1] == pytest.approx(ref.fun, rel=1e-12)
    assert all(b <= a + 1e-12 for a, b in zip(r.values, r.values[1:]))  # the line search


def test_newton_cg_on_ridge_least_squares_reaches_the_closed_form(monkeypatch):
    _no_hessian(monkeypatch)
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(30, 6)), rng.normal(size=30)
    f = tc.parse("norm(A @ x - b)^2 + 2 * x' @ x", {"A": ("m", "n")})
    r = tc.minimize(f, "x", np.ones(6), method="newton-cg", at={"A": A, "b": b}, tol=1e-9)
    assert r.converged
    np.testing.assert_allclose(r.x, np.linalg.solve(A.T @ A + 2 * np.eye(6), A.T @ b), atol=1e-9)


def test_newton_cg_with_several_variables_and_negative_curvature():
    # Rosenbrock from (-1, 1): the Hessian is indefinite on the way; CG falls back to descent
    r = tc.minimize("(1 - x)^2 + 5 * (y - x^2)^2", ["x", "y"], {"x": -1.0, "y": 1.0},
                    method="newton-cg", steps=100, tol=1e-10)  # fmt: skip
    assert r.converged and r.x["x"] == pytest.approx(1.0) and r.x["y"] == pytest.approx(1.0)
    assert str(r).startswith("newton-cg: converged in")


def test_newton_cg_on_a_matrix_variable(monkeypatch):
    _no_hessian(monkeypatch)
    rng = np.random.default_rng(4)
    X, T = rng.normal(size=(5, 20)), rng.normal(size=(3, 20))
    f = tc.parse("norm(W @ X - T)^2 + 0.1 * norm(W)^2", {"W": (3, 5), "X": (5, "N")})
    r = tc.minimize(f, "W", np.zeros((3, 5)), method="newton-cg", at={"X": X, "T": T}, tol=1e-9)
    want = T @ X.T @ np.linalg.inv(X @ X.T + 0.1 * np.eye(5))  # the normal equations
    assert r.converged
    np.testing.assert_allclose(r.x, want, atol=1e-8)
