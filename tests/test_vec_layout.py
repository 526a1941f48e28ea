"""``layout="vec"``: Magnus and Neudecker's matrix d vec F / d (vec X)', checked against central
differences of NumPy functions with vec = ravel(order="F") written here, in its Kronecker forms
where they exist (d(A X B) = kron(B', A), d(X'X) with the commutation matrix), compiled in every
backend, through tc.check and the CLI; what it cannot give is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.cli import main
from test_codegen import BACKEND_PARAMS, to_backend, to_numpy

SH = {"X": (2, 3), "A": (4, 2), "B": (3, 5), "C": (3, 3), "D": (2, 2), "S": (3, 3), "w": (6,)}


def _values(rng):
    v = {k: rng.normal(size=s) for k, s in SH.items()}
    v["S"] = v["S"] @ v["S"].T + 3 * np.eye(3)  # invertible
    return v


def _vec(a):
    return np.ravel(np.asarray(a, dtype=float), order="F")


def vec_jacobian(fun, x, h=1e-6):
    """d vec F / d (vec X)' by central differences: column c moves entry c of vec X."""
    cols = []
    for c in range(x.size):
        e = np.zeros(x.size)
        e[c] = h
        step = np.reshape(e, x.shape, order="F")
        cols.append((_vec(fun(x + step)) - _vec(fun(x - step))) / (2 * h))
    return np.stack(cols, axis=1)


# (expression, variable, NumPy function of the values, printed form or None)
CASES = [
    ("A @ X @ B", "X", lambda v: v["A"] @ v["X"] @ v["B"], "kron(B', A)"),
    ("X' @ X", "X", lambda v: v["X"].T @ v["X"],
     "(eye(9) + commutation(3, 3)) @ kron(eye(3), X')"),
    ("X' @ X - 3 * X' @ D @ X", "X", lambda v: v["X"].T @ v["X"] - 3 * v["X"].T @ v["D"] @ v["X"],
     None),
    ("X'", "X", lambda v: v["X"].T, "commutation(2, 3)"),
    ("A @ X", "X", lambda v: v["A"] @ v["X"], "kron(eye(3), A)"),
    ("X @ B", "X", lambda v: v["X"] @ v["B"], "kron(B', eye(2))"),
    ("inv(S)", "S", lambda v: np.linalg.inv(v["S"]), "-kron(inv(S)', inv(S))"),
    ("X @ C @ X'", "X", lambda v: v["X"] @ v["C"] @ v["X"].T, None),
    ("A @ X @ C @ X' @ D", "X", lambda v: v["A"] @ v["X"] @ v["C"] @ v["X"].T @ v["D"], None),
    ("exp(X)", "X", lambda v: np.exp(v["X"]), None),  # no Kronecker form: a reshape
    ("kron(X, D)", "X", lambda v: np.kron(v["X"], v["D"]), None),
    ("vec(X) * w", "X", lambda v: _vec(v["X"]) * v["w"], None),
    ("tr(X' @ X @ C)", "X", lambda v: np.trace(v["X"].T @ v["X"] @ v["C"]), None),  # a 1×6 row
    ("sin(X) @ C", "C", lambda v: np.sin(v["X"]) @ v["C"], "kron(eye(3), sin(X))"),
    ("C' @ C + 2 * C @ S", "C", lambda v: v["C"].T @ v["C"] + 2 * v["C"] @ v["S"],
     "2 * kron(S', eye(3)) + (eye(9) + commutation(3, 3)) @ kron(eye(3), C')"),  # a scalar left
]  # fmt: skip
IDS = [f"{c[0]} wrt {c[1]}" for c in CASES]


@pytest.mark.parametrize("text,wrt,fun,printed", CASES, ids=IDS)
def test_values_against_central_differences_of_vec(text, wrt, fun, printed):
    vals = _values(np.random.default_rng(0))
    d = tc.derivative(tc.parse(text, SH), wrt, layout="vec")
    want = vec_jacobian(lambda x: fun({**vals, wrt: x}), vals[wrt])
    assert d.shape == want.shape
    assert_close(d.evaluate(vals), want, rtol=1e-6, atol=1e-8)
    if printed is not None:
        assert str(d) == printed
    assert_close(tc.parse(str(d), SH).evaluate(vals), d.evaluate(vals), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("text,wrt", [("tr(X' @ X @ C)", "X"), ("sum(exp(A @ X))", "X"),
                                      ("logdet(S)", "S")])  # fmt: skip
def test_hessian_matrix_of_a_scalar(text, wrt):
    vals = _values(np.random.default_rng(1))
    f = tc.parse(text, SH)
    h = tc.derivative(f, wrt, order=2, layout="vec")
    grad = tc.gradient(f, wrt)
    want = vec_jacobian(lambda x: grad.evaluate({**vals, wrt: x}), vals[wrt])
    assert_close(h.evaluate(vals), want, rtol=1e-6, atol=1e-7)


def test_hessian_of_a_trace_is_a_kronecker_product():
    h = tc.derivative(tc.parse("tr(X' @ X @ C)", SH), "X", order=2, layout="vec")
    assert str(h) == "kron(C + C', eye(2))"  # Magnus–Neudecker: (C' + C) ⊗ I


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_compiled_in_every_backend(backend):
    vals = _values(np.random.default_rng(2))
    outs = [tc.derivative(tc.parse(t, SH), w, layout="vec") for t, w, _, _ in CASES]
    fn = tc.compile(outs, backend)
    got = fn(**{k: to_backend(backend, v) for k, v in vals.items() if k in fn.names})
    for g, o in zip(got, outs):
        assert_close(to_numpy(g), o.evaluate(vals), rtol=1e-10, atol=1e-10)


def test_commutation_matrix():
    a = np.arange(6.0).reshape(2, 3)
    k = tc.commutation(2, 3).evaluate()
    assert_close(k @ _vec(a), _vec(a.T))
    assert tc.commutation(1, 4) is tc.eye(4)
    e = tc.parse("commutation(2, 3) @ vec(X)", SH)
    assert tc.parse(str(e), SH) is e
    assert tc.parse(e.latex(), SH, syntax="latex") is e
    with pytest.raises(tc.TensorCalcError, match="int sizes"):
        tc.parse("commutation(m, 3)")


def test_check_verifies_the_vec_layout():
    report = tc.check(tc.parse("A @ X @ B", SH), "X", layout="vec")
    assert report.passed


@pytest.mark.parametrize(
    "text,shapes,order,message",
    [
        ("A @ X @ B", {"A": "m,n", "X": "n,p", "B": "p,q"}, 1, "int sizes"),
        ("X' @ X", SH, 2, "vec layout"),
    ],
)
def test_what_it_cannot_give_is_a_clear_error(text, shapes, order, message):
    with pytest.raises(tc.DifferentiationError, match=message):
        tc.derivative(tc.parse(text, shapes), "X", order=order, layout="vec")


def test_cli_layout_vec(capsys):
    args = ["diff", "A @ X @ B", "--wrt", "X", "--layout", "vec"]
    assert main(args + ["--shape", "A=4,2", "--shape", "X=2,3", "--shape", "B=3,5"]) == 0
    assert capsys.readouterr().out.splitlines() == ["kron(B', A)", "shape: (20, 6)"]
    assert main(args + ["--shape", "A=m,n", "--shape", "X=n,p", "--shape", "B=p,q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "int sizes" in err
