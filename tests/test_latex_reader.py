"""The LaTeX reader (``tc.parse(text, syntax="latex")``): what people paste from papers, read
as the rendered formula reads, checked by value against the same formula in the language."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close

SHAPES = {"x": "n", "y": "n", "a": "n", "b": "n", "A": "n,n", "B": "n,n", "X": "n,n"}
SHAPES |= {"U": "n,r", "V": "r,n", "s": "", "z": "n"}

SAME = [
    (r"\mathbf{x}^\top A \mathbf{x}", "x' @ A @ x"),
    (r"x^T A x", "x' @ A @ x"),
    (r"\boldsymbol{x}^{\intercal} A \boldsymbol{x}", "x' @ A @ x"),
    (r"\|X - UV\|_F^2", "norm(X - U @ V)^2"),
    (r"\left\lVert X - U V \right\rVert_{F}^{2}", "norm(X - U @ V)^2"),
    (r"\frac{1}{2} \|X - UV\|_F^2", "0.5 * norm(X - U @ V)^2"),
    (r"\operatorname{tr}(A X B X^\top)", "tr(A @ X @ B @ X')"),
    (r"\operatorname{Tr}\left(A X B X^{T}\right)", "tr(A @ X @ B @ X')"),
    (r"\log\det X", "logdet(X)"),
    (r"\log \det\left(X^\top X\right)", "logdet(X' @ X)"),
    (r"X^{-1}", "inv(X)"),
    (r"X^{-\top} a", "inv(X)' @ a"),
    (r"a^\top X^{-1} b", "a' @ inv(X) @ b"),
    (r"\frac{a}{b}", "a / b"),
    (r"\frac{x}{\|x\|}", "x / norm(x)"),
    (r"x \odot y", "x * y"),
    (r"A B \odot X", "(A @ B) * X"),
    (r"\sum_i x_i", "sum(x)"),
    (r"\sum_{i} \log(1 + \exp(-y_i z_i))", "sum(log(1 + exp(-y * z)))"),
    (r"\sum_{ij} A_{ij} B_{ji}", "tr(A @ B)"),
    (r"\exp(x) + \exp x", "2 * exp(x)"),
    (r"\sigma(x)", "sigmoid(x)"),
    (r"s \cdot x", "s * x"),
    (r"a \cdot b", "a' @ b"),
    (r"2x^\top A x", "2 * x' @ A @ x"),
    (r"{AB}^\top", "A @ B'"),  # braces are invisible: the transpose sits on B
    (r"\left(AB\right)^\top", "(A @ B)'"),
    (r"(AB)'", "(A @ B)'"),
    (r"\left[\sum_{k} A_{ik} B_{kj}\right]_{ij}", "A @ B"),
    (r"\left[A_{ij} \delta_{jk} x_{k}\right]_{i}", "A @ x"),
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", "[[1, 2], [3, 4]]"),
    (r"\sqrt{x^\top x}", "norm(x)"),
    (r"\left|x\right| + |y|", "abs(x) + abs(y)"),
    (r"\sin^2 x + \cos^{2}(x)", "sin(x)^2 + cos(x)^2"),
    (r"a - -b", "a + b"),
    (r"x \odot -y", "-x * y"),
    (r"\operatorname{sum}_{0}\left(A\right)", "sum(A, 0)"),
    (r"\operatorname{diag}(x) A", "diag(x) @ A"),
    (r"A^{\circ 2}", "A^2"),
    (r"x^{2}", "x^2"),
    (r"I_{n} x + \mathbf{1}_{n}", "x + ones(n)"),
    (r"\mathbf{0}_{n \times n} + A", "A"),
    (r"1e-05 x", "1e-5 * x"),
    (r"\tanh\left(W_{2} x\right)", "tanh(W2 @ x)"),
    (r"\theta^\top x", "theta' @ x"),
    (r"M + M^\top \quad \text{where } M = A B, N = M", "A @ B + (A @ B)'"),
    (r"\left[s A_{ij} x_{k}\right]_{ijk}", 'einsum("ij,k->ijk", s * A, x)'),
    (r"\left[\sum_{ijk} A_{ij} x_{j} B_{ki}\right]", 'einsum("ij,j,ki->", A, x, B)'),
    (r"\left[\sum_{i} x_{i}^{2}\right]", "x' @ x"),
]


@pytest.mark.parametrize("latex,text", SAME)
def test_reads_as_the_rendered_formula(latex, text, rng):
    shapes = SHAPES | {"W2": "n,n", "theta": "n"}
    e, f = tc.parse(latex, shapes, syntax="latex"), tc.parse(text, shapes)
    vals = {k: rng.normal(size=(3,) * len(tc.parse(k, shapes).shape)) for k in shapes}
    vals["X"] = vals["X"] + 3 * np.eye(3)
    vals["b"] = np.abs(vals["b"]) + 1
    vals["U"], vals["V"] = rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
    assert e.shape == f.shape
    assert_close(e.evaluate(vals), f.evaluate(vals), rtol=1e-12)


ERRORS = [
    (r"X^{2}", 1, "ambiguous"),  # a matrix power: X X or X^{\circ 2}
    (r"\|X\|_2", 0, "spectral norm"),
    (r"\frac{a}{", 9, "operand is missing"),
    (r"(a + b", 6, "expected ')'"),
    (r"a $ b", 2, "unexpected character"),
    (r"x^", 2, "script is missing"),
    (r"\mathbf{1} + x", 0, "needs its size"),
    (r"\left[A_{ij} \delta_{kl}\right]_{ijkl}", 19, "\\delta_{kl} is not determined"),
    (r"\sum x", 5, "summation index"),
    (r"\sum_{i} x_{ij}", 10, "carries all of i"),
    (r"{a + b", 6, "'{' is not closed"),
    (r"a + b}", 5, "unbalanced '}'"),
    (r"x^{23", 2, "'{' is not closed"),
    (r"\|x\|_\infty", 3, "unknown norm"),
]


@pytest.mark.parametrize("latex,pos,msg", ERRORS)
def test_errors_point_into_the_latex(latex, pos, msg):
    with pytest.raises((tc.ParseError, tc.ShapeError)) as err:
        tc.parse(latex, SHAPES, syntax="latex")
    assert msg in str(err.value)
    assert err.value.position == pos
    assert latex in str(err.value)


def test_unknown_syntax():
    with pytest.raises(tc.ParseError, match="unknown syntax"):
        tc.parse("x", syntax="tex")


def test_shapes_are_inferred_for_latex_too():
    f = tc.parse(r"\mathbf{x}^\top A \mathbf{x}", syntax="latex")
    assert repr(f) == 'Expr("x\' @ A @ x", shape=(), where x: n, A: n×n)'


# Printer regressions found by the round-trip property test (tests/test_latex_roundtrip.py)
PRINTED = [
    ("(A * B) @ x", SHAPES),  # ⊙ beside a juxtaposed product was printed unbracketed
    ("solve(X, b)' @ a", SHAPES),  # a solve printed as a product was transposed unbracketed
    ("A^2", SHAPES),  # a matrix's elementwise power printed as a matrix power
    ("A @ (-x)", SHAPES),
    ("(c * v) * w @ ones(n)'", {"c": "", "v": "n", "w": "n"}),
]


@pytest.mark.parametrize("text,shapes", PRINTED)
def test_printed_latex_reads_back(text, shapes, rng):
    f = tc.parse(text, shapes)
    g = tc.parse(f.latex(), shapes, syntax="latex")
    vals = {k: rng.normal(size=(3,) * len(v.shape)) for k, v in tc.expr.variables(f).items()}
    vals["X"] = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    assert_close(g.evaluate(vals), f.evaluate(vals), rtol=1e-12)


# Found when the simplifier's where clause and the reader met (merge of both branches)
MERGED = [
    ("det(4 * eye(3) + tanh(A))", "A"),  # the where clause: \quad \text{where } M = …
    ('s * einsum("ij,k->ijk", A, x)', None),  # a scalar factor with no indices in [ … ]_{ijk}
]


@pytest.mark.parametrize("text,wrt", MERGED)
def test_where_clause_and_scalar_index_factor_read_back(text, wrt, rng):
    shapes = {"A": "3,3", "x": "3", "s": ""}
    f = tc.parse(text, shapes)
    f = tc.derivative(f, wrt) if wrt else f
    g = tc.parse(f.latex(), shapes, syntax="latex")
    vals = {"A": rng.normal(size=(3, 3)), "x": rng.normal(size=3), "s": 1.7}
    vals = {k: v for k, v in vals.items() if k in tc.expr.variables(f)}
    assert_close(g.evaluate(vals), f.evaluate(vals), rtol=1e-12)


@pytest.mark.parametrize(
    "text", [r"\mathrm{tr}(A X)", r"\text{tr}(A X)", r"\operatorname{tr}(A X)"]
)
def test_upright_function_names(text):
    e = tc.parse(text, {"A": "n,m", "X": "m,n"}, syntax="latex")
    A, X = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2) ** 2
    assert e.evaluate({"A": A, "X": X}) == pytest.approx(np.trace(A @ X))
