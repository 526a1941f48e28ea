"""MATLAB syntax (matrixcalculus.org's dialect) and the notes of the default syntax.

Every published matrixcalculus.org example is read in MATLAB syntax with its implicit typing
(a–g scalars, h–z vectors, A–Z matrices), differentiated, compared with central differences of
an independent NumPy function, and printed in the expert form.  The default syntax's ``*`` is
elementwise; a table checks that it never assumes a shape to make ``*`` work without a note.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.errors import ShapeError
from tensorcalc.parse import STAR_NOTE
from tensorcalc.parse.lower import _names, infer, lower
from tensorcalc.parse.parser import parse_tree
from tensorcalc.shapes import as_shapes

rng = np.random.default_rng(22)
N, M, K = 4, 3, 5  # sizes given to the inferred dimensions


def _spd(n):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


# text, wrt, values, independent NumPy f, the derivative as tensorcalc prints it, its shape
EXAMPLES = [
    ("0.5*x'*A*x", "x", {"x": (N,), "A": (N, N)}, lambda v: 0.5 * v["x"] @ v["A"] @ v["x"],
     "0.5 * (A + A') @ x", ("n",)),
    ("A*exp(x)", "x", {"A": (M, N), "x": (N,)}, lambda v: v["A"] @ np.exp(v["x"]),
     "A @ diag(exp(x))", ("n", "m")),
    ("sin(x)'*y", "x", {"x": (N,), "y": (N,)}, lambda v: np.sin(v["x"]) @ v["y"],
     "cos(x) * y", ("n",)),
    ("(y.*v)'*x", "x", {"y": (N,), "v": (N,), "x": (N,)}, lambda v: (v["y"] * v["v"]) @ v["x"],
     "v * y", ("n",)),
    ("a^b", "a", {"a": (), "b": ()}, lambda v: v["a"] ** v["b"], "b * a^(b - 1)", ()),
    ("a^b", "b", {"a": (), "b": ()}, lambda v: v["a"] ** v["b"], "log(a) * a^b", ()),
    ("norm2(A*x-y)^2", "x", {"A": (M, N), "x": (N,), "y": (M,)},
     lambda v: np.sum((v["A"] @ v["x"] - v["y"]) ** 2), "2 * A' @ (A @ x - y)", ("m",)),
    ("sum(log(exp(-y.*(X*w))+vector(1)))", "w", {"y": (M,), "X": (M, N), "w": (N,)},
     lambda v: np.sum(np.log(np.exp(-v["y"] * (v["X"] @ v["w"])) + 1)),
     "-X' @ (sigmoid(-y * (X @ w)) * y)", ("m",)),
    ("tr(A*X'*B*X*C)", "X", {"A": (N, M), "X": (K, M), "B": (K, K), "C": (M, N)},
     lambda v: np.trace(v["A"] @ v["X"].T @ v["B"] @ v["X"] @ v["C"]),
     "B @ X @ C @ A + B' @ X @ A' @ C'", ("k", "m")),
    ("log(det(inv(X)))", "X", {"X": "spd"}, lambda v: np.log(np.linalg.det(np.linalg.inv(v["X"]))),
     "-inv(X)'", ("n", "n")),
    ("norm1(A*x-y)", "x", {"A": (M, N), "x": (N,), "y": (M,)},
     lambda v: np.sum(np.abs(v["A"] @ v["x"] - v["y"])), "A' @ sign(A @ x - y)", ("m",)),
]  # fmt: skip


def _values(spec):
    out = {}
    for name, shape in spec.items():
        if shape == "spd":
            out[name] = _spd(N)
        elif name in ("a", "b"):
            out[name] = np.array(rng.uniform(0.5, 2.0))  # a^b: a positive base
        else:
            out[name] = rng.standard_normal(shape)
    return out


def _central(f, values, wrt, h=1e-6):
    """d f / d values[wrt] by central differences: shape f.shape + wrt.shape."""
    x = values[wrt]
    f0 = np.asarray(f(values))
    out = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(x.shape or (1,)):
        idx = idx if x.shape else ()
        up, down = dict(values), dict(values)
        up[wrt], down[wrt] = x.copy(), x.copy()
        up[wrt][idx] += h
        down[wrt][idx] -= h
        out[(...,) + idx] = (np.asarray(f(up)) - np.asarray(f(down))) / (2 * h)
    return out


@pytest.mark.parametrize("text, wrt, spec, f, printed, shape", EXAMPLES, ids=[
    f"{e[0]}-d{e[1]}" for e in EXAMPLES])  # fmt: skip
def test_matrixcalculus_examples(text, wrt, spec, f, printed, shape):
    e = tc.parse(text, syntax="matlab")
    assert e.notes == ()
    d = tc.derivative(e, wrt)
    assert str(d) == printed
    assert d.shape == shape
    values = _values(spec)
    got = d.evaluate(values)
    want = _central(f, values, wrt)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(e.evaluate(values), f(values), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------- MATLAB's meaning

TYPING = [  # text, shapes, expected shapes of the variables
    ("a*x + b*y", None, {"a": (), "x": ("n",), "b": (), "y": ("n",)}),
    ("x'*A*x", None, {"x": ("n",), "A": ("n", "n")}),
    ("h'*z", None, {"h": ("n",), "z": ("n",)}),
    ("g*G", None, {"g": (), "G": ("n", "m")}),
    ("x*A", {"x": ""}, {"x": (), "A": ("n", "m")}),  # declared: a scalar, not a vector
    ("a'*x", {"a": "n"}, {"a": ("n",), "x": ("n",)}),
    ("A*x", {"A": "3,2"}, {"A": (3, 2), "x": (2,)}),
]


@pytest.mark.parametrize("text, shapes, want", TYPING)
def test_implicit_typing_and_its_override(text, shapes, want):
    e = tc.parse(text, shapes, syntax="matlab")
    assert {k: v.shape for k, v in tc.expr.variables(e).items()} == want


def test_star_is_the_matrix_product_and_dot_star_elementwise():
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x = rng.standard_normal(3)
    vals = {"A": A, "B": B, "x": x}
    cases = [
        ("A*B", A @ B), ("A.*B", A * B), ("A./B", A / B), ("A.^2", A**2), ("A^2", A @ A),
        ("A^3", A @ A @ A), ("x*x'", np.outer(x, x)), ("x'*x", x @ x), ("x'*A", x @ A),
        ("2*A*x/4", A @ x / 2), ("A'*x", A.T @ x), ("X + eye", B + np.eye(3)),
        ("-x.*x", -x * x), ("x'/2*x", x @ x / 2), ("A*B.*A", (A @ B) * A),
        ("A.*B*A", (A * B) @ A), ("-x'*A*x", -x @ A @ x), ("-x'*x + 1", 1 - x @ x),
    ]  # fmt: skip
    for text, want in cases:
        got = tc.parse(text, syntax="matlab").evaluate({**vals, "X": B})
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=text)


@pytest.mark.parametrize(
    "text, says",
    [
        ("x*y", "column vector times a column vector"),
        ("x*A", "column vector times a matrix"),
        ("A/B", "/ divides by a scalar"),
        ("x^2", r"write \.\^"),
        ("A^0.5", "matrix power"),
    ],
)
def test_matlab_refuses_what_matlab_refuses(text, says):
    with pytest.raises(ShapeError, match=says):
        tc.parse(text, syntax="matlab")


def test_matlab_functions():
    x = rng.standard_normal(4)
    X = _spd(4)
    vals = {"x": x, "X": X}
    for text, want in [
        ("norm1(x)", np.abs(x).sum()), ("norm2(x)", np.linalg.norm(x)),
        ("norm2(X)", np.linalg.norm(X)), ("sum(X)", X.sum()), ("tr(X)", np.trace(X)),
        ("det(X)", np.linalg.det(X)), ("logdet(X)", np.linalg.slogdet(X)[1]),
        ("sum(relu(x))", np.maximum(x, 0).sum()), ("sum(sign(x))", np.sign(x).sum()),
        ("sum(tanh(x))", np.tanh(x).sum()), ("sum(abs(x))", np.abs(x).sum()),
        ("x'*vector(2)", 2 * x.sum()), ("sum(matrix(3) .* X)", 3 * X.sum()),
        ("sum(arctan(x))", np.arctan(x).sum()), ("tr(inv(X))", np.trace(np.linalg.inv(X))),
    ]:  # fmt: skip
        got = tc.parse(text, syntax="matlab").evaluate(vals)
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=text)


def test_syntax_names():
    assert str(tc.parse("x' @ A @ x", syntax="text")) == str(tc.parse("x' @ A @ x", syntax="math"))
    assert tc.parse(r"\frac{1}{2} x^2").shape == ()  # auto: a backslash is LaTeX
    with pytest.raises(tc.TensorCalcError, match="unknown syntax"):
        tc.parse("x", syntax="fortran")


# --------------------------------------------------------------- notes of the default syntax

NOTE_TABLE = [  # text, shapes, whether the note is expected
    ("x'*A*x", None, True),  # would make A a vector
    ("norm2(A*x - b)^2", None, True),  # would make A, x, b scalars
    ("x'*A*x", {"A": "n,n"}, True),  # would make x an n×n matrix
    ("X*Y", None, True),  # elementwise of matrices whose shapes were inferred
    ("X*Y", {"X": "n,n", "Y": "n,n"}, True),  # declared, but MATLAB would multiply
    ("x' * y", {"x": "n", "y": "n"}, True),  # MATLAB: the inner product
    ("-y * (X @ w)", None, True),  # y assumed a vector for the elementwise product
    ("2*x", None, False),
    ("a*x", None, False),
    ("x*y", None, False),
    ("x^3 * sin(x)", None, False),
    ("x .* y", {"x": "n", "y": "n"}, False),  # explicitly elementwise
    ("A .* B", None, False),
    ("-y * (X @ w)", {"y": "N", "X": "N,D", "w": "D"}, False),  # declared; MATLAB fails
    ("sum(log(1 + exp(-y * (X @ w))))", {"y": "N", "X": "N,D", "w": "D"}, False),
    ("x' @ A @ x", None, False),
    ("s * (A @ x)", {"s": ""}, False),
    ("2 ** x", None, False),
]


def _forced(text, shapes):
    """An oracle without the note logic: does the text reading multiply non-scalars by ``*``
    where an operand's shape was inferred, or make an undeclared capital a non-matrix?"""
    declared = as_shapes(shapes or {})
    tree = parse_tree(text)
    full, _, ok = infer(tree, declared)
    if not ok:
        return False
    stack = [tree]
    while stack:
        n = stack.pop()
        stack.extend(v for v in vars(n).values() if hasattr(v, "pos"))
        stack.extend(a for a in getattr(n, "args", ()) if hasattr(a, "pos"))
        if getattr(n, "op", None) == "*" and text[n.pos] == "*":
            left, right = lower(n.left, text, full), lower(n.right, text, full)
            if left.shape and right.shape and set(_names(n, {})) - set(declared):
                return True
    stars = "*" in text.replace(".*", "").replace("**", "")
    return stars and any(
        k[0].isupper() and len(v) != 2 for k, v in full.items() if k not in declared
    )


