"""Simplification to matrix notation (tensorcalc.simplify): every rewrite is checked against its
unsimplified form at random values, and the issue's rows print as an expert writes them."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc import build as b
from tensorcalc.diff.layout import apply_layout
from tensorcalc.diff.reverse import derivative as raw_derivative
from tensorcalc.expr import variables
from tensorcalc.numeric.evaluate import evaluate
from tensorcalc.parse import as_expr
from tensorcalc.simplify import is_symmetric, simplify
from tensorcalc.simplify.rules import REWRITES

SIZES = {"n": 3, "m": 4, "h": 5, "o": 2, "N": 6, "D": 3, "k": 2, "r": 2}


def values(e, rng):
    """Random values: square matrices well conditioned, vectors away from zero."""
    out = {}
    for name, v in variables(e).items():
        shape = tuple(SIZES.get(d, d) for d in v.shape)
        a = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + 4 * np.eye(shape[0])
        out[name] = a
    return out


def unsimplified(f, wrt, shapes, order=1, layout=None):
    f = as_expr(f, shapes)
    x = variables(f)[wrt]
    d = f
    for _ in range(order):
        d = raw_derivative(d, x, [])
    return f, apply_layout(d, f.ndim, x.ndim, order, layout)


def check_equal(raw, simple, rng, like=None):
    vals = values(like if like is not None else raw, rng)
    got = evaluate(simple, vals, dims=SIZES)
    assert_close(got, evaluate(raw, vals, dims=SIZES), rtol=1e-9, atol=1e-11)


# (input, wrt, shapes, order, layout, the expert's text)
EXPERT = [
    ("tr(X' @ B @ X @ C)", "X", "X=n,n B=n,n C=n,n", 1, None, "B @ X @ C + B' @ X @ C'"),
    ("tr(A @ X @ B @ X')", "X", "X=m,n A=m,m B=n,n", 1, None, "A @ X @ B + A' @ X @ B'"),
    (
        "(x' @ A @ x)^2", "x", "x=n A=n,n", 2, None,
        "2 * ((x' @ A @ x) * (A + A') + (A + A') @ x @ x' @ (A + A'))",
    ),
    ("logdet(X' @ X)", "X", "X=m,n", 1, None, "2 * X @ inv(X' @ X)"),
    ("x / norm(x)", "x", "x=n", 1, None, "(eye(n) - x @ x' / (x' @ x)) / norm(x)"),  # (I - x xᵀ/xᵀx)/‖x‖
    ("logdet(diag(x))", "x", "x=n", 1, None, "1 / x"),
    ("tr(X @ B @ X')", "X", "X=m,n B=n,n", 1, None, "X @ (B + B')"),
    ("a' @ x", "x", "a=n x=n", 1, "numerator", "a'"),
    ("x' @ A @ x", "x", "x=n A=n,n", 1, "numerator", "x' @ (A + A')"),
    ("x' @ A @ x", "x", "x=n A=n,n", 2, "denominator", "A + A'"),
    ("a' @ inv(X) @ b", "X", "a=n X=n,n b=n", 1, None, "-inv(X)' @ a @ b' @ inv(X)'"),
    ("logdet(X @ X')", "X", "X=n,m", 1, None, "2 * solve(X @ X', X)"),
    ("tr(inv(X' @ X))", "X", "X=m,n", 1, None, "-2 * X @ M @ M where M = inv(X' @ X)"),
    ("x' @ (A + A') @ x", "x", "x=n A=n,n", 1, None, "2 * (A + A') @ x"),
    ("norm(A @ x - b)^2", "x", "A=m,n x=n b=m", 2, None, "2 * A' @ A"),
    ("sum(relu(z) * step(z))", "z", "z=n", 1, None, "step(z)"),
    ("sum(softmax(Y, 1))", "Y", "Y=m,n", 2, None, "zeros(m, n, m, n)"),  # rows sum to 1
    ("log(sum(exp(x)))", "x", "x=n", 2, None, "diag(softmax(x)) - softmax(x) @ softmax(x)'"),
    ("log(sum(exp(x)))", "x", "x=n", 1, None, "softmax(x)"),
]  # fmt: skip


def _shapes(text):
    return dict(item.split("=") for item in text.split())


@pytest.mark.parametrize("f,wrt,shapes,order,layout,expert", EXPERT, ids=lambda v: str(v))
def test_expert_form_and_equal_value(f, wrt, shapes, order, layout, expert, rng):
    shapes = _shapes(shapes)
    d = tc.derivative(f, wrt, order=order, shapes=shapes, layout=layout)
    assert str(d) == expert
    fx, raw = unsimplified(f, wrt, shapes, order, layout)
    check_equal(raw, d, rng, like=fx)
    if layout is None:  # the printed text parses back to an equal value
        check_equal(raw, tc.parse(str(d), shapes), rng, like=fx)


def test_latex_of_the_issue_rows():
    d = tc.derivative("a' @ inv(X) @ b", "X", shapes={"a": "n", "X": "n,n", "b": "n"})
    assert d.latex() == r"-X^{-\top} a b^\top X^{-\top}"
    shapes = {"W1": "h,n", "W2": "o,h", "x": "n", "y": "o"}
    d = tc.derivative("norm(W2 @ relu(W1 @ x) - y)^2", "W1", shapes=shapes)
    tex = d.latex()  # the elementwise product is bracketed before the outer product with x
    assert tex.startswith(r"2 \left(\operatorname{step}\left(W_{1} x\right) \odot ")
    assert tex.endswith(r"\right) x^\top")


# ------------------------------------------------------------------------- symmetry


SYM = {"X": ("m", "n"), "L": ("n", "k"), "Y": ("n", "n"), "A": ("n", "n"), "B": ("n", "n")}


@pytest.mark.parametrize(
    "text,symmetric",
    [
        ("X' @ X", True), ("L @ L'", True), ("Y + Y'", True), ("inv(X' @ X)", True),
        ("inv(L @ L')", True), ("inv(Y + Y')", True), ("X @ (A + A') @ X'", True),
        ("(A + A') @ (A + A')", True), ("exp(Y + Y')", True), ("eye(n) + 2 * Y @ Y'", True),
        ("A", False), ("A @ B", False), ("A + B'", False), ("inv(A)", False), ("A @ A'", True),
    ],
)  # fmt: skip
def test_is_symmetric(text, symmetric, rng):
    e = tc.parse(text, SYM)
    assert is_symmetric(e) is symmetric
    v = evaluate(e, values(e, rng), dims=SIZES)
    if symmetric:
        assert_close(v, v.T, rtol=1e-12)


def test_every_op_has_a_symmetry_entry():
    from tensorcalc.ops import Op
    from tensorcalc.simplify.symmetry import SYMMETRIC

    assert set(SYMMETRIC) == set(Op)


def test_declared_symmetric_variables_are_symmetric(rng):
    sh = {"S": ("n", "n", "symmetric"), "X": ("m", "n")}
    assert is_symmetric(tc.parse("S", sh)) and is_symmetric(tc.parse("X @ S @ X'", sh))
    assert is_symmetric(tc.parse("inv(S) + exp(S)", sh))


def test_symmetry_is_used():
    Y, X = tc.matrix("Y", "n", "n"), tc.matrix("X", "n", "n")
    S = Y + Y.T
    assert simplify(S.T) is S  # (A + A')' = A + A'
    M = tc.inv(X.T @ X)
    assert simplify(M.T) is M  # inv(X'X)' = inv(X'X)
    assert str(simplify(M + M.T)) == "2 * inv(X' @ X)"  # equal terms merge
    assert str(simplify(tc.inv(X @ X) @ X)) == "inv(X)"  # inverses cancel
    assert str(simplify(X @ tc.inv(X) @ Y)) == "Y"


# ------------------------------------------------------------ each rewrite, numerically

x, z, p, q = tc.vector("x", "n"), tc.vector("z", "n"), tc.scalar("p"), tc.scalar("q")
X, Y, Z = tc.matrix("X", "n", "n"), tc.matrix("Y", "n", "n"), tc.matrix("Z", "n", "n")
B4 = b.outer(X, Y) + b.transpose(b.outer(X, Y), (1, 0, 3, 2))

_N = {"x": ("n",), "X": ("n", "n"), "p": ()}
u6, w6, Y3 = tc.vector("u6", 6), tc.vector("w6", 6), tc.matrix("Y3", 3, 3)
REWRITE_CASES = [
    # (rule name, expression that triggers it, its simplified text)
    ("eye_diagonal", b.diag(b.eye("n")) * x, "x"),
    ("absorb", tc.relu(z) * b.unary(b.Op.STEP, z), "relu(z)"),
    ("absorb", b.unary(b.Op.ABS, z) * b.unary(b.Op.SIGN, z), "z"),
    ("cancel_inverse", tc.inv(X) @ X @ Y, "Y"),
    ("inverse_of_product", Y @ tc.inv(X @ Y), "inv(X)"),
    ("merge_powers", b.div(1, p) * b.div(1, p**2), "1 / p^3"),
    ("distribute", b.einsum([(B4, "ijkl"), (X, "kl")], "ij"), None),
    ("orient_symmetric", (Y + Y.T).T @ X, "(Y + Y') @ X"),
    ("common_coefficient", 2 * X + 2 * Y, "2 * (X + Y)"),
    ("reciprocal_of_product", b.div(b.ones(("n",)), p * b.ones(("n",))), "ones(n) / p"),
    ("reciprocal_of_product", -(p**2) / (p / q) / q**2, "-p / q"),
    ("power_of_scalar", (b.div(b.ones(("n",)), p * b.ones(("n",)))) ** 2, "ones(n) / p^2"),
    ("inverse_of_transpose", tc.inv(X.T) @ x, "inv(X)' @ x"),
    ("inverse_of_product", X.T @ tc.inv(X @ Y @ Z).T @ Z.T, "inv(Y)'"),
    ("sqrt_of_square_sum", tc.sqrt(x @ x), "norm(x)"),
    ("softmax_sums_to_one", tc.sum(tc.softmax(X, 1), 1) * x, "x"),
    ("softmax_sums_to_one", tc.sum(tc.softmax(X)) * p, "p"),
    ("log_of_sum_of_exp", tc.log(tc.sum(tc.exp(x))), "logsumexp(x)"),
    ("log_of_sum_of_exp", tc.log(tc.sum(tc.exp(X), 0)), "logsumexp(X, 0)"),
    ("exp_over_sum_is_softmax", tc.exp(x) / tc.sum(tc.exp(x)), "softmax(x)"),
    (
        "exp_over_sum_is_softmax",
        b.div(tc.exp(X), b.outer(tc.sum(tc.exp(X), 1), b.ones(("n",)))),
        "softmax(X, 1)",
    ),
    ("delta_joins_vectors", tc.diag(x) @ tc.diag(z), "diag(z * x)"),
    ("cancel_counts", tc.parse("mean(ones(n) @ mean(X, 0)', 0)", _N), "sum(X, 0) / sum(ones(n))"),
    ("cancel_counts", tc.parse("sum(ones(n))^3 / sum(ones(n))^2 * x", _N), "sum(ones(n)) * x"),
    ("sum_of_constant_term", tc.parse("sum(x - mean(x))", _N), "0"),
    ("sum_of_constant_term", tc.parse("mean(X - ones(n) @ mean(X, 0)', 0)", _N), "zeros(n)"),
    ("sum_of_constant_term", tc.parse("sum(x + p * ones(n))", _N), "sum(x) + p * sum(ones(n))"),
    ("norm_of_zero", tc.parse("norm(x - mean(x) - (x - mean(x)))", _N), "0"),
    ("function_of_a_fill", tc.parse("softplus(ones(n)) * x", _N), "softplus(1) * x"),
    (
        "split_identity",
        b.einsum([(b.reshape(b.eye(6), (2, 3, 2, 3)), "ijkl"), (Y3, "jl")], "ik"),
        "tr(Y3) * eye(2)",
    ),
    (
        "split_outer",
        b.reshape(b.outer(u6, w6), (2, 3, 3, 2)) * p,
        'p * einsum("ij,kl->ijkl", reshape(u6, (2, 3)), reshape(w6, (3, 2)))',
    ),
    (
        "split_outer",
        b.einsum([(b.reshape(b.outer(u6, w6), (2, 3, 2, 3)), "ijkl"), (Y3, "jl")], "ik"),
        "reshape(u6, (2, 3)) @ Y3 @ reshape(w6, (2, 3))'",
    ),
    ("function_of_a_fill", tc.parse("(X - ones(n) @ mean(X, 0)')' @ exp(ones(n))", _N), "zeros(n)"),
    ("norm_of_zero", tc.parse("p * norm(mean(X - ones(n) @ mean(X, 0)', 0))", _N), "0"),
    ("delta_first_index", b.einsum([(b.eye("n"), "ij"), (x, "j")], "ij") * p, "p * diag(x)"),
    (
        "ones_once",
        b.einsum([(b.ones(("n",)), "i"), (b.ones(("n",)), "i")], "") * p,
        "p * sum(ones(n))",
    ),  # norm(ones(n))^2 is n
    (
        "ones_once",
        b.einsum([(b.ones(("n", "n")), "ij"), (b.ones(("n",)), "j"), (x, "i")], "i"),
        "sum(ones(n)) * x",
    ),
    (
        "frechet_sums_a_direction",
        b.einsum([(b.expm_frechet(X, b.outer(Y, Z)), "ijkl"), (Y, "ij")], "kl"),
        "expm_frechet(X, norm(Y)^2 * Z)",
    ),
    (
        "frechet_sums_a_direction",
        b.einsum([(b.expm_frechet(X, b.outer(x, Y)), "ijk"), (z, "i")], "jk"),
        "expm_frechet(X, (z' @ x) * Y)",
    ),
    (
        "frechet_applied_to_a_direction",
        b.einsum([(b.expm_frechet(X, Y, b.frechet_units(X)), "ijkl"), (Z, "kl")], "ij"),
        "expm_frechet(X', Y', Z)",
    ),
    ("frechet_drops_identity", b.expm_frechet(X, Y, b.eye("n")), "expm_frechet(X, Y)"),
    ("frechet_drops_identity", b.expm_frechet(X, b.eye("n")), "expm(X)"),
    ("expm_of_transpose", b.func(b.Op.EXPM, X.T) @ x, "expm(X)' @ x"),
]


@pytest.mark.parametrize("rule,e,text", REWRITE_CASES, ids=[c[0] for c in REWRITE_CASES])
def test_each_rewrite_equals_its_unsimplified_form(rule, e, text, rng):
    assert any(f.__name__ == rule for rules in REWRITES.values() for f in rules)
    s = simplify(e)
    if text is not None:
        assert str(s) == text
    else:
        assert "einsum" not in str(s)
    check_equal(e, s, rng)


def test_random_derivatives_simplify_to_equal_values(rng):
    """Random compositions, first and second derivatives: simplified = unsimplified."""
    A = tc.matrix("A", "n", "n")
    unary = [tc.sin, tc.tanh, tc.exp, tc.sigmoid, lambda v: v * v, tc.softmax]
    gen = random.Random(1)
    for _ in range(25):
        h = x
        for _ in range(gen.randrange(1, 4)):
            k = gen.randrange(4)
            h = (
                unary[gen.randrange(len(unary))](h)
                if k == 0
                else tc.tanh(A @ h)
                if k == 1
                else h / (2 + h * h)
                if k == 2
                else h * x + 0.5
            )
        f = gen.choice([tc.sum(h), h @ A @ h, tc.norm(h + 2.0), tc.logsumexp(h)])
        for wrt, order in ((x, 1), (x, 2), (A, 1)):
            d = f
            for _ in range(order):
                d = raw_derivative(d, wrt, [])
            check_equal(d, simplify(d), rng, like=f)


# ------------------------------------------------------------------------ where clause


def test_where_names_a_repeated_subexpression(rng):
    shapes = {"X": "N,D", "w": "D", "y": "N"}
    H = tc.hessian("sum(log(1 + exp(-y * (X @ w))))", "w", shapes=shapes)
    assert str(H) == "X' @ diag(u * (1 - u) * y^2) @ X where u = sigmoid(-y * (X @ w))"
    assert tc.text(H, where=False).count("sigmoid") == 2
    assert H.latex().endswith(
        r"\quad \text{where } u = \operatorname{sigmoid}\left(-\left(y \odot \left(X w\right)\right)\right)"
    )
    assert "where" not in H.latex(where=False) and "where" not in tc.latex(H, where=False)
    again = tc.parse(str(H), shapes)
    check_equal(H, again, rng)


def test_where_parses_definitions_in_order(rng):
    sh = {"X": "m,n", "C": "m,m"}
    e = tc.parse("M @ N where M = X' @ C @ X, N = inv(M)", sh)
    assert e is tc.parse("(X' @ C @ X) @ inv(X' @ C @ X)", sh)
    d = tc.derivative("tr(inv(X' @ C @ X))", "X", shapes=sh)
    assert str(d) == "-(C @ X @ M @ M + C' @ X @ M' @ M') where M = inv(X' @ C @ X)"
    check_equal(d, tc.parse(str(d), sh), rng)
    with pytest.raises(tc.ParseError):
        tc.parse("x where 3", {"x": "n"})


def test_the_reversal_is_symmetric_so_its_transpose_is_dropped(rng):
    # d(x[::-1]' @ A @ x)/dx = Jᵀ A x + Aᵀ J x with J = Jᵀ the reversal
    f = tc.parse("x[::-1]' @ A @ x", {"x": (4,), "A": (4, 4)})
    g = tc.derivative(f, "x")
    x, a = rng.standard_normal(4), rng.standard_normal((4, 4))
    assert_close(tc.evaluate(g, x=x, A=a), (a @ x)[::-1] + a.T @ x[::-1])
    assert "select(4, 4, 3, -1)'" not in str(g)
