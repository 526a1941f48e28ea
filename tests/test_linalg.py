"""Matrix functions with classical differentials (cholesky, ...) against central differences
of independent NumPy/SciPy implementations, at orders 1 and 2, in the evaluator and in every
installed backend; the conditions their rules need raise a named ``EvaluationError``."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from orders import check_backend, check_evaluate
from test_codegen import BACKEND_PARAMS

scipy_linalg = pytest.importorskip("scipy.linalg")


def _spd(rng, n=3, stack=()):
    a = rng.normal(size=stack + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _sym_chol(s):
    # tensorcalc's cholesky(S) is the factor of the symmetric part (S itself when symmetric)
    s = 0.5 * (s + np.swapaxes(s, -1, -2))
    if s.ndim == 2:
        return scipy_linalg.cholesky(s, lower=True)
    return np.stack([scipy_linalg.cholesky(m, lower=True) for m in s])


def _gp(v):
    """The GP log marginal likelihood (less n/2 log 2π), written with SciPy's Cholesky."""
    n = v["D"].shape[0]
    k = v["s"] ** 2 * np.exp(-v["D"] / (2 * v["l"] ** 2)) + v["t"] * np.eye(n)
    c = scipy_linalg.cho_factor(k, lower=True)
    return -0.5 * v["y"] @ scipy_linalg.cho_solve(c, v["y"]) - np.sum(np.log(np.diag(c[0])))


GP = "-0.5 * y' @ solve(K, y) - sum(log(diag(cholesky(K)))) where K = s^2 * exp(-D / (2*l^2)) + t * eye(5)"
GP_SHAPES = {"y": (5,), "D": (5, 5), "s": (), "l": (), "t": ()}


def _gp_values(rng):
    x = rng.normal(size=(5, 2))
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)  # squared distances (data)
    return {"y": rng.normal(size=5), "D": d, "s": 1.3, "l": 0.8, "t": 0.1}


def _values(rng):
    return {"S": _spd(rng), "W": rng.normal(size=(3, 3)), "T": _spd(rng, stack=(2,))}


def _spectral_values(rng):
    a = rng.normal(size=(3, 3))
    return {
        "S": a + a.T,  # symmetric, distinct eigenvalues (almost surely)
        "W": rng.normal(size=(3, 3)),
        "T": _spd(rng, stack=(2,)),
        "w": rng.normal(size=3),
        "R": rng.normal(size=(4, 3)),  # tall and wide, full rank
        "C": rng.normal(size=(3, 4)),
    }


def _sym(s):
    return 0.5 * (s + np.swapaxes(s, -1, -2))


def _svals(x):
    return scipy_linalg.svdvals(x)


SH = {"S": (3, 3), "W": (3, 3), "T": (2, 3, 3), "w": (3,), "R": (4, 3), "C": (3, 4)}
SPECTRAL = [
    ("eigvalsh(S)", SH, "S", lambda v: scipy_linalg.eigvalsh(_sym(v["S"])), _spectral_values),
    ("eigvalsh(S) @ w", SH, "S", lambda v: scipy_linalg.eigvalsh(_sym(v["S"])) @ v["w"],
     _spectral_values),
    ("eigvalsh(T)", SH, "T", lambda v: np.stack([scipy_linalg.eigvalsh(m) for m in _sym(v["T"])]),
     _spectral_values),  # a stack
    ("sum(eigvecsh(S) * eigvecsh(S) * W)", SH, "S",
     lambda v: np.sum(scipy_linalg.eigh(_sym(v["S"]))[1] ** 2 * v["W"]), _spectral_values),
    ("svdvals(R)", SH, "R", lambda v: _svals(v["R"]), _spectral_values),
    ("svdvals(C) @ w", SH, "C", lambda v: _svals(v["C"]) @ v["w"], _spectral_values),
    ("norm_nuc(R)", SH, "R", lambda v: np.sum(_svals(v["R"])), _spectral_values),
    ("norm_nuc(W)", SH, "W", lambda v: np.sum(_svals(v["W"])), _spectral_values),
    ("pinv(R)", SH, "R", lambda v: scipy_linalg.pinv(v["R"]), _spectral_values),
    ("sum(pinv(C) * pinv(C))", SH, "C", lambda v: np.sum(scipy_linalg.pinv(v["C"]) ** 2),
     _spectral_values),
    ("tr(matrix_power(W, 3))", SH, "W", lambda v: np.trace(v["W"] @ v["W"] @ v["W"]),
     _spectral_values),
    ("matrix_power(W, 2) @ w", SH, "W", lambda v: v["W"] @ v["W"] @ v["w"], _spectral_values),
    ("sum(matrix_power(T, -2))", SH, "T",
     lambda v: np.sum(np.linalg.matrix_power(v["T"], -2)), _spectral_values),
    ("matrix_power(T, 0) @ w", SH, "T", lambda v: np.broadcast_to(v["w"], (2, 3)),
     _spectral_values),
]  # fmt: skip
# (expression, shapes, variable, independent function of the values, values)
CASES = [
    ("cholesky(S)", SH, "S", lambda v: _sym_chol(v["S"]), _values),
    ("sum(cholesky(S) * W)", SH, "S", lambda v: np.sum(_sym_chol(v["S"]) * v["W"]), _values),
    ("cholesky(S) @ W", SH, "W", lambda v: _sym_chol(v["S"]) @ v["W"], _values),
    ("sum(log(diag(cholesky(S))))", SH, "S",
     lambda v: np.sum(np.log(np.diag(_sym_chol(v["S"])))), _values),
    ("cholesky(T)", SH, "T", lambda v: _sym_chol(v["T"]), _values),  # a stack
    ("phi(W)", SH, "W", lambda v: np.tril(v["W"]) - 0.5 * np.diag(np.diag(v["W"])), _values),
    (GP, GP_SHAPES, "l", _gp, _gp_values),
    (GP, GP_SHAPES, "s", _gp, _gp_values),
    (GP, GP_SHAPES, "t", _gp, _gp_values),
    (GP, GP_SHAPES, "y", _gp, _gp_values),
] + SPECTRAL  # fmt: skip
IDS = [f"{c[0][:40]} wrt {c[2]}" for c in CASES]