@pytest.mark.parametrize("text, shapes, noted", NOTE_TABLE)
def test_default_syntax_never_assumes_a_shape_for_star_without_a_note(text, shapes, noted):
    e = tc.parse(text, shapes)
    assert (STAR_NOTE in e.notes) == noted
    if _forced(text, shapes):
        assert STAR_NOTE in e.notes
    d = tc.derivative(text, sorted(tc.expr.variables(e))[-1], shapes=shapes)
    assert d.notes == e.notes  # the derivative carries how its function was read


def test_star_that_fails_says_to_use_at():
    with pytest.raises(ShapeError, match="for the matrix product write @"):
        tc.parse("A * x", {"A": "m,n", "x": "n"})


@pytest.mark.parametrize(
    "text, shapes, want",
    [  # lower-case names are typed alike: an argument of a function of vectors is a vector
        ("softmax(x)", None, ("n",)),
        ("norm1(x)", None, ("n",)),
        ("norm(x)", None, ("n",)),
        (r"\exp(-\|x\|^2)", None, ("n",)),
        (r"\sigma(w^\top x)", None, ("n",)),
        ("sum(x)", None, ("n",)),
        ("x^2", None, ()),
        ("sin(x) * x", None, ()),
    ],
)
def test_lower_case_names_typed_alike(text, shapes, want):
    e = tc.parse(text, shapes)
    assert tc.expr.variables(e)["x"].shape == want
    if text != "softmax(x)":
        assert e.shape == ()  # a scalar function: its derivative is a gradient, not a Jacobian


def test_a_negated_row_is_a_row():
    x, y = np.arange(3.0) + 1, np.arange(3.0) * 2 + 1
    got = tc.parse("y @ -x'", {"x": "3", "y": "3"}).evaluate(x=x, y=y)
    np.testing.assert_allclose(got, -np.outer(y, x))  # as y @ x' is the outer product
