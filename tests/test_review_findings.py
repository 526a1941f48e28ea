"""Wrong results found in review (MATLAB dialect, auto syntax, framework functions), each
checked against NumPy or central differences, never against the rule under test."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.expr import variables

RNG = np.random.default_rng(7)
VALUES = {
    "A": RNG.normal(size=(3, 3)),
    "x": RNG.normal(size=3),
    "y": RNG.normal(size=3),
    "a": 0.7,
}


def _value(text, syntax="matlab"):
    e = tc.parse(text, syntax=syntax)
    return np.asarray(tc.evaluate(e, {k: VALUES[k] for k in variables(e)}), float)


# MATLAB: ^ .^ and ' share one precedence level, read left to right (they were read as
# x^(2') with the transpose dropped, and a^b^c right to left).
MATLAB_POWERS = [
    ("2^3^2", lambda v: np.float64(64.0)),
    ("a^2^3", lambda v: (v["a"] ** 2) ** 3),
    ("A.^2.^3", lambda v: (v["A"] ** 2) ** 3),
    ("A.^2'", lambda v: (v["A"] ** 2).T),
    ("A^2'*x", lambda v: (v["A"] @ v["A"]).T @ v["x"]),
    ("x.^2'*y", lambda v: (v["x"] ** 2) @ v["y"]),
    ("y*x.^2'", lambda v: np.outer(v["y"], v["x"] ** 2)),
    ("-2^2", lambda v: np.float64(-4.0)),
    ("2^-2", lambda v: np.float64(0.25)),
    ("A'^2", lambda v: v["A"].T @ v["A"].T),
]


@pytest.mark.parametrize("text,want", MATLAB_POWERS, ids=[t for t, _ in MATLAB_POWERS])
def test_matlab_power_and_transpose_precedence(text, want):
    np.testing.assert_allclose(_value(text), want(VALUES), rtol=1e-12)


# MATLAB: elementwise operations and functions keep a row vector a row; a row beside a column
# is refused (MATLAB expands it to a matrix).  x + y' was x + y, exp(x') * x' an outer product
# and (x'.^2)' * y an inner product, where MATLAB computes a matrix or refuses.
MATLAB_ROWS = [
    ("x'.*y'*A*x", lambda v: (v["x"] * v["y"]) @ v["A"] @ v["x"]),
    ("exp(x')*y", lambda v: np.exp(v["x"]) @ v["y"]),
    ("(x'.^2)*y", lambda v: (v["x"] ** 2) @ v["y"]),
    ("y*(x'.^2)", lambda v: np.outer(v["y"], v["x"] ** 2)),
    ("(x'+y')*A", lambda v: (v["x"] + v["y"]) @ v["A"]),
    ("x'/a*y", lambda v: v["x"] @ v["y"] / v["a"]),
]


@pytest.mark.parametrize("text,want", MATLAB_ROWS, ids=[t for t, _ in MATLAB_ROWS])
def test_matlab_rows_stay_rows(text, want):
    np.testing.assert_allclose(_value(text), want(VALUES), rtol=1e-12)


@pytest.mark.parametrize(
    "text", ["x+y'", "x'-y", "x.*y'", "x./(a-y)'", "exp(x')*x'", "(y'.^-1)'*y"]
)
def test_matlab_row_beside_column_is_refused(text):
    with pytest.raises(tc.ShapeError):
        tc.parse(text, syntax="matlab")


def test_framework_function_of_a_latex_string():
    """A LaTeX string (the auto syntax reads it) gets its arguments in the printed order; the
    argument order was found by the text lexer, which failed on the backslash."""
    torch = pytest.importorskip("torch")
    f = tc.to_torch(r"\frac{1}{2} \mathbf{x}^\top A \mathbf{x}", shapes={"A": ("n", "n")})
    assert f.args == ("x", "A")
    A = torch.tensor([[1.0, 2.0], [0.0, 3.0]], dtype=torch.float64)
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    f(x, A).backward()
    want = 0.5 * (A + A.T) @ x.detach()  # d(x'Ax/2)/dx, closed form by hand
    assert torch.allclose(x.grad, want)


@pytest.mark.parametrize("text", ["A^2'", "x.^2'", "x^-2'", "A**2'"])
def test_text_syntax_refuses_a_transposed_number_as_exponent(text):
    """In the text syntax ' binds tighter than ^, so A^2' was A^(2') = A^2, the transpose
    silently dropped; (A^2)' was surely meant (MATLAB's reading)."""
    with pytest.raises(tc.ParseError, match="transposes the exponent"):
        tc.parse(text)
    assert tc.parse("(A^2)'").shape == tc.parse("A'").shape  # the spelling the error suggests


@pytest.mark.xfail(strict=True, reason="evaluate forms 1/s, which overflows for subnormal s")
def test_evaluate_divides_by_a_subnormal_scalar():
    """x / s is built as x * (1 / s); evaluate computes 1 / s first, inf for s = 1e-310, so
    x / s is inf (nan at x = 0) where NumPy's x / s is finite.  tc.compile's code is right."""
    e = tc.parse("x / s", shapes={"x": 3, "s": ()})
    x = np.array([1e-10, 2e-10, 0.0])
    np.testing.assert_allclose(tc.compile(e)(x=x, s=1e-310), x / 1e-310)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(tc.evaluate(e, x=x, s=1e-310), x / 1e-310)


# Text syntax: a row vector scaled by a scalar stays a row, as -x' does since c60b067; y @ x' was
# the outer product but y @ (2 * x') the inner product (a number where a matrix was asked for).
SCALED_ROWS = [
    ("y @ (2 * x')", lambda v: 2 * np.outer(v["y"], v["x"])),
    ("y @ (x' / a)", lambda v: np.outer(v["y"], v["x"]) / v["a"]),
    ("y @ (x' * a)", lambda v: v["a"] * np.outer(v["y"], v["x"])),
    ("y @ -x'", lambda v: -np.outer(v["y"], v["x"])),
    ("(2 * x') @ A", lambda v: 2 * v["x"] @ v["A"]),
    ("x' / a @ y", lambda v: v["x"] @ v["y"] / v["a"]),
]


@pytest.mark.parametrize("text,want", SCALED_ROWS, ids=[t for t, _ in SCALED_ROWS])
def test_text_syntax_scaled_row_stays_a_row(text, want):
    shapes = {"x": ("n",), "y": ("n",), "a": (), "A": ("n", "n")}
    e = tc.parse(text, shapes)
    got = tc.evaluate(e, {k: VALUES[k] for k in variables(e)})
    np.testing.assert_allclose(got, want(VALUES), rtol=1e-12)


@pytest.mark.xfail(strict=True, reason="compiled code does not check a symmetric declaration")
def test_compiled_code_refuses_a_non_symmetric_value_for_a_symmetric_variable():
    """d(x' S x)/dx is 2 S x only on symmetric S; evaluate refuses a non-symmetric S, but
    tc.compile (and so tc.to_jax/to_torch/to_tensorflow) returns 2 S x = [-2, -6] for it,
    where the gradient of the function computed, (S + S') x, is [0, -4]."""
    S, x = np.array([[1.0, 2.0], [0.0, 3.0]]), np.array([1.0, -1.0])
    d = tc.derivative(tc.parse("x' @ S @ x", shapes={"S": ("n", "n", "symmetric")}), "x")
    with pytest.raises(tc.EvaluationError, match="symmetric"):
        tc.evaluate(d, {"x": x, "S": S})
    with pytest.raises(tc.EvaluationError, match="symmetric"):
        tc.compile(d)(x=x, S=S)


def test_tensorflow_function_takes_a_python_number_beside_float64_tensors():
    """to_tensorflow converted 2.0 to a float32 tensor, and the product with a float64 x failed
    in TensorFlow with a TypeError; to_torch accepts Python numbers."""
    tf = pytest.importorskip("tensorflow")
    f = tc.to_tensorflow("s * x' @ x", shapes={"x": ("n",), "s": ()})
    assert f.args == ("s", "x")
    x = tf.Variable(np.array([1.0, 2.0]))
    with tf.GradientTape() as tape:
        out = f(2.0, x)
    assert float(out) == 10.0  # 2 * (1 + 4)
    np.testing.assert_allclose(tape.gradient(out, x).numpy(), [4.0, 8.0])  # 2 s x
