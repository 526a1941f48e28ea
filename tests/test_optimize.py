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
