"""The parser: syntax, precedence, shape inference, row vectors and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close


@pytest.mark.parametrize(
    "text,value",
    [
        ("-2^2", -4.0),
        ("2^3^2", 512.0),
        ("2**-1", 0.5),
        ("1 - 2 - 3", -4.0),
        ("8 / 4 / 2", 1.0),
        ("2 * 3 + 4", 10.0),
        ("-(1 + 2) * 3", -9.0),
        ("exp(0) + log(1) + sqrt(4)", 3.0),
        ("1e-1 * .5e1", 0.5),
    ],
)
def test_numbers_and_precedence(text, value):
    assert float(tc.parse(text).evaluate()) == pytest.approx(value)


def test_transpose_spellings_agree(rng):
    A = rng.normal(size=(3, 3))
    sh = {"A": (3, 3)}
    assert tc.parse("A'", sh) is tc.parse("A.T", sh)
    assert tc.parse("A''", sh) is tc.parse("A", sh)
    assert_close(tc.parse("A.T @ A", sh).evaluate(A=A), A.T @ A)


def test_row_vector_convention(rng):
    a, b = rng.normal(size=3), rng.normal(size=4)
    sh = {"a": (3,), "b": (4,), "c": (3,)}
    assert_close(tc.parse("a @ b'", sh).evaluate(a=a, b=b), np.outer(a, b))
    c = rng.normal(size=3)
    assert_close(tc.parse("a' @ c", sh).evaluate(a=a, c=c), a @ c)
    assert_close(tc.parse("a @ c", sh).evaluate(a=a, c=c), a @ c)  # NumPy meaning for 1-D @ 1-D


def test_scalar_broadcasts(rng):
    x = rng.normal(size=3)
    e = tc.parse("1 + s * x - x / s", {"x": (3,), "s": ()})
    assert_close(e.evaluate(x=x, s=2.0), 1 + 2 * x - x / 2)


def test_sum_axis_keyword(rng):
    X = rng.normal(size=(2, 3))
    sh = {"X": (2, 3)}
    assert_close(tc.parse("sum(X, axis=0)", sh).evaluate(X=X), X.sum(0))
    assert_close(tc.parse("sum(X, -1)", sh).evaluate(X=X), X.sum(1))


def test_symbolic_dims_bind_from_arrays(rng):
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    for n in (2, 5):
        x, A = rng.normal(size=n), rng.normal(size=(n, n))
        assert float(f.evaluate(x=x, A=A)) == pytest.approx(x @ A @ x)
    with pytest.raises(tc.EvaluationError, match="dimension 'n'"):
        f.evaluate(x=np.ones(2), A=np.ones((3, 3)))
    with pytest.raises(tc.EvaluationError, match="no value given for variable 'A'"):
        f.evaluate(x=np.ones(2))


# -- shape inference --------------------------------------------------------------------------


def test_inference_from_declared_neighbours():
    f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    vs = tc.expr.variables(f)
    assert vs["w"].shape == ("D",)
    assert vs["y"].shape == ("N",)
    f = tc.parse("x' @ A @ x", {"A": ("n", "n")})
    assert tc.expr.variables(f)["x"].shape == ("n",)
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")})
    assert tc.expr.variables(f)["V"].shape == ("r", "n")


def test_unconstrained_names_are_scalars():
    f = tc.parse("x^2 + y")
    assert all(v.shape == () for v in tc.expr.variables(f).values())


def test_impossible_shapes_get_a_hint_that_works():
    with pytest.raises(tc.ShapeError) as err:
        tc.parse("inv(A) @ x", {"A": "n"})
    msg = str(err.value)
    assert "inv" in msg and "shapes={'A': ('n', 'n'), 'x': ('n',)}" in msg
    assert err.value.suggested == {"A": ("n", "n"), "x": ("n",)}
    assert tc.parse("inv(A) @ x", err.value.suggested).shape == ("n",)


# -- shapes without declarations (lowest ranks; capitals are matrices) -----------------------

INFERRED = [
    ("x' @ A @ x", {"x": ("n",), "A": ("n", "n")}),
    ("R' @ R", {"R": ("n", "m")}),
    ("sum(log(1 + exp(-y * (X @ w))))", {"y": ("n",), "X": ("n", "m"), "w": ("m",)}),
    ("det(X)", {"X": ("n", "n")}),
    ("norm(X - U @ V)^2", {"X": ("n", "m"), "U": ("n", "k"), "V": ("k", "m")}),
    ("tr(A @ X @ B @ X')", {"A": ("n", "n"), "X": ("n", "m"), "B": ("m", "m")}),
    ("a' @ inv(X) @ b", {"a": ("n",), "X": ("n", "n"), "b": ("n",)}),
    ("x^2 + y", {"x": (), "y": ()}),
    ("A @ B", {"A": ("n", "m"), "B": ("m", "k")}),
    ("s * x + A @ x", {"s": ("n",), "x": ("n",), "A": ("n", "n")}),  # s beside a vector
    ("exp(X) + 1", {"X": ("n", "m")}),
    ('einsum("ijk,k->ij", T, v)', {"T": ("n", "m", "k"), "v": ("k",)}),
    ("x' @ A @ x + n", {"x": ("m",), "A": ("m", "m"), "n": ()}),  # dims avoid variable names
]


@pytest.mark.parametrize("text,shapes", INFERRED)
def test_ranks_are_inferred_from_use(text, shapes):
    f = tc.parse(text)
    assert {k: v.shape for k, v in tc.expr.variables(f).items()} == shapes
    assert ("where " in repr(f)) == any(shapes.values())  # all scalars: nothing to say


def test_repr_shows_the_assumed_shapes():
    assert repr(tc.parse("x' @ A @ x")) == 'Expr("x\' @ A @ x", shape=(), where x: n, A: n×n)'
    declared = tc.parse("x' @ A @ x", {"x": "n", "A": "n,n"})
    assert "where" not in repr(declared)


def test_partly_declared_shapes_are_kept():
    f = tc.parse("x' @ A @ x", {"A": ("N", "N")})
    assert tc.expr.variables(f)["x"].shape == ("N",)
    f = tc.parse("X @ w", {"w": (3,)})
    assert tc.expr.variables(f)["X"].shape == ("n", 3)


# -- errors -----------------------------------------------------------------------------------

PARSE_ERRORS = [
    ("x' @ A @@ x", 8, "unexpected '@'"),
    ("x +", 3, "operand is missing"),
    ("(x + 1", 6, "expected ')'"),
    ("2 x", 2, "expected an operator"),
    ("x $ y", 2, "unexpected character '$'"),
    ("foo(x)", 0, "unknown function 'foo'"),
    ("exp(x, y)", 0, "exp() takes 1 argument"),
    ("exp", 0, "is a function"),
    ("x[1.5]", 2, "indices must be integers"),
    ("x[1:2:3:4]", 9, "an index is an integer or a slice"),
    ('einsum("ij->", )', 15, "unexpected ')'"),
    ('einsum("ij->")', 7, "bad einsum spec"),
    ("", 0, "empty expression"),
    ("__import__('os')", 11, "unexpected"),
    ("[[1, 2], [3]]", 9, "same length"),
    ("[1, 2", 5, "expected ','"),
]


ARRAYS = [
    ("[1, 2.5, -3]", [1, 2.5, -3]),
    ("[[1, 2], [3, -4e-3]]", [[1, 2], [3, -4e-3]]),
    ("[[[1, 2]], [[3, 4]]]", [[[1, 2]], [[3, 4]]]),
    ("[2, 2]", [2, 2]),  # an all-equal literal is the constant fill
]


@pytest.mark.parametrize("text,value", ARRAYS)
def test_array_literals_evaluate_and_print_back(text, value):
    e = tc.parse(text)
    assert e.shape == np.shape(value)
    assert_close(e.evaluate(), np.array(value, dtype=float))
    assert_close(tc.parse(str(e)).evaluate(), np.array(value, dtype=float))


def test_array_literal_in_products(rng):
    x = rng.normal(size=2)
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    e = tc.parse("x' @ [[1, 2], [3, 4]] @ x + [1, -1] @ x", shapes={"x": 2})
    assert_close(e.evaluate(x=x), x @ A @ x + x[0] - x[1])
    assert_close(tc.gradient(e, "x").evaluate(x=x), (A + A.T) @ x + [1, -1])
    assert r"\begin{bmatrix}" in e.latex()


def test_solve_is_printed_and_parsed_as_a_solve(rng):
    shapes = {"A": "n,n", "b": "n"}
    e = tc.parse("solve(A, b)", shapes)
    assert e is tc.parse("inv(A) @ b", shapes)
    assert str(e) == "solve(A, b)"
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b = rng.normal(size=3)
    assert_close(e.evaluate(A=A, b=b), np.linalg.solve(A, b))


@pytest.mark.parametrize("text,pos,msg", PARSE_ERRORS)
def test_parse_errors_have_a_caret(text, pos, msg):
    with pytest.raises(tc.ParseError) as err:
        tc.parse(text)
    e = err.value
    assert isinstance(e, tc.TensorCalcError) and isinstance(e, ValueError)
    assert msg in str(e)
    assert e.position == pos
    lines = str(e).splitlines()
    assert lines[-1].index("^") - 2 == pos
    assert lines[-2].strip() == text.strip() or text == ""


SHAPE_ERRORS = [
    ("A @ x", {"A": (2, 3), "x": (4,)}, "@", "inner dimensions 3 and 4 differ"),
    ("A + B", {"A": (2, 3), "B": (3, 2)}, "add", "(2, 3), (3, 2)"),
    ("inv(A)", {"A": (2, 3)}, "inv", "square matrix"),
    ("tr(x)", {"x": (3,)}, "tr", "square matrix"),
    ("x * y", {"x": (2,), "y": (3,)}, "*", "equal shapes"),
]


@pytest.mark.parametrize("text,shapes,op,detail", SHAPE_ERRORS)
def test_shape_errors_name_op_and_shapes(text, shapes, op, detail):
    with pytest.raises(tc.ShapeError) as err:
        tc.parse(text, shapes)
    assert err.value.op == op
    assert detail in str(err.value)
    assert "^" in str(err.value)


def test_differentiation_errors():
    with pytest.raises(tc.DifferentiationError, match="no variable 'z'"):
        tc.derivative("x^2", "z")
    with pytest.raises(tc.DifferentiationError, match="order"):
        tc.derivative("x^2", "x", order=0)
    with pytest.raises(tc.DifferentiationError, match="layout"):
        tc.derivative("x^2", "x", layout="sideways")
    with pytest.raises(tc.DifferentiationError, match="scalar"):
        tc.gradient("A @ x", "x", shapes={"A": (2, 2)})


def test_user_text_is_never_evaluated(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    f = tc.parse("exp(x) * __class__", {})
    assert str(tc.derivative(f, "x")) == "__class__ * exp(x)"


def test_singular_matrix_is_a_clear_evaluation_error():
    d = tc.derivative("det(X)", "X", shapes={"X": (2, 2)})
    with pytest.raises(tc.EvaluationError, match="singular"):
        d.evaluate(X=np.ones((2, 2)))


# matrixcalculus.org's documented examples, in our NumPy-meaning syntax (their * is @)
MATRIXCALCULUS = [
    ("0.5 * x' @ A @ x", "x", {"A": (3, 3)}, lambda v: 0.5 * (v["A"] + v["A"].T) @ v["x"]),
    ("(y .* v)' @ x", "x", {"x": (3,)}, lambda v: v["y"] * v["v"]),
    ("a^b", "b", {}, lambda v: v["a"] ** v["b"] * np.log(v["a"])),
    ("norm1(A @ x - y)", "x", {"A": (3, 3)}, lambda v: v["A"].T @ np.sign(v["A"] @ v["x"] - v["y"])),
    ("norm2(A @ x - y)^2", "x", {"A": (3, 3)}, lambda v: 2 * v["A"].T @ (v["A"] @ v["x"] - v["y"])),
    (
        "sum(log(exp(-y .* (X @ w)) + vector(1)))", "w", {"X": (3, 3)},
        lambda v: -v["X"].T @ (v["y"] / (1 + np.exp(v["y"] * (v["X"] @ v["w"])))),
    ),
    (
        "tr(A @ X' @ B @ X @ C)", "X", {"A": (3, 3), "B": (3, 3), "C": (3, 3), "X": (3, 3)},
        lambda v: v["B"] @ v["X"] @ v["C"] @ v["A"] + v["B"].T @ v["X"] @ v["A"].T @ v["C"].T,
    ),
    ("log(det(inv(X)))", "X", {"X": (3, 3)}, lambda v: -np.linalg.inv(v["X"]).T),
    ("sin(x)' @ y", "x", {"x": (3,)}, lambda v: np.cos(v["x"]) * v["y"]),
    ("A @ exp(x) ./ x.^2", "x", {"A": (3, 3)}, None),
]  # fmt: skip


@pytest.mark.parametrize("text,wrt,shapes,closed", MATRIXCALCULUS)
def test_matrixcalculus_examples(text, wrt, shapes, closed, rng):
    from conftest import central_jacobian, expr_fun

    f = tc.parse(text, shapes)
    vals = {k: rng.uniform(0.5, 1.5, size=v.shape) for k, v in tc.expr.variables(f).items()}
    vals = {k: (v + 3 * np.eye(3) if v.ndim == 2 else v) for k, v in vals.items()}
    d = tc.derivative(f, wrt).evaluate(vals)
    assert_close(d, central_jacobian(expr_fun(f, vals, wrt), vals[wrt]))
    if closed is not None:
        assert_close(d, closed(vals))


def test_select_reads_back_and_slices(rng):
    x = rng.normal(size=5)
    e = tc.parse("select(3, 5, 1, 1) @ x + select(3, 5, 0, 2) @ x", {"x": (5,)})
    assert_close(e.evaluate(x=x), x[1:4] + x[0::2])
    assert tc.parse(str(e), {"x": (5,)}) is e
    with pytest.raises(tc.ShapeError, match="out of range"):
        tc.parse("select(3, 5, 4, 1) @ x", {"x": (5,)})
    v = tc.vector("v", 5)
    assert v[1:4] is tc.parse("select(3, 5, 1, 1) @ v", {"v": (5,)})
    with pytest.raises(IndexError):
        v[7]


INDEXING = [
    ("x[1:4]", "x[1:4]", lambda x, A: x[1:4]),
    ("x[-1] * x[0]", None, lambda x, A: x[-1] * x[0]),
    ("A[:, 1] @ x[0:4]", None, lambda x, A: A[:, 1] @ x[0:4]),
    ("A[1:3, 0]", "A[1:3, 0]", lambda x, A: A[1:3, 0]),
    ("x[::-1]", "x[4::-1]", lambda x, A: x[::-1]),
    ("sum(A[::2, 2:])", "sum(A[0:4:2, 2:4])", lambda x, A: A[::2, 2:].sum()),
]


@pytest.mark.parametrize("text,printed,closed", INDEXING)
def test_indexing(text, printed, closed, rng):
    sh = {"x": (5,), "A": (4, 4)}
    x, A = rng.normal(size=5), rng.normal(size=(4, 4))
    e = tc.parse(text, sh)
    assert_close(e.evaluate(x=x, A=A), closed(x, A))
    if printed is not None:
        assert str(e) == printed
    assert_close(tc.parse(str(e), sh).evaluate(x=x, A=A), closed(x, A))
    body = tc.codegen(e).rsplit('    """\n', 1)[-1]
    assert "_select" not in body  # generated code slices
    assert_close(tc.compile(e)(x=x, A=A), closed(x, A))
    for wrt in ("x", "A"):
        if wrt in tc.expr.variables(e):
            d = tc.derivative(e, wrt)
            assert_close(tc.parse(str(d), sh).evaluate(x=x, A=A), d.evaluate(x=x, A=A))


def test_index_errors():
    with pytest.raises(tc.ParseError, match="out of range"):
        tc.parse("x[9]", {"x": (5,)})
    with pytest.raises(tc.ParseError, match="zero"):
        tc.parse("x[::0]", {"x": (5,)})
    with pytest.raises(tc.ParseError, match="concrete size"):
        tc.parse("x[0]", {"x": ("n",)})
