"""Every example of ../shared/spec/seed-examples.md (copied to tests/data) that the core
computes, through the public API, with the answer the spec gives."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_jacobian

T0 = 0.7  # a generic evaluation point
XS = [-1.3, -0.4, 0.3, 1.1, 2.0]


def d_at(expr, wrt, point, **kw):
    return float(tc.derivative(expr, wrt, **kw).evaluate(point))


# -- 1, 3, 5-8: univariate (000); expected values from the spec's closed forms ---------------

UNIVARIATE = [
    ("x^2", lambda x: 2 * x),  # 1
    ("x^6", lambda x: 6 * x**5),  # 1
    ("x^5 - x^2 + x", lambda x: 5 * x**4 - 2 * x + 1),  # 3
    ("sin(2*x + 1)", lambda x: 2 * np.cos(2 * x + 1)),  # 5
    ("sin(x^4)^5", lambda x: 20 * x**3 * np.sin(x**4) ** 4 * np.cos(x**4)),  # 6 (corrected)
    ("x^3 * sin(x)", lambda x: 3 * x**2 * np.sin(x) + x**3 * np.cos(x)),  # 7
    ("(x^2 + 5*x + 6)^10", lambda x: 10 * (x**2 + 5 * x + 6) ** 9 * (2 * x + 5)),  # 8
]


@pytest.mark.parametrize("text,closed", UNIVARIATE)
@pytest.mark.parametrize("x", XS)
def test_univariate(text, closed, x):
    assert d_at(text, "x", {"x": x}) == pytest.approx(closed(x), rel=1e-12, abs=1e-12)


def test_1_symbolic_power():
    d = tc.derivative("x^n", "x")
    assert str(d) == "n * x^(n - 1)"
    assert float(d.evaluate(x=1.7, n=3.5)) == pytest.approx(3.5 * 1.7**2.5)


def test_1_power_rule_texts():
    assert str(tc.derivative("x^2", "x")) == "2 * x"
    assert str(tc.derivative("x^6", "x")) == "6 * x^5"


def test_6_seed_error_is_corrected():
    # the seed's last line drops x³; the right answer keeps it
    d = tc.derivative("sin(x^4)^5", "x")
    x = 0.9
    wrong = 20 * np.sin(x**4) ** 4 * np.cos(x**4)
    assert float(d.evaluate(x=x)) != pytest.approx(wrong)
    assert float(d.evaluate(x=x)) == pytest.approx(20 * x**3 * np.sin(x**4) ** 4 * np.cos(x**4))


RULES = [  # 9: sum, product, quotient and chain rules, with f = sin, g = exp(x) + 2
    ("sin(x) + exp(x)", lambda x: np.cos(x) + np.exp(x)),
    ("sin(x) * (exp(x) + 2)", lambda x: np.cos(x) * (np.exp(x) + 2) + np.sin(x) * np.exp(x)),
    ("sin(x) / (exp(x) + 2)", lambda x: (np.cos(x) * (np.exp(x) + 2) - np.sin(x) * np.exp(x)) / (np.exp(x) + 2) ** 2),
    ("sin(exp(x) + 2)", lambda x: np.cos(np.exp(x) + 2) * np.exp(x)),
]  # fmt: skip


@pytest.mark.parametrize("text,closed", RULES)
def test_9_rules(text, closed):
    for x in XS:
        assert d_at(text, "x", {"x": x}) == pytest.approx(closed(x), rel=1e-12)


# -- 10-15: partial derivatives and the chain rule --------------------------------------------


def test_10_partials():
    f = "(x + 2*y^3)^2"
    for x, y in [(0.3, -1.2), (1.5, 0.4)]:
        assert d_at(f, "x", {"x": x, "y": y}) == pytest.approx(2 * (x + 2 * y**3))
        assert d_at(f, "y", {"x": x, "y": y}) == pytest.approx(12 * (x + 2 * y**3) * y**2)


def test_11_gradient():
    f = "x1^2 * x2 + x1 * x2^3"
    x1, x2 = 0.8, -1.7
    p = {"x1": x1, "x2": x2}
    assert d_at(f, "x1", p) == pytest.approx(2 * x1 * x2 + x2**3)
    assert d_at(f, "x2", p) == pytest.approx(x1**2 + 3 * x1 * x2**2)


def test_12_chain_rule_through_subs():
    f = tc.parse("x1^2 + 2*x2").subs({"x1": "sin(t)", "x2": "cos(t)"})
    for t in XS:
        expected = 2 * np.sin(t) * np.cos(t) - 2 * np.sin(t)
        assert d_at(f, "t", {"t": t}) == pytest.approx(expected)


def test_13_chain_rule_through_subs():
    f = tc.parse("x1^2 * x2 + 3*x1 + 6*x2").subs({"x1": "sin(t)", "x2": "exp(2*t)"})
    for t in XS:
        x1, x2 = np.sin(t), np.exp(2 * t)
        expected = (2 * x1 * x2 + 3) * np.cos(t) + (x1**2 + 6) * 2 * np.exp(2 * t)
        assert d_at(f, "t", {"t": t}) == pytest.approx(expected)


def test_14_three_partials():
    f = tc.parse("3*x*y + y*z^2").subs(
        {"x": "p*q*r", "y": "2*p^2 + q + 5*r", "z": "p*cos(q + 2*r)"}
    )
    p, q, r = 0.7, -0.3, 1.1
    x, y, z = p * q * r, 2 * p**2 + q + 5 * r, p * np.cos(q + 2 * r)
    pt = {"p": p, "q": q, "r": r}
    fx, fy, fz = 3 * y, 3 * x + z**2, 2 * y * z
    assert d_at(f, "p", pt) == pytest.approx(
        3 * y * q * r + (3 * x + z**2) * 4 * p + 2 * y * z * np.cos(q + 2 * r)
    )
    assert d_at(f, "q", pt) == pytest.approx(fx * p * r + fy * 1 + fz * (-p * np.sin(q + 2 * r)))
    assert d_at(f, "r", pt) == pytest.approx(
        fx * p * q + fy * 5 + fz * (-2 * p * np.sin(q + 2 * r))
    )


def test_15_exp_chain():
    h = tc.parse("exp(x1 * x2^2)").subs({"x1": "t*cos(t)", "x2": "t*sin(t)"})
    for t in XS:
        x1, x2 = t * np.cos(t), t * np.sin(t)
        expected = np.exp(x1 * x2**2) * (
            x2**2 * (np.cos(t) - t * np.sin(t)) + 2 * x1 * x2 * (np.sin(t) + t * np.cos(t))
        )
        assert d_at(h, "t", {"t": t}) == pytest.approx(expected, rel=1e-10)


# -- 16-22: vectors, matrices, tensors ---------------------------------------------------------


def test_16_linear_and_quadratic(rng):
    c, x = rng.normal(size=4), rng.normal(size=4)
    g = tc.derivative("c' @ x", "x", shapes={"x": "n"})
    assert str(g) == "c"
    assert_close(g.evaluate(c=c, x=x), c)
    g2 = tc.derivative("x' @ x", "x", shapes={"x": "n"})
    assert str(g2) == "2 * x"
    assert_close(g2.evaluate(x=x), 2 * x)
    # numerator layout: rows
    row = tc.derivative("x' @ x", "x", shapes={"x": "n"}, layout="numerator")
    assert row.evaluate(x=x).shape == (1, 4)
    assert_close(row.evaluate(x=x), 2 * x[None, :])


def test_17_jacobian_of_Ax(rng):
    A, x = rng.normal(size=(3, 5)), rng.normal(size=5)
    J = tc.jacobian("A @ x", "x", shapes={"A": "M,N", "x": "N"})
    assert str(J) == "A"
    assert J.shape == ("M", "N")
    assert_close(J.evaluate(A=A, x=x), A)


def test_18_least_squares_gradient(rng):
    Phi, y, th = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3)
    shapes = {"Phi": "N,D", "theta": "D", "y": "N"}
    g = tc.derivative("norm(y - Phi @ theta)^2", "theta", shapes=shapes)
    assert str(g) == "-2 * Phi' @ (y - Phi @ theta)"
    expected = -2 * (y - Phi @ th) @ Phi  # -2 (yᵀ − θᵀΦᵀ) Φ
    assert_close(g.evaluate(Phi=Phi, y=y, theta=th), expected)
    row = tc.derivative("norm(y - Phi @ theta)^2", "theta", shapes=shapes, layout="numerator")
    assert_close(row.evaluate(Phi=Phi, y=y, theta=th), expected[None, :])


def test_19_df_dA_is_a_3_tensor(rng):
    A, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    d = tc.derivative("A @ x", "A", shapes={"A": "M,N", "x": "N"})
    assert d.shape == ("M", "M", "N")
    val = d.evaluate(A=A, x=x, dims={"M": 3})
    expected = np.einsum("ip,q->ipq", np.eye(3), x)  # ∂f_i/∂A_pq = x_q δ_ip
    assert_close(val, expected)


def test_20_dK_dR_is_a_4_tensor(rng):
    R = rng.normal(size=(3, 2))
    d = tc.derivative("R' @ R", "R", shapes={"R": "M,N"})
    assert d.shape == ("N", "N", "M", "N")
    val = d.evaluate(R=R)
    I = np.eye(2)  # ∂K_pq/∂R_ij = δ_jp R_iq + δ_jq R_ip
    expected = np.einsum("jp,iq->pqij", I, R) + np.einsum("jq,ip->pqij", I, R)
    assert_close(val, expected)
    assert val[0, 0, 1, 0] == pytest.approx(2 * R[1, 0])  # 2R_iq when j = p = q


def test_21_matrix_identities(rng):
    a, X, b = rng.normal(size=3), rng.normal(size=(3, 4)), rng.normal(size=4)
    g = tc.derivative("a' @ X @ b", "X", shapes={"a": "m", "X": "m,n", "b": "n"})
    assert str(g) == "a @ b'"
    assert_close(g.evaluate(a=a, X=X, b=b), np.outer(a, b))
    x, B = rng.normal(size=3), rng.normal(size=(3, 3))
    g = tc.derivative("x' @ B @ x", "x", shapes={"B": "n,n"})
    assert str(g) == "(B + B') @ x"
    assert_close(g.evaluate(x=x, B=B), x @ (B + B.T))
    A, s = rng.normal(size=(3, 2)), rng.normal(size=2)
    W0 = rng.normal(size=(3, 3))
    W = W0 + W0.T
    g = tc.derivative(
        "(x - A @ s)' @ W @ (x - A @ s)", "s", shapes={"x": "M", "A": "M,N", "W": "M,M"}
    )
    assert_close(g.evaluate(x=x, A=A, s=s, W=W), -2 * (x - A @ s) @ W @ A)


def test_22_kmeans_gradient(rng):
    # L = Σₙ Σₖ r_nk ‖xₙ − μₖ‖², X rows xₙ (N×D), M rows μₖ (K×D), R (N×K)
    X, M, R = rng.normal(size=(5, 2)), rng.normal(size=(3, 2)), rng.random((5, 3))
    L = "sum(R * (diag(X @ X') @ ones(K)' - 2 * X @ M' + ones(N) @ diag(M @ M')'))"
    shapes = {"X": "N,D", "M": "K,D", "R": "N,K"}
    g = tc.derivative(L, "M", shapes=shapes).evaluate(X=X, M=M, R=R)
    expected = np.stack([(R[:, j, None] * (-2 * X + 2 * M[j])).sum(axis=0) for j in range(3)])
    assert_close(g, expected)
    # zero at μⱼ = Σₙ r_nj xₙ / Σₙ r_nj
    Mstar = (R.T @ X) / R.sum(axis=0)[:, None]
    assert_close(tc.derivative(L, "M", shapes=shapes).evaluate(X=X, M=Mstar, R=R), np.zeros((3, 2)))


# -- 23, 25: Hessians and denominator layout (001) --------------------------------------------

F23 = "x * exp(-x^2 - y^2)"


@pytest.mark.parametrize("x,y", [(-1.0, 0.0), (0.5, -0.7), (1.2, 0.3)])
def test_23_gradient_and_hessian(x, y):
    e = np.exp(-(x**2) - y**2)
    p = {"x": x, "y": y}
    assert d_at(F23, "x", p) == pytest.approx(e * (1 - 2 * x**2))
    assert d_at(F23, "y", p) == pytest.approx(e * (-2 * x * y))
    fx, fy = tc.derivative(F23, "x"), tc.derivative(F23, "y")
    H = [[float(tc.derivative(a, v).evaluate(p)) for v in "xy"] for a in (fx, fy)]
    expected = e * np.array(
        [[4 * x**3 - 6 * x, 4 * x**2 * y - 2 * y], [4 * x**2 * y - 2 * y, 4 * x * y**2 - 2 * x]]
    )
    assert_close(H, expected, rtol=1e-12)
    assert float(tc.derivative(F23, "x", order=2).evaluate(p)) == pytest.approx(expected[0, 0])


def test_25_denominator_layout(rng):
    beta, x, A = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(3, 3))
    g = tc.derivative("beta' @ x", "x", shapes={"x": "n"}, layout="denominator")
    assert_close(g.evaluate(beta=beta, x=x), beta)
    g = tc.derivative("x' @ A @ x", "x", shapes={"A": "n,n"}, layout="denominator")
    assert str(g) == "(A + A') @ x"
    assert_close(g.evaluate(A=A, x=x), (A + A.T) @ x)
    X, U, V = rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), rng.normal(size=(2, 5))
    shapes = {"X": "m,n", "U": "m,r", "V": "r,n"}
    g = tc.derivative("norm(X - U @ V)^2", "V", shapes=shapes, layout="denominator")
    assert str(g) == "-2 * U' @ (X - U @ V)"
    assert_close(g.evaluate(X=X, U=U, V=V), -2 * U.T @ (X - U @ V))


# -- 28: backpropagation values via subs, 31: exercises ----------------------------------------


def test_28_backprop_values():
    f = tc.parse("(u + v)^2").subs({"u": "(a + b)^2", "v": "(a - b)^2"})
    f = f.subs({"a": "(w + x + y + z)^2", "b": "(w + x - y - z)^2"})
    p = {"w": -1.0, "x": 0.0, "y": -2.0, "z": 1.0}
    assert float(f.evaluate(p)) == 1024.0
    for name in "wxyz":
        assert float(tc.derivative(f, name).evaluate(p)) == -4096.0


def test_31_norm_gradient(rng):
    v = rng.normal(size=5)
    g = tc.derivative("norm(v)", "v", shapes={"v": "n"})
    assert str(g) == "v / norm(v)"
    assert_close(g.evaluate(v=v), v / np.linalg.norm(v))


def test_31_inconclusive_point():
    f = "x^2 * y + x * y^2"
    p = {"x": 0.0, "y": 0.0}
    grads = [tc.derivative(f, v).evaluate(p) for v in "xy"]
    H = [[float(tc.derivative(tc.derivative(f, a), b).evaluate(p)) for b in "xy"] for a in "xy"]
    assert grads == [0.0, 0.0]
    assert H == [[0.0, 0.0], [0.0, 0.0]]
    # neither max nor min: f changes sign along x = y
    fe = tc.parse(f)
    assert float(fe.evaluate(x=0.1, y=0.1)) > 0 > float(fe.evaluate(x=-0.1, y=-0.1))


def test_31_transpose_invariance(rng):
    beta, x = rng.normal(size=4), rng.normal(size=4)
    g1 = tc.derivative("beta' @ x", "x", shapes={"x": "n"})
    g2 = tc.derivative("x' @ beta", "x", shapes={"x": "n"})
    assert g1 is g2
    assert_close(g1.evaluate(beta=beta, x=x), beta)


def test_30_matches_central_differences(rng):
    X, U, V = rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), rng.normal(size=(2, 5))
    f = tc.parse("norm(X - U @ V)^2", shapes={"X": "m,n", "U": "m,r", "V": "r,n"})
    g = tc.derivative(f, "V").evaluate(X=X, U=U, V=V)
    fd = central_jacobian(lambda v: np.sum((X - U @ v) ** 2), V)
    assert_close(g, fd)


# -- 4, 18, 22, 24, 27, 29, 31: the analysis tools (issue 6) ----------------------------------


def test_4_gradient_descent_iterates():
    r = tc.minimize("x^2 - 4*x + 3", "x", 4, method="gd", lr=0.1, steps=200)
    assert r.iterates[:4] == pytest.approx([4.0, 3.6, 3.28, 3.024], abs=1e-12)
    # closed form: x_k − 2 = 2 · 0.8^k
    assert r.iterates[:30] == pytest.approx([2 + 2 * 0.8**k for k in range(30)], abs=1e-12)
    assert r.converged and r.x == pytest.approx(2.0, abs=1e-8)
    assert r.values[0] == 3.0 and r.grad_norms[0] == 4.0


def test_18_least_squares_closed_form(rng):
    shapes = {"Phi": "N,D", "theta": "D", "y": "N"}
    theta = tc.solve_stationary("norm(y - Phi @ theta)^2", "theta", shapes=shapes)
    assert str(theta) == "solve(Phi' @ Phi, Phi' @ y)"
    Phi, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    expected = np.linalg.inv(Phi.T @ Phi) @ Phi.T @ y  # θ = (ΦᵀΦ)⁻¹Φᵀy
    assert_close(theta.evaluate(Phi=Phi, y=y), expected, rtol=1e-10)
    assert_close(theta.evaluate(Phi=Phi, y=y), np.linalg.lstsq(Phi, y, rcond=None)[0], rtol=1e-10)
    src = tc.codegen(theta)
    assert "np.linalg.solve(" in src and "np.linalg.inv(" not in src


def test_22_kmeans_centres(rng):
    L = "sum(R * (diag(X @ X') @ ones(K)' - 2 * X @ M' + ones(N) @ diag(M @ M')'))"
    shapes = {"X": "N,D", "M": "K,D", "R": "N,K"}
    M = tc.solve_stationary(L, "M", shapes=shapes)
    X, R = rng.normal(size=(7, 2)), rng.random((7, 3))
    expected = (R.T @ X) / R.sum(axis=0)[:, None]  # μⱼ = Σₙ r_nj xₙ / Σₙ r_nj
    assert_close(M.evaluate(X=X, R=R), expected, rtol=1e-12)
    assert "inv" not in str(M) and "solve" not in str(M)  # a diagonal system is a division


def test_24_quadratic_approximation():
    q = tc.taylor(F23, at={"x": -1, "y": 0}, order=2)
    e = np.exp(-1)
    closed = lambda x, y: e * (-1 - (x + 1) + (x + 1) ** 2 + y**2)  # noqa: E731 (the corrected seed)
    rng = np.random.default_rng(24)
    for x, y in rng.uniform(-2, 2, size=(20, 2)):
        assert float(q.evaluate(x=x, y=y)) == pytest.approx(closed(x, y), abs=1e-12)
    seed_cell = lambda x, y: e * (-1 - (x + 1) + 2 * (x + 1) ** 2 + 2 * y**2)  # noqa: E731
    assert float(q.evaluate(x=0.0, y=1.0)) != pytest.approx(seed_cell(0.0, 1.0))


def test_27_critical_points():
    points = tc.critical_points("3*x^4 - 4*x^3 - 12*x^2", over={"x": (-3, 3)})
    assert [p.point["x"] for p in points] == pytest.approx([-1, 0, 2], abs=1e-10)
    assert [p.value for p in points] == pytest.approx([-5, 0, -32], abs=1e-9)
    assert [p.kind for p in points] == ["local minimum", "local maximum", "global minimum"]


@pytest.mark.parametrize(
    "f,at",
    [
        ("x' @ A @ x + b' @ x + 3", {"x": [0.5, -1.0, 2.0]}),
        ("2*x^2 - 3*x*y + y^2 + x - 4", {"x": 1.5, "y": -0.5}),
    ],
)
def test_29_quadratic_approximation_is_exact_for_quadratics(f, at, rng):
    e = tc.parse(f, {"x": 3, "A": (3, 3), "b": 3} if "A" in f else None)
    if "A" in f:
        e = e.subs({"A": rng.normal(size=(3, 3)), "b": rng.normal(size=3)})
    q = tc.taylor(e, at=at, order=2)
    for _ in range(5):
        pt = {k: np.asarray(v) + rng.normal(size=np.shape(v)) for k, v in at.items()}
        assert float(q.evaluate(pt)) == pytest.approx(float(e.evaluate(pt)), rel=1e-12, abs=1e-12)


def test_31_classify_inconclusive_and_the_others():
    assert tc.classify("x^2 * y + x * y^2", at={"x": 0, "y": 0}).kind == "inconclusive"
    assert tc.classify("x^2 + y^2", at={"x": 0, "y": 0}).kind == "local minimum"
    assert tc.classify("-x^2 - y^2", at={"x": 0, "y": 0}).kind == "local maximum"
    assert tc.classify("x^2 - y^2", at={"x": 0, "y": 0}).kind == "saddle point"
    assert tc.classify("x^2 + y^2", at={"x": 1, "y": 0}).kind == "not a critical point"
