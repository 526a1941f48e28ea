"""Operator sugar, substitution, layouts, steps and the derivative's DAG size."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_jacobian, expr_fun
from tensorcalc.expr import postorder


def test_sugar_builds_the_same_nodes_as_parse():
    x = tc.vector("x", "n")
    A = tc.matrix("A", "n", "n")
    assert x.T @ A @ x is tc.parse("x' @ A @ x", {"x": "n", "A": "n,n"})
    assert tc.exp(2 * x) - x / 3 is tc.parse("exp(2 * x) - x / 3", {"x": "n"})
    assert tc.tr(A @ A) is tc.parse("tr(A @ A)", {"A": "n,n"})
    s = tc.scalar("s")
    assert s**2 + 1 is tc.parse("s^2 + 1")
    T = tc.tensor("T", (2, 3, 4))
    assert T.shape == (2, 3, 4)


def test_interning_and_canonical_sums():
    x = tc.vector("x", 3)
    y = tc.vector("y", 3)
    assert x + y is y + x
    assert x + x is 2 * x
    assert (x - x).op.value == "const"
    assert tc.vector("x", 3) is x


def test_expr_is_immutable():
    x = tc.scalar("x")
    with pytest.raises(AttributeError):
        x.op = None
    with pytest.raises(tc.TensorCalcError):
        bool(x)


def test_subs_chain_rule_matches_fd(rng):
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    g = f.subs({"x": "B @ t"}, shapes={"B": ("n", "k"), "t": ("k",)})
    A, B, t = rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    d = tc.derivative(g, "t")
    fd = central_jacobian(expr_fun(g, {"A": A, "B": B}, "t"), t)
    assert_close(d.evaluate(A=A, B=B, t=t), fd)
    with pytest.raises(tc.ShapeError):
        f.subs({"x": "t"}, shapes={"t": ("k",)})


LAYOUT_CASES = [
    # (expr, shapes, wrt, order, layout, expected value from the jacobian-layout value J)
    ("x' @ x", {"x": (3,)}, "x", 1, "jacobian", lambda J: J),
    ("x' @ x", {"x": (3,)}, "x", 1, "numerator", lambda J: J[None, :]),
    ("x' @ x", {"x": (3,)}, "x", 1, "denominator", lambda J: J),
    ("A @ x", {"A": (2, 3), "x": (3,)}, "x", 1, "numerator", lambda J: J),
    ("A @ x", {"A": (2, 3), "x": (3,)}, "x", 1, "denominator", lambda J: J.T),
    ("sum(X * X)", {"X": (2, 3)}, "X", 1, "numerator", lambda J: J.T),
    ("sum(X * X)", {"X": (2, 3)}, "X", 1, "denominator", lambda J: J),
    ("s * x", {"x": (3,), "s": ()}, "s", 1, "denominator", lambda J: J[None, :]),
    ("A @ x", {"A": (2, 3), "x": (3,)}, "A", 1, "jacobian", lambda J: J),
    ("A @ x", {"A": (2, 3), "x": (3,)}, "A", 1, "denominator", lambda J: J.transpose(1, 2, 0)),
    ("x' @ A @ x", {"A": (3, 3)}, "x", 2, "denominator", lambda J: J.T),
]


@pytest.mark.parametrize("text,shapes,wrt,order,layout,view", LAYOUT_CASES)
def test_layouts(text, shapes, wrt, order, layout, view, rng):
    f = tc.parse(text, shapes)
    vals = {k: rng.normal(size=v.shape) for k, v in tc.expr.variables(f).items()}
    J = tc.derivative(f, wrt, order=order).evaluate(vals)
    assert J.shape == f.shape + vals[wrt].shape * order
    d = tc.derivative(f, wrt, order=order, layout=layout)
    assert_close(d.evaluate(vals), view(J))


def test_steps_are_recorded():
    dv = tc.derivation("sin(x) * exp(x) + logdet(X)", "x", shapes={"X": (2, 2)})
    rules = {s.rule for s in dv.steps}
    assert "product rule" in rules and "sum rule" in rules
    assert any("sin" in r for r in rules)
    dX = tc.derivation("logdet(X) + tr(inv(X))", "X", shapes={"X": (2, 2)})
    rules = {s.rule for s in dX.steps}
    assert any("log|det X|" in r for r in rules) and any("X⁻¹" in r for r in rules)
    assert "d/dX" in str(dX)


def test_gradient_dag_stays_linear_for_deep_networks(rng):
    # an L-layer tanh network: gradient size is a small multiple of f's size
    W = [tc.matrix(f"W{k}", "n", "n") for k in range(8)]
    x = tc.vector("x", "n")
    h = x
    for w in W:
        h = tc.tanh(w @ h)
    f = tc.sum(h * h)
    nf = len(postorder([f]))
    g = tc.derivative(f, "W0")
    assert len(postorder([g])) <= 6 * nf
    vals = {f"W{k}": rng.normal(size=(3, 3)) * 0.5 for k in range(8)} | {"x": rng.normal(size=3)}
    fd = central_jacobian(expr_fun(f, vals, "W0"), vals["W0"])
    assert_close(g.evaluate(vals), fd)


def test_logistic_hessian_is_compact():
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    H = tc.hessian(f, "w")
    assert len(postorder([H])) <= 6 * len(postorder([f]))
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(20, 3)), rng.choice([-1.0, 1.0], 20), rng.normal(size=3)
    p = 1 / (1 + np.exp(y * (X @ w)))
    assert_close(H.evaluate(X=X, y=y, w=w), X.T @ (X * (p * (1 - p))[:, None]))