@pytest.mark.parametrize("text,shapes,wrt,oracle,gen", CASES, ids=IDS)
def test_value_and_derivatives_against_scipy(text, shapes, wrt, oracle, gen):
    vals = gen(np.random.default_rng(3))
    f = tc.parse(text, shapes)
    check_evaluate(f, wrt, vals, oracle)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,shapes,wrt,oracle,gen", CASES, ids=IDS)
def test_every_backend(backend, text, shapes, wrt, oracle, gen):
    vals = gen(np.random.default_rng(4))
    f = tc.parse(text, shapes)
    check_backend(backend, f, wrt, vals, oracle)


def test_gp_gradient_against_finite_differences_of_the_likelihood():
    vals = _gp_values(np.random.default_rng(8))
    f = tc.parse(GP, GP_SHAPES)
    for name in ("s", "l", "t"):
        g = float(tc.gradient(f, name).evaluate(vals))
        h = 1e-6
        fd = (_gp({**vals, name: vals[name] + h}) - _gp({**vals, name: vals[name] - h})) / (2 * h)
        assert np.isclose(g, fd, rtol=1e-6, atol=1e-8), name


@pytest.mark.parametrize(
    "text,values,message",
    [
        ("cholesky(S)", {"S": np.diag([1.0, -1.0, 2.0])}, "positive definite"),
        ("sum(log(diag(cholesky(S))))", {"S": np.zeros((3, 3))}, "positive definite"),
        ("eigvalsh(S) @ w", {"S": np.diag([1.0, 2.0, 1.0]), "w": np.ones(3)}, "distinct eigen"),
        ("svdvals(S)", {"S": np.outer([1.0, 2, 3], [1.0, 0, 1])}, "full-rank"),
        ("norm_nuc(S)", {"S": np.diag([1.0, 0.0, 2.0])}, "full-rank"),
        ("sum(pinv(S))", {"S": np.diag([1.0, 0.0, 2.0])}, "full-rank"),
    ],
)
def test_conditions_raise_a_named_error(text, values, message):
    f = tc.parse(text, {"S": (3, 3), "w": (3,)})
    if message == "distinct eigen":  # the eigenvalues exist; their derivatives do not
        assert_close(f.evaluate(values), 4.0)
    else:
        with pytest.raises(tc.EvaluationError, match=message):
            f.evaluate(values)
    either = message + "|distinct" if message == "full-rank" else message  # two zero σ repeat
    with pytest.raises(tc.EvaluationError, match=either):
        tc.derivative(f, "S").evaluate(values)


def test_rank_deficient_and_repeated_raise_in_compiled_numpy():
    f = tc.parse("norm_nuc(S) + eigvalsh(S) @ w", {"S": (3, 3), "w": (3,)})
    fn = tc.compile(tc.derivative(f, "S"))
    with pytest.raises(ValueError, match="full-rank"):
        fn(S=np.diag([1.0, 0.0, 2.0]), w=np.ones(3))
    with pytest.raises(ValueError, match="distinct eigenvalues"):
        fn(S=np.diag([1.0, 2.0, 1.0]), w=np.ones(3))


@pytest.mark.parametrize(
    "text,message",
    [
        ("matrix_power(S, 1.5)", "whole"),
        ("matrix_power(R, 2)", "square"),
        ("svdvals(X)", "which of"),
        ("eigvalsh(R)", "square"),
    ],
)
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(tc.TensorCalcError, match=message):
        tc.parse(text, {**SH, "X": ("m", "n")})


@pytest.mark.parametrize(
    "text,shapes,wrt,printed",
    [
        ("eigvalsh(S) @ w", SH, "S", "eigvecsh(S) @ diag(w) @ eigvecsh(S)'"),
        ("tr(matrix_power(W, 3))", SH, "W", "3 * W' @ W'"),
        ("cholesky(S)", SH, "S", "phi(ones(3, 3))"),
    ],
)
def test_printed_forms(text, shapes, wrt, printed):
    d = tc.derivative(tc.parse(text, shapes), wrt)
    assert printed in str(d)
    vals = _spectral_values(np.random.default_rng(0))
    vals["S"] = _spd(np.random.default_rng(1))
    again = tc.parse(str(d), shapes)  # the printed derivative reads back to the same value
    assert_close(again.evaluate(vals), d.evaluate(vals), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "text", ["cholesky(S)", "eigvalsh(S) @ w", "svdvals(R)", "pinv(R)", "phi(S)", "eigvecsh(S)"]
)
def test_latex_reads_back(text):
    e = tc.parse(text, SH)
    assert tc.parse(e.latex(), SH, syntax="latex") is e


@pytest.mark.parametrize("text", ["cholesky(S)", "eigvalsh(S)"])
def test_functions_of_the_symmetric_part(text):
    # off symmetric matrices these read (S + S')/2, as their derivatives do (NumPy's read one
    # triangle); tc.check's finite differences of single entries need that
    s = np.array([[4.0, 1.0, 0.0], [0.0, 3.0, 0.5], [0.2, 0.0, 2.0]])
    sym = 0.5 * (s + s.T)
    f = tc.parse(text, {"S": (3, 3)})
    assert_close(f.evaluate(S=s), f.evaluate(S=sym), rtol=1e-15, atol=1e-15)
    assert tc.check(f, "S").passed
