"""Issue 23's notation cases: each prints in its expert form, in text and LaTeX, with its value
unchanged (against a NumPy closed form, and central differences of it for derivatives), and
both forms read back (the text as the same node where the IR has one form for it)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_hessian, central_jacobian

V = {"a": "n", "b": "n", "c": "n", "x": "n"}
SIZES = {"n": 3, "k": 3, "m": 2, "p": 4, "s": 5}


def _root(v):
    return np.sqrt((v["c"] @ v["a"]) * (v["x"] @ v["b"]))


def _softmax_rows(v):
    e = np.exp(v["Y"] - v["Y"].max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).sum()


def _layer_norm(v):
    u = v["x"] - v["x"].mean()
    return u / np.sqrt((u**2).mean() + 1e-5)


ROOT = "((c'@a)*(x'@b))^0.5"
CASES = [
    # (input, shapes, wrt, order, text, LaTeX, NumPy closed form of the input, same node back)
    (ROOT, V, None, 0, "((a' @ c) * (b' @ x))^0.5",
     r"\left(\left(a^\top c\right) \left(b^\top x\right)\right)^{\frac{1}{2}}", _root, True),
    (ROOT, V, "x", 1, "0.5 * ((a' @ c) * (b' @ x))^(-0.5) * (a' @ c) * b",
     r"\frac{1}{2} \left(\left(a^\top c\right) \left(b^\top x\right)\right)^{-\frac{1}{2}}"
     r" \left(a^\top c\right) b", _root, True),
    (ROOT, V, "x", 2, "-0.25 * (a' @ c)^2 * ((a' @ c) * (b' @ x))^(-1.5) * b @ b'",
     r"-\frac{1}{4} \left(a^\top c\right)^{2} \left(\left(a^\top c\right) \left(b^\top x\right)"
     r"\right)^{-\frac{3}{2}} b b^\top", _root, False),  # (a'c)^2 reads back as a power
    ("mean(x)^2", {"x": "n"}, "x", 1, "2 * sum(x) * ones(n) / sum(ones(n))^2",
     r"2 \frac{\operatorname{sum}\left(x\right) \mathbf{1}_{n}}{n^{2}}",
     lambda v: v["x"].mean() ** 2, True),
    ("norm(ones(n))^2 * x' @ x", {"x": "n"}, "x", 1, "2 * sum(ones(n)) * x", "2 n x",
     lambda v: 3 * v["x"] @ v["x"], True),
    ("mean(X)", {"X": "m,n"}, None, 0, "sum(X) / sum(ones(m, n))",
     r"\frac{\operatorname{sum}\left(X\right)}{m n}", lambda v: v["X"].mean(), True),
    ("(x - mean(x)) / sqrt(mean((x - mean(x))^2) + 1e-5)", {"x": "s"}, None, 0,
     "u / sqrt(1e-05 + sum(u^2) / sum(ones(s))) where u = x - sum(x) * ones(s) / sum(ones(s))",
     r"\frac{u}{\sqrt{1e-05 + \frac{\operatorname{sum}\left(u^{2}\right)}{s}}} \quad \text{where }"
     r" u = x - \frac{\operatorname{sum}\left(x\right) \mathbf{1}_{s}}{s}", _layer_norm, True),
    ("sum(softmax(Y, 1))", {"Y": "m,n"}, "Y", 2, "zeros(m, n, m, n)",
     r"\mathbf{0}_{m \times n \times m \times n}", _softmax_rows, True),
    ("log(sum(exp(x)))", {"x": "n"}, "x", 2, "diag(softmax(x)) - softmax(x) @ softmax(x)'",
     r"\operatorname{diag}\left(\operatorname{softmax}\left(x\right)\right)"
     r" - \operatorname{softmax}\left(x\right) \operatorname{softmax}\left(x\right)^\top",
     lambda v: np.log(np.exp(v["x"]).sum()), True),
    ("tr(A) * A", {"A": "n,n"}, "A", 1,
     'einsum("ij,kl->ijkl", A, eye(n)) + tr(A) * einsum("ik,jl->ijkl", eye(n), eye(n))',
     r"\left[A_{ij} \left(I_{n}\right)_{kl}\right]_{ijkl} + \operatorname{tr}\left(A\right)"
     r" \left[\left(I_{n}\right)_{ik} \left(I_{n}\right)_{jl}\right]_{ijkl}",
     lambda v: np.trace(v["A"]) * v["A"], True),
    ("b * (a * x)", V, "x", 1, "diag(a * b)", r"\operatorname{diag}\left(a \odot b\right)",
     lambda v: v["b"] * v["a"] * v["x"], True),
    ("a / x", {"a": "", "x": "k"}, "x", 1, "-a * diag(1 / x^2)",
     r"-a \operatorname{diag}\left(\frac{1}{x^{2}}\right)", lambda v: v["a"] / v["x"], True),
    ("exp(x' @ A @ x)", {"x": "n", "A": "n,n"}, "x", 1, "exp(x' @ A @ x) * (A + A') @ x",
     r"\exp\left(x^\top A x\right) \left(A + A^\top\right) x",
     lambda v: np.exp(v["x"] @ v["A"] @ v["x"]), False),  # equal, as before this printing
    ("softmax(Z, (0, 1))", {"Z": "m,n,p"}, None, 0, "softmax(Z, (0, 1))",
     r"\operatorname{softmax}_{0, 1}\left(Z\right)",
     lambda v: np.exp(v["Z"]) / np.exp(v["Z"]).sum((0, 1)), True),
    ("logsumexp(Z, (0, 2))", {"Z": "m,n,p"}, None, 0, "logsumexp(Z, (0, 2))",
     r"\operatorname{logsumexp}_{0, 2}\left(Z\right)",
     lambda v: np.log(np.exp(v["Z"]).sum((0, 2))), True),
]  # fmt: skip


def _values(f, rng):
    vals = {}
    for name, node in tc.expr.variables(f).items():
        shape = tuple(SIZES[d] if isinstance(d, str) else d for d in node.shape)
        vals[name] = rng.uniform(0.5, 1.5, size=shape)  # positive: the square root's domain
    if "A" in vals:
        vals["A"] = vals["A"] * 0.3
    return vals


def _expected(oracle, vals, wrt, order):
    if order == 0:
        return oracle(vals)
    fun = lambda x: oracle({**vals, wrt: x})  # noqa: E731
    return (central_jacobian if order == 1 else central_hessian)(fun, vals[wrt])


IDS = [f"{c[0]}-{c[2]}-{c[3]}" for c in CASES]


@pytest.mark.parametrize("text,shapes,wrt,order,printed,latex,oracle,same", CASES, ids=IDS)
def test_notation_case(text, shapes, wrt, order, printed, latex, oracle, same, rng):
    f = tc.parse(text, shapes)
    d = tc.derivative(f, wrt, order=order) if order else f
    assert str(d) == printed
    assert d.latex() == latex
    vals = _values(f, rng)
    want = _expected(oracle, vals, wrt, order)
    assert_close(d.evaluate(vals, dims=SIZES), want, rtol=1e-4, atol=1e-5)
    again = tc.parse(str(d), shapes)  # the text reads back, as the same node where it can
    assert (again is d) == same
    assert_close(again.evaluate(vals, dims=SIZES), want, rtol=1e-4, atol=1e-5)
    back = tc.parse(d.latex(), shapes, syntax="latex")  # and the LaTeX, to the same value
    assert_close(back.evaluate(vals, dims=SIZES), want, rtol=1e-4, atol=1e-5)


def test_the_size_n_in_latex_reads_back_with_a_note():
    shapes = {"x": "n"}
    e = tc.parse(r"\frac{\operatorname{sum}\left(x\right)}{n}", shapes, syntax="latex")
    assert any("read n as the size n" in note for note in e.notes)
    assert e is tc.parse("sum(x) / sum(ones(n))", shapes)  # mean(x)
    x = np.arange(4.0)
    assert e.evaluate({"x": x}) == pytest.approx(x.mean())


@pytest.mark.parametrize(
    "shapes",
    [None, {"x": "m"}, {"x": "n", "n": ""}],  # undeclared, not a dimension, declared variable
)
def test_a_bare_n_is_still_a_variable_where_it_is_not_a_declared_size(shapes):
    e = tc.parse(r"\frac{x}{n}", shapes, syntax="latex")
    assert "n" in tc.expr.variables(e) and not e.notes
    assert tc.parse("x / n", {"x": "n"}).notes == ()  # the text syntax: n is a variable
    assert "n" in tc.expr.variables(tc.parse("x / n", {"x": "n"}))


def test_the_size_is_not_shown_as_n_where_a_variable_is_called_n():
    shapes = {"x": "n", "n": ""}
    d = tc.derivative("sum(x) / sum(ones(n)) + n", "x", shapes=shapes)  # n declared, gone from d
    for e in [tc.parse(t, shapes) for t in ("x / sum(ones(n))", "n * x / sum(ones(n))")] + [d]:
        assert r"\operatorname{sum}\left(\mathbf{1}_{n}\right)" in e.latex()
        back = tc.parse(e.latex(), shapes, syntax="latex")
        vals = {"x": np.arange(1.0, 4.0), "n": 7.0}
        assert_close(back.evaluate(vals), e.evaluate(vals))


def test_explanations_show_the_size_n():
    ex = tc.explain("mean(x)^2", "x", shapes={"x": "n"})
    shown = str(ex)
    assert "du = sum(dx) / n" in shown and "sum(ones" not in shown
    assert r"\frac{\operatorname{sum}\left(\mathrm{d}x\right)}{n}" in ex.latex()
    assert str(ex.result) == "2 * sum(x) * ones(n) / sum(ones(n))^2"  # the result reads back
