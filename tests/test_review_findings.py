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


# A variable declared symmetric: d(x' S x)/dx is 2 S x only on symmetric S.  evaluate refused a
# non-symmetric S, but tc.compile (and so to_jax/to_torch/to_tensorflow) returned 2 S x = [-2, -6]
# for S below, where the gradient of the function computed, (S + S') x, is [0, -4].
S_ASYM, X_SYM = np.array([[1.0, 2.0], [0.0, 3.0]]), np.array([1.0, -1.0])
SYM_SHAPES = {"x": ("n",), "y": ("n",), "S": ("n", "n", "symmetric")}


def _central(f, v, h=1e-6):
    """Central differences of the scalar function f at the array v, entry by entry."""
    v = np.asarray(v, dtype=float)
    out = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        e = np.zeros_like(v)
        e[i] = h
        out[i] = (f(v + e) - f(v - e)) / (2 * h)
    return out


def _sym_gradient():
    return tc.derivative(tc.parse("x' @ S @ x", shapes=SYM_SHAPES), "x")


@pytest.mark.parametrize("backend", ["numpy", "dask", "torch", "tensorflow", "jax"])
def test_compiled_code_refuses_a_non_symmetric_value_for_a_symmetric_variable(backend):
    if backend != "numpy":
        pytest.importorskip(backend)
    d = _sym_gradient()
    with pytest.raises(tc.EvaluationError, match="'S' is declared symmetric"):
        tc.evaluate(d, {"x": X_SYM, "S": S_ASYM})
    c = tc.compile(d, backend)
    for _ in range(2):  # the second call would take the cached signature's fast path
        with pytest.raises(tc.EvaluationError, match="'S' is declared symmetric"):
            c(x=X_SYM, S=S_ASYM)
    S = (S_ASYM + S_ASYM.T) / 2  # a symmetric value: the gradient of x' S x
    want = _central(lambda x: x @ S @ x, X_SYM)
    np.testing.assert_allclose(np.asarray(c(x=X_SYM, S=S)), want, rtol=1e-8)


def test_compiled_jax_arrays_refuse_a_non_symmetric_value_and_jit_reads_the_symmetric_part():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    c = tc.compile(_sym_gradient(), "jax")
    with pytest.raises(tc.EvaluationError, match="'S' is declared symmetric"):
        c(x=jnp.asarray(X_SYM), S=jnp.asarray(S_ASYM))  # the library's own arrays
    got = jax.jit(lambda x, S: c(x=x, S=S))(X_SYM, S_ASYM)  # traced: read as (S + S')/2
    np.testing.assert_allclose(
        np.asarray(got), _central(lambda x: x @ S_ASYM @ x, X_SYM), rtol=1e-8
    )


def test_compiled_tensorflow_graph_reads_the_symmetric_part():
    tf = pytest.importorskip("tensorflow")
    c = tc.compile(_sym_gradient(), "tensorflow")
    got = tf.function(lambda x, S: c(x=x, S=S))(tf.constant(X_SYM), tf.constant(S_ASYM))
    np.testing.assert_allclose(got.numpy(), _central(lambda x: x @ S_ASYM @ x, X_SYM), rtol=1e-8)


# The framework functions read S as (S + S')/2: value and gradient are those of f((S + S')/2).
# x' S S y: its value changes too, and its gradient in S, sym(x (S y)' + (S x) y'), is not symmetric
# before sym, so autodiff of the unconstrained function would differ.
FW_TEXT = "x' @ S @ S @ y"
FW_X, FW_Y = np.array([1.0, -1.0]), np.array([0.5, 2.0])


def _fw_value(x, S, y):
    M = (S + S.T) / 2
    return x @ M @ M @ y


def _fw_want():
    return (
        _fw_value(FW_X, S_ASYM, FW_Y),
        _central(lambda x: _fw_value(x, S_ASYM, FW_Y), FW_X),
        _central(lambda S: _fw_value(FW_X, S, FW_Y), S_ASYM),
    )


def test_jax_function_reads_a_symmetric_variable_as_its_symmetric_part():
    jax = pytest.importorskip("jax")
    f = tc.to_jax(FW_TEXT, args=("x", "S", "y"), shapes=SYM_SHAPES)
    value, gx, gS = _fw_want()
    args = tuple(jax.numpy.asarray(a) for a in (FW_X, S_ASYM, FW_Y))
    for fn in (f, jax.jit(f)):
        assert float(fn(*args)) == pytest.approx(value, rel=1e-12)
        got = jax.grad(fn, argnums=(0, 1))(*args)
        np.testing.assert_allclose(np.asarray(got[0]), gx, rtol=1e-8)
        np.testing.assert_allclose(np.asarray(got[1]), gS, rtol=1e-8)

    def own(x, S, y):  # JAX's own autodiff of f((S + S')/2)
        M = (S + S.T) / 2
        return x @ M @ M @ y

    np.testing.assert_allclose(np.asarray(got[1]), jax.grad(own, 1)(*args), rtol=1e-12)


def test_torch_function_reads_a_symmetric_variable_as_its_symmetric_part():
    torch = pytest.importorskip("torch")
    f = tc.to_torch(FW_TEXT, args=("x", "S", "y"), shapes=SYM_SHAPES)
    value, gx, gS = _fw_want()
    x, S = (torch.tensor(a, requires_grad=True) for a in (FW_X, S_ASYM))
    out = f(x, S, torch.tensor(FW_Y))
    out.backward()
    assert float(out.detach()) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-8)
    np.testing.assert_allclose(S.grad.numpy(), gS, rtol=1e-8)


def test_tensorflow_function_reads_a_symmetric_variable_as_its_symmetric_part():
    tf = pytest.importorskip("tensorflow")
    f = tc.to_tensorflow(FW_TEXT, args=("x", "S", "y"), shapes=SYM_SHAPES)
    value, gx, gS = _fw_want()
    x, S = tf.Variable(FW_X), tf.Variable(S_ASYM)
    for fn in (f, tf.function(f)):
        with tf.GradientTape() as tape:
            out = fn(x, S, tf.constant(FW_Y))
        got = tape.gradient(out, [x, S])
        assert float(out) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(got[0].numpy(), gx, rtol=1e-8)
        np.testing.assert_allclose(got[1].numpy(), gS, rtol=1e-8)


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
