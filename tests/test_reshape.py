"""reshape, vec and kron against central differences of independent NumPy code (np.reshape,
Fortran-order ravel for vec, np.kron) at orders 0, 1 and 2, in the evaluator and in every
installed backend; their printed forms read back; bad sizes are a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from orders import check_backend, check_evaluate
from tensorcalc.expr import postorder
from tensorcalc.ops import Op
from test_codegen import BACKEND_PARAMS

SH = {
    "X": (2, 3), "Y": (3, 2), "A": (6, 6), "B": (2, 2), "w": (6,), "c": (9,), "u": (2,),
    "v": (3,), "T": (2, 3, 4), "Z": ("n", 2, 3), "z": ("n",),
}  # fmt: skip


def _values(rng):
    v = {k: rng.normal(size=s) for k, s in SH.items() if all(isinstance(d, int) for d in s)}
    v["Z"], v["z"] = rng.normal(size=(3, 2, 3)), rng.normal(size=3)  # n = 3
    return v


def _vec(x):
    return np.ravel(x, order="F")  # the columns one under another (Magnus–Neudecker)


# (expression, shapes, variable, independent function of the values, values)
CASES = [
    ("reshape(X, 6)", SH, "X", lambda v: np.reshape(v["X"], 6), _values),
    ("reshape(X, (3, 2)) @ X", SH, "X", lambda v: v["X"].reshape(3, 2) @ v["X"], _values),
    ("sin(reshape(X, -1)) @ A @ reshape(X, 6)", SH, "X",
     lambda v: np.sin(v["X"].ravel()) @ v["A"] @ v["X"].ravel(), _values),
    ("tanh(reshape(T, (4, 6)))", SH, "T", lambda v: np.tanh(v["T"].reshape(4, 6)), _values),
    ("reshape(T, (6, 4)) @ reshape(T, (4, 6))", SH, "T",
     lambda v: v["T"].reshape(6, 4) @ v["T"].reshape(4, 6), _values),
    ("exp(reshape(Z, (n, 6))) @ w", SH, "Z", lambda v: np.exp(v["Z"].reshape(3, 6)) @ v["w"],
     _values),  # a dimension name kept in place
    ("z @ reshape(Z, (n, 6)) @ reshape(Z, (n, 6))' @ z", SH, "Z",
     lambda v: v["z"] @ v["Z"].reshape(3, 6) @ v["Z"].reshape(3, 6).T @ v["z"], _values),
    ("vec(X)", SH, "X", lambda v: _vec(v["X"]), _values),
    ("vec(X)' @ A @ vec(X)", SH, "X", lambda v: _vec(v["X"]) @ v["A"] @ _vec(v["X"]), _values),
    ("vec(X' @ X) @ c", SH, "X", lambda v: _vec(v["X"].T @ v["X"]) @ v["c"], _values),
    ("vec(Y @ X)", SH, "X", lambda v: _vec(v["Y"] @ v["X"]), _values),
    ("kron(X, B)", SH, "X", lambda v: np.kron(v["X"], v["B"]), _values),
    ("kron(B, X) @ w", SH, "B", lambda v: np.kron(v["B"], v["X"]) @ v["w"], _values),
    ("kron(X, X)", SH, "X", lambda v: np.kron(v["X"], v["X"]), _values),
    ("sum(log(1 + kron(Y, X)^2))", SH, "X",
     lambda v: np.sum(np.log(1 + np.kron(v["Y"], v["X"]) ** 2)), _values),
    ("kron(u, v)", SH, "v", lambda v: np.kron(v["u"], v["v"]), _values),
    ("kron(u, v) @ w * kron(u, u) @ kron(u, u)", SH, "u",
     lambda v: np.kron(v["u"], v["v"]) @ v["w"] * np.kron(v["u"], v["u"]) @ np.kron(v["u"], v["u"]),
     _values),
]  # fmt: skip
IDS = [f"{c[0][:40]} wrt {c[2]}" for c in CASES]


@pytest.mark.parametrize("text,shapes,wrt,oracle,gen", CASES, ids=IDS)
def test_value_and_derivatives_against_numpy(text, shapes, wrt, oracle, gen):
    vals = gen(np.random.default_rng(3))
    check_evaluate(tc.parse(text, shapes), wrt, vals, oracle)


# Hessians of rank 6 and more whose code places or takes a diagonal of a reshaped constant:
# TensorFlow's einsum takes repeated indices up to rank 6 and its where broadcasts up to rank
# 8; past them it raises (never a wrong number)
TF_EINSUM_RANK = {"reshape(X, (3, 2)) @ X", "tanh(reshape(T, (4, 6)))",
                  "reshape(T, (6, 4)) @ reshape(T, (4, 6))"}  # fmt: skip


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,shapes,wrt,oracle,gen", CASES, ids=IDS)
def test_every_backend(backend, text, shapes, wrt, oracle, gen):
    vals = gen(np.random.default_rng(4))
    if backend == "tensorflow" and text in TF_EINSUM_RANK:
        with pytest.raises(Exception, match="Unsupported rank|is not supported yet"):
            check_backend(backend, tc.parse(text, shapes), wrt, vals, oracle)
        return
    check_backend(backend, tc.parse(text, shapes), wrt, vals, oracle)


@pytest.mark.parametrize("text", [c[0] for c in CASES])
def test_printed_text_and_latex_read_back(text):
    f = tc.parse(text, SH)
    assert tc.parse(str(f), SH) is f
    assert tc.parse(f.latex(), SH, syntax="latex") is f


@pytest.mark.parametrize("text,shapes,wrt,oracle,gen", CASES, ids=IDS)
def test_printed_derivatives_read_back_to_their_values(text, shapes, wrt, oracle, gen):
    vals = gen(np.random.default_rng(5))
    d = tc.derivative(tc.parse(text, shapes), wrt)
    assert_close(tc.parse(str(d), shapes).evaluate(vals), d.evaluate(vals), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "text,printed,latex",
    [
        ("vec(X)", "vec(X)", r"\operatorname{vec}\left(X\right)"),
        ("reshape(X', 6)", "vec(X)", r"\operatorname{vec}\left(X\right)"),  # one node
        ("reshape(X, (3, 2))", "reshape(X, (3, 2))", r"\operatorname{reshape}\left(X, 3, 2\right)"),
        ("reshape(Z, (n, -1))", "reshape(Z, (n, 6))", r"\operatorname{reshape}\left(Z, n, 6\right)"),
        ("kron(X, B)", "kron(X, B)", r"X \otimes B"),
        ("kron(2 * X, -B)", "-2 * kron(X, B)", r"-2 \left(X \otimes B\right)"),
        ("kron(X, B) @ w", "kron(X, B) @ w", r"\left(X \otimes B\right) w"),
    ],
)  # fmt: skip
def test_printed_forms(text, printed, latex):
    f = tc.parse(text, SH)
    assert str(f) == printed
    assert f.latex() == latex


def test_vec_is_the_column_stacking_vec():
    x = np.arange(6.0).reshape(2, 3)
    assert_close(tc.vec(tc.matrix("X", 2, 3)).evaluate(X=x), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0])
    assert tc.vec(tc.vector("x", "n")) is tc.vector("x", "n")  # a vector is its own vec


@pytest.mark.parametrize(
    "text,wrt",
    [("sum(vec(X) * w)", "X"), ("reshape(X, 6) @ A @ reshape(X, 6)", "X"), ("kron(X, B)", "X"),
     ("sum(kron(X, B) * kron(X, B))", "X"), ("exp(reshape(Z, (n, 6))) @ w", "Z")],
)  # fmt: skip
def test_derivatives_are_reshapes_not_dense_deltas(text, wrt):
    # the Jacobian of a reshape (a reshaped identity, N×N) is contracted as a reshape of the
    # adjoint; a gradient or a Hessian never builds it
    f = tc.parse(text, SH)
    for order in (1, 2) if f.ndim == 0 else (1,):
        d = tc.derivative(f, wrt, order=order)
        dense = [n for n in postorder([d]) if n.op is Op.RESHAPE and n.args[0].op is Op.EYE]
        assert not dense, (order, str(d))


def test_gradient_reads_as_a_reshape():
    f = tc.parse("sum(vec(X) * w)", SH)
    assert str(tc.derivative(f, "X")) == "reshape(w, (3, 2))'"


@pytest.mark.parametrize(
    "text,message",
    [
        ("reshape(X, 7)", "cannot reshape"),
        ("reshape(X, (4, 2))", "cannot reshape"),
        ("reshape(M, 6)", "names"),  # m·n is not a size the shape system has
        ("reshape(X, (-1, -1))", "at most one"),
        ("reshape(X, (4, -1))", "sizes differ"),
        ("reshape(M, (3, -1))", "not one int or name"),
        ("reshape(X, 2.5)", "takes X and sizes"),
        ("reshape(X)", "takes X and sizes"),
        ("vec(M)", "int sizes"),
        ("vec(T)", "matrix"),
        ("kron(X, u)", "two matrices"),
        ("kron(M, X)", "int sizes"),
        ("commutation(2) @ w", "two sizes"),
        ("commutation(2, 3, 1) @ w", "two sizes"),
        ("commutation(m, 2)", "int sizes"),
        ("commutation(100000, 100000)", "too large"),
    ],
)
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(tc.TensorCalcError, match=message) as err:
        tc.parse(text, {**SH, "M": ("m", "n")})
    assert any(w in str(err.value) for w in ("reshape", "vec", "kron", "commutation", "shape"))


@pytest.mark.parametrize("text", ["sum(X, (0, 0))", "mean(X, (0, -2))", "mean(M, (1, 1))"])
def test_a_repeated_axis_is_refused_as_numpy_does(text):
    # mean over (0, 0) once divided by the count twice
    with pytest.raises(tc.ShapeError, match="repeated axis"):
        tc.parse(text, {**SH, "M": ("m", "n")})


def test_traced_python_functions():
    # NumPy's reshape and kron, and tensorcalc.numpy's, on traced values
    tnp = pytest.importorskip("tensorcalc.numpy")
    b = np.array([[1.0, 2.0], [3.0, -1.0]])
    x = np.random.default_rng(6).normal(size=(2, 3))

    def f(v):
        return tnp.sum(tnp.kron(v, b) ** 2) + np.sum(np.reshape(v, -1) * np.arange(6.0))

    def oracle(v):
        return np.sum(np.kron(v, b) ** 2) + np.arange(6.0) @ v.ravel()

    h, fd = 1e-6, np.zeros_like(x)
    for i in range(2):
        for j in range(3):
            e = np.zeros_like(x)
            e[i, j] = h
            fd[i, j] = (oracle(x + e) - oracle(x - e)) / (2 * h)
    assert_close(tc.grad(f)(x), fd, rtol=1e-6, atol=1e-8)
    assert_close(f(x), oracle(x), rtol=1e-12, atol=1e-12)


def test_the_explanation_reads_the_kronecker_rule():
    text = str(tc.explain(tc.parse("sum(kron(X, B) * kron(X, B))", SH), "X"))
    assert "= kron(dX, B)" in text and "d(A ⊗ B) = dA ⊗ B + A ⊗ dB" in text
