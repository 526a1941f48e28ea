"""The matrix exponential expm(X) and its Fréchet derivatives expm_frechet(X, E1, ..., Ek)
against SciPy (``scipy.linalg.expm``, ``expm_frechet``: an independent oracle) and its central
differences, at orders 0, 1 and 2, in the evaluator and in every installed backend; the
closed forms d tr(e^X) = (e^X)ᵀ and d ⟨W, e^X⟩ = L(Xᵀ, W); printing and reading back."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close, central_jacobian
from orders import check_backend, check_evaluate
from tensorcalc import kernels
from test_codegen import BACKEND_PARAMS

scipy_linalg = pytest.importorskip("scipy.linalg")


def _expm(x):
    x = np.asarray(x)
    if x.ndim == 2:
        return scipy_linalg.expm(x)
    return np.stack([_expm(m) for m in x])


def _frechet(x, e):
    return scipy_linalg.expm_frechet(x, e, compute_expm=False)


def _values(rng):
    return {
        "X": rng.normal(size=(3, 3)),
        "A": rng.normal(size=(3, 3)),
        "W": rng.normal(size=(3, 3)),
        "E": rng.normal(size=(3, 3)),
        "T": 0.7 * rng.normal(size=(2, 3, 3)),
        "V": rng.normal(size=(2, 3, 3)),
        "x": rng.normal(size=3),
        "t": 0.8,
    }


SH = {"X": (3, 3), "A": (3, 3), "W": (3, 3), "E": (3, 3), "T": (2, 3, 3), "V": (2, 3, 3),
      "x": (3,), "t": ()}  # fmt: skip
CASES = [
    ("expm(X)", "X", lambda v: _expm(v["X"])),
    ("sum(expm(X) * W)", "X", lambda v: np.sum(_expm(v["X"]) * v["W"])),
    ("tr(expm(X))", "X", lambda v: np.trace(_expm(v["X"]))),
    ("expm(A @ X)", "X", lambda v: _expm(v["A"] @ v["X"])),
    ("x' @ expm(t * A) @ x", "t", lambda v: v["x"] @ _expm(v["t"] * v["A"]) @ v["x"]),
    ("expm(T)", "T", lambda v: _expm(v["T"])),  # a stack
    ("sum(expm(T) * V)", "T", lambda v: np.sum(_expm(v["T"]) * v["V"])),
    ("expm_frechet(X, E)", "X", lambda v: _frechet(v["X"], v["E"])),
    ("expm_frechet(X, E)", "E", lambda v: _frechet(v["X"], v["E"])),
    ("sum(expm_frechet(X, E) * W)", "X", lambda v: np.sum(_frechet(v["X"], v["E"]) * v["W"])),
    ("expm_frechet(X, V)^2", "V", lambda v: np.stack([_frechet(v["X"], e) for e in v["V"]]) ** 2),
    ("expm_frechet(X, V)^2", "X", lambda v: np.stack([_frechet(v["X"], e) for e in v["V"]]) ** 2),
]
IDS = [f"{c[0]} wrt {c[1]}" for c in CASES]


@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_value_and_derivatives_against_scipy(text, wrt, oracle):
    vals = _values(np.random.default_rng(3))
    check_evaluate(tc.parse(text, SH), wrt, vals, oracle)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_every_backend(backend, text, wrt, oracle):
    vals = _values(np.random.default_rng(4))
    check_backend(backend, tc.parse(text, SH), wrt, vals, oracle)


def test_gradient_of_the_trace_is_the_transposed_exponential():
    # d tr(e^X) = tr(e^X dX), so the gradient is (e^X)ᵀ, exactly
    f = tc.parse("tr(expm(X))", SH)
    d = tc.derivative(f, "X")
    assert str(d) in ("expm(X)'", "expm(X')")
    x = np.random.default_rng(5).normal(size=(3, 3))
    assert_close(d.evaluate({"X": x}), scipy_linalg.expm(x).T, rtol=1e-13, atol=1e-13)


def test_gradient_of_an_inner_product_is_one_frechet_derivative():
    # ⟨W, L(X, dX)⟩ = ⟨L(Xᵀ, W), dX⟩: one Fréchet derivative, no 4-tensor
    d = tc.derivative(tc.parse("sum(expm(X) * W)", SH), "X")
    assert str(d) == "expm_frechet(X', W)"
    vals = _values(np.random.default_rng(6))
    assert_close(d.evaluate(vals), _frechet(vals["X"].T, vals["W"]), rtol=1e-12, atol=1e-12)


def test_second_frechet_derivative_against_differences_of_scipy():
    rng = np.random.default_rng(7)
    x, e, f = (rng.normal(size=(4, 4)) for _ in range(3))
    got = kernels.expm_frechet(x, e, f)
    want = central_jacobian(lambda t: _frechet(x + t * f, e), 0.0)
    assert_close(got, want, rtol=1e-7, atol=1e-7)
    assert_close(kernels.expm_frechet(x, f, e), got, rtol=1e-12, atol=1e-12)  # symmetric


@pytest.mark.parametrize("scale", [1e-3, 1.0, 8.0, 40.0])
def test_kernel_against_scipy_at_every_scale(scale):
    x = scale * np.random.default_rng(8).normal(size=(2, 5, 5))
    want = _expm(x)
    assert_close(kernels.expm(x), want, rtol=1e-11, atol=1e-13)
    e = 1e3 * np.random.default_rng(9).normal(size=(5, 5))  # a large direction: scaled first
    assert_close(kernels.expm_frechet(x[0], e), _frechet(x[0], e), rtol=1e-10, atol=1e-10)


def test_directions_with_their_own_axes_broadcast():
    rng = np.random.default_rng(10)
    x, e, f = rng.normal(size=(3, 3)), rng.normal(size=(4, 3, 3)), rng.normal(size=(2, 3, 3))
    got = kernels.expm_frechet(x, e, f)
    assert got.shape == (4, 2, 3, 3)
    for i in range(4):
        for j in range(2):
            assert_close(got[i, j], kernels.expm_frechet(x, e[i], f[j]), rtol=1e-12, atol=1e-12)


def test_overflow_is_a_named_error():
    f = tc.parse("expm(X)", {"X": (2, 2)})
    with pytest.raises(tc.EvaluationError, match="overflow"):
        f.evaluate({"X": np.array([[800.0, 0.0], [0.0, 1.0]])})


@pytest.mark.parametrize("backend", ["evaluate", "numpy", "dask"])
def test_an_inf_or_nan_matrix_gives_nans_and_its_neighbours_their_values(backend):
    # as NumPy's functions do: the matrix with a NaN gives NaNs, the stack's others are exact
    t = np.stack([np.array([[np.nan, 0.0], [0.0, 1.0]]), np.array([[0.5, 1.0], [0.0, 0.2]])])
    f = tc.parse("expm(T)", {"T": (2, 2, 2)})
    got = f.evaluate({"T": t}) if backend == "evaluate" else tc.compile(f, backend)(T=t)
    got = np.asarray(got)
    assert np.all(np.isnan(got[0]))
    assert_close(got[1], scipy_linalg.expm(t[1]), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(
    "text,message",
    [
        ("expm(x)", "square"),
        ("expm_frechet(X)", "expm_frechet"),
        ("expm_frechet(X, x)", "direction"),
    ],
)
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(tc.TensorCalcError, match=message):
        tc.parse(text, SH)


@pytest.mark.parametrize(
    "text",
    ["expm(X)", "expm(T)", "expm_frechet(X, E)", "expm_frechet(X, E, W)", "exp(X) + expm(X)"],
)
def test_printed_forms_read_back(text):
    e = tc.parse(text, SH)
    assert tc.parse(str(e), SH) is e
    assert tc.parse(e.latex(), SH, syntax="latex") is e
    assert r"\exp" not in e.latex() or text.startswith("exp(")  # \exp is the elementwise one


@pytest.mark.parametrize("text,wrt", [("expm(A @ X)", "X"), ("sum(expm(X) * W)", "X")])
def test_derivatives_read_back(text, wrt):
    for order in (1, 2):
        d = tc.derivative(tc.parse(text, SH), wrt, order=order)
        again = tc.parse(str(d), SH)
        vals = _values(np.random.default_rng(11))
        assert_close(again.evaluate(vals), d.evaluate(vals), rtol=1e-12, atol=1e-12)


def test_many_directions_are_computed_a_bounded_block_at_a_time(monkeypatch):
    rng = np.random.default_rng(12)
    x, e, f = rng.normal(size=(2, 3, 3)), rng.normal(size=(5, 2, 3, 3)), rng.normal(size=(2, 3, 3))
    whole = kernels.expm_frechet(x, e, f)
    monkeypatch.setattr(kernels, "EXPM_BLOCK_ENTRIES", 100)  # one combination at a time
    assert_close(kernels.expm_frechet(x, e, f), whole, rtol=1e-13, atol=1e-13)
    for i in range(5):
        for s in range(2):
            want = central_jacobian(lambda t: _frechet(x[s] + t * f[s], e[i, s]), 0.0)
            assert_close(whole[i, s], want, rtol=1e-7, atol=1e-7)


def test_derivative_orders_are_bounded():
    f = tc.parse("tr(expm(X))", {"X": (2, 2)})
    assert tc.derivative(f, "X", order=3).shape == (2,) * 6
    with pytest.raises(tc.TensorCalcError, match="MAX_EXPM_DIRECTIONS"):
        tc.derivative(f, "X", order=8)


@pytest.mark.parametrize(
    "latex,note",
    [
        (r"\exp(X)", r"the matrix exponential is \operatorname{expm}(X)"),
        (r"e^{X}", "read e as a variable"),
        (r"e^{A X}", "read e as a variable"),
    ],
)
def test_latex_exponentials_of_a_matrix_say_how_they_were_read(latex, note):
    # a matrix-analysis text means the matrix exponential; the reader's is elementwise: a note
    assert any(note in n for n in tc.parse(latex, SH, syntax="latex").notes)


@pytest.mark.parametrize("latex", [r"\exp(x)", r"e^{x}", r"\operatorname{expm}(X)"])
def test_latex_exponentials_of_vectors_and_expm_need_no_note(latex):
    assert tc.parse(latex, SH, syntax="latex").notes == ()


def test_matrix_free_products_are_frechet_derivatives():
    # J v = L(X, v), uᵀ J = L(Xᵀ, u), and H v of ⟨W, e^X⟩ is one second Fréchet derivative
    from tensorcalc.diff.products import hvp, jvp_expr, vjp_expr
    from tensorcalc.expr import variables

    g = tc.parse("expm(X)", SH)
    x = variables(g)["X"]
    assert str(jvp_expr(g, x)) == "expm_frechet(X, v)"
    assert str(vjp_expr(g, x)) == "expm_frechet(X', u)"
    f = tc.parse("sum(expm(X) * W)", SH)
    h = hvp(f, variables(f)["X"])
    assert str(h).startswith("expm_frechet(")
    vals = _values(np.random.default_rng(13))
    vals["v"] = np.random.default_rng(14).normal(size=(3, 3))
    hess = tc.derivative(f, "X", order=2).evaluate(vals)
    assert_close(h.evaluate(vals), np.einsum("ijkl,kl->ij", hess, vals["v"]), rtol=1e-12)
    # H v = d/dt ∇f(X + t v), ∇f = L(Xᵀ, W), by central differences of SciPy
    grad = lambda t: _frechet((vals["X"] + t * vals["v"]).T, vals["W"])  # noqa: E731
    assert_close(h.evaluate(vals), central_jacobian(grad, 0.0), rtol=1e-7, atol=1e-7)
