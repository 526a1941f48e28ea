"""Values of every dtype, NaN and inf, through ``evaluate`` and every compiled backend: they
convert inputs the same way (``kernels.as_input``) and agree, or all raise EvaluationError.
Also the compiled path's own reproducers: names that Python normalises, missing dims, a
singular matrix, and what evaluate builds (a size cap, selections without dense matrices)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tensorcalc as tc
from conftest import central_jacobian
from tensorcalc.codegen import BACKENDS
from tensorcalc.kernels import as_input

INSTALLED = [
    pytest.param(
        name, marks=pytest.mark.skipif(
            importlib.util.find_spec(b.module) is None, reason=f"{b.module} not installed"
        ),
    )
    for name, b in BACKENDS.items()
    if name in ("numpy", "jax", "torch", "dask")
]  # fmt: skip

DTYPES = [np.bool_, np.int8, np.uint8, np.int64, np.float32, np.float64, np.complex128]

# expression, shapes, the variables' base values (cast to each dtype)
CASES = [
    ("x' @ A @ x", {"x": (3,), "A": (3, 3)}, {"x": [100, 1, 1], "A": np.eye(3)}),
    ("x + y", {"x": (2,), "y": (2,)}, {"x": [1, 1], "y": [1, 0]}),
    ("x - y", {"x": (2,), "y": (2,)}, {"x": [250, 1], "y": [10, 3]}),
    ("x * y + 2 * x", {"x": (3,), "y": (3,)}, {"x": [200, 3, 0], "y": [2, 1, 1]}),
    ("A @ x", {"A": (2, 3), "x": (3,)}, {"A": [[1, 2, 3], [0, 1, 0]], "x": [1, 0, 1]}),
    ("sum(exp(x) * y)", {"x": (3,), "y": (3,)}, {"x": [0, 1, 0], "y": [1, 1, 0]}),
    ("x[::-1] * y", {"x": (3,), "y": (3,)}, {"x": [1, 2, 3], "y": [1, 0, 1]}),
    # placed, never multiplied (codegen/place.py): a scalar times I, a reversal's placement and
    # scatter (a NaN stays in its entry, inf · I is 0 off the diagonal)
    ("tr(A)^3", {"A": (2, 2)}, {"A": [[1, 2], [3, 4]]}),
    ("sin(x - x[::-1])", {"x": (3,)}, {"x": [3, 1, 2]}),
    ("sum(sin(x[::-1]) * y)", {"x": (3,), "y": (3,)}, {"x": [1, 2, 3], "y": [2, 1, 0]}),
]

SPECIALS = [np.inf, -np.inf, np.nan]


def _cast(values, dtype):
    return {k: np.asarray(v).astype(dtype) for k, v in values.items()}


def _to_numpy(x):
    if hasattr(x, "compute"):
        x = x.compute()
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _run(fn):
    try:
        return fn()
    except tc.EvaluationError:
        return "EvaluationError"


def _agree(got, want, dtype):
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return
    got = _to_numpy(got)
    assert got.shape == want.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


@pytest.fixture(scope="module", autouse=True)
def _jax_x64():
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)


def test_conversion_table():
    assert as_input("x", np.int8([100])).dtype == np.float64
    assert as_input("x", [True]).tolist() == [1.0]
    assert as_input("x", np.uint8([250])).tolist() == [250.0]
    assert as_input("x", np.float32([1])).dtype == np.float32
    assert as_input("x", np.complex128([1j])).dtype == np.complex128
    for bad in ("a", ["a", "b"], {}, [[1], [1, 2]], None, object()):
        with pytest.raises(tc.EvaluationError, match="'x'"):
            as_input("x", bad)


def test_reproducers_evaluate_as_float64():
    f = tc.parse("x' @ A @ x", {"x": (3,), "A": (3, 3)})
    vals = {"x": np.int8([100, 1, 1]), "A": np.eye(3, dtype=np.int8)}
    assert float(f.evaluate(vals)) == 10002.0
    assert float(tc.compile(f)(**vals)) == 10002.0
    g = tc.parse("x + y", {"x": (2,), "y": (2,)})
    out = tc.compile(g)(x=np.array([True, True]), y=np.array([True, False]))
    assert out.dtype == np.float64 and out.tolist() == [2.0, 1.0]
    h = tc.parse("x + y", {"x": (1,), "y": (1,)})
    assert tc.compile(h)(x=np.uint8([250]), y=np.uint8([10])).tolist() == [260.0]


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("text,shapes,base", CASES, ids=[c[0] for c in CASES])
def test_backends_agree_with_evaluate(backend, dtype, text, shapes, base):
    f = tc.parse(text, shapes)
    outs = [f] + [tc.derivative(f, v) for v in sorted(shapes)]
    vals = _cast(base, dtype)
    want = [_run(lambda o=o: o.evaluate(vals)) for o in outs]
    got = _run(lambda: tc.compile(outs, backend)(**vals))
    if isinstance(got, str):
        assert all(w == got for w in want)
        return
    for g, w in zip(got, want):
        _agree(g, w, dtype)


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("special", SPECIALS, ids=str)
@pytest.mark.parametrize("text,shapes,base", CASES, ids=[c[0] for c in CASES])
def test_nan_and_inf_propagate_alike(backend, special, text, shapes, base):
    f = tc.parse(text, shapes)
    vals = _cast(base, np.float64)
    first = sorted(vals)[0]
    vals[first] = vals[first].copy()
    vals[first].flat[0] = special
    outs = [f, tc.derivative(f, first)]
    want = [o.evaluate(vals) for o in outs]
    got = tc.compile(outs, backend)(**vals)
    for g, w in zip(got, want):
        _agree(g, w, np.float64)


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("bad", ["a", [[1.0], [1.0, 2.0]], {"x": 1}, None])
def test_non_numbers_are_an_evaluation_error(backend, bad):
    f = tc.parse("x + y", {"x": (2,), "y": (2,)})
    with pytest.raises(tc.EvaluationError, match="'x'"):
        f.evaluate(x=bad, y=np.ones(2))
    with pytest.raises(tc.EvaluationError, match="'x'"):
        tc.compile(f, backend)(x=bad, y=np.ones(2))


@pytest.mark.parametrize("backend", INSTALLED)
def test_singular_matrix_is_an_evaluation_error(backend):
    f = tc.parse("inv(A)", {"A": (2, 2)})
    with pytest.raises(tc.EvaluationError, match="singular"):
        f.evaluate(A=np.zeros((2, 2)))
    if backend in ("numpy", "torch", "dask"):  # JAX returns inf/nan without raising
        with pytest.raises(tc.EvaluationError, match="singular"):
            _to_numpy(tc.compile(f, backend)(A=np.zeros((2, 2))))


# -- names are NFKC-normalised where they enter and never collide in generated code ------------


def test_fullwidth_dimension_is_the_same_dimension():
    # "ｎ" is "n", as Python reads it: sizes 3 and 5 are an error, not a gradient of shape (5,)
    f = tc.parse("sum(x) + sum(y)", {"x": ("ｎ",), "y": ("n",)})
    fg = tc.compile([f, tc.derivative(f, "x")])
    with pytest.raises(tc.EvaluationError, match="'y' has shape"):
        fg(x=np.ones(3), y=np.ones(5))
    with pytest.raises(tc.EvaluationError, match="dimension 'n' is 3 elsewhere but 5"):
        f.evaluate(x=np.ones(3), y=np.ones(5))
    value, grad = fg(x=np.ones(3), y=np.ones(3))
    assert float(value) == 6.0 and np.array_equal(grad, np.ones(3))


@pytest.mark.parametrize("name", ["ｔ0", "t0", "ﬁ", "Ⅸ", "d_n"])
def test_variable_named_like_a_temporary_is_not_overwritten(name):
    t, a = tc.scalar(name), tc.scalar("a")
    f = t * tc.exp(a) + tc.exp(a) * tc.exp(a)  # exp(a) is shared: a temporary t0
    vals = {name: 2.0, "a": 1.0}
    want = 2.0 * np.e + np.e**2
    assert float(f.evaluate(vals)) == pytest.approx(want)
    assert float(tc.compile(f)(**vals)) == pytest.approx(want)


def test_names_equal_after_nfkc_are_one_variable():
    x, y = tc.vector("ﬁ", "n"), tc.vector("fi", "n")
    assert x is y
    f = tc.sum(x * 2.0) + tc.sum(y)
    assert float(tc.compile(f)(**{"ﬁ": np.ones(2)})) == 6.0
    with pytest.raises(tc.TensorCalcError, match="'ﬁ' and 'fi'|'fi' and 'ﬁ'"):
        tc.compile(f)(**{"ﬁ": np.ones(2), "fi": np.ones(2)})


@pytest.mark.parametrize("bad", ["f x", "class", "1a", "np", "ｆ", None, ""])
def test_codegen_function_name_must_be_an_identifier(bad):
    with pytest.raises(tc.TensorCalcError, match="identifier"):
        tc.codegen(tc.parse("x^2"), name=bad)


def test_codegen_takes_a_good_name():
    assert "def objective(x):" in tc.codegen(tc.parse("x^2"), name="objective")


def test_variables_named_self_values_dims():
    f = tc.parse("values * dims + self")
    vals = {"values": 1.0, "dims": 2.0, "self": 3.0}
    assert float(f.evaluate(vals)) == 5.0
    assert float(f.evaluate(**vals)) == 5.0
    assert float(tc.evaluate(f, **vals)) == 5.0
    assert float(tc.compile(f)(**vals)) == 5.0


def test_missing_dims_names_the_dimension():
    d = tc.derivative(tc.parse("A @ x", {"A": ("M", "N")}), "A")
    with pytest.raises(tc.EvaluationError, match=r"'M'.*dims=\{'M'"):
        tc.compile(d)(x=np.ones(2))
    assert tc.compile(d)(x=np.ones(2), dims={"M": 3}).shape == (3, 3, 2)


# -- what evaluate builds ----------------------------------------------------------------------


def test_allocation_cap_is_checked_before_any_work():
    d3 = tc.derivative(tc.parse("det(X)", {"X": ("n", "n")}), "X", order=3)
    with pytest.raises(tc.EvaluationError, match="max_elements"):
        d3.evaluate(X=np.eye(200))
    small = d3.evaluate(X=np.eye(2) * 2.0)
    assert small.shape == (2,) * 6
    with pytest.raises(tc.EvaluationError, match="max_elements=10"):
        tc.parse("outer(x, x)", {"x": (5,)}).evaluate(x=np.ones(5), max_elements=10)


def test_selections_are_indexing_not_dense_matrices():
    n = 50_000
    f = tc.parse("x[::-1]", {"x": (n,)})
    x = np.arange(float(n))
    # a dense n×n selection would be 2.5e9 entries, far above the default cap
    assert np.array_equal(f.evaluate(x=x, max_elements=2 * n), x[::-1])
    g = tc.parse("sum(x[1:5] * y[::2][:4])", {"x": (10,), "y": (10,)})
    xs, ys = np.arange(10.0), np.arange(10.0) ** 2
    assert float(g.evaluate(x=xs, y=ys)) == float(np.sum(xs[1:5] * ys[::2][:4]))


@pytest.mark.parametrize(
    "text,shapes",
    [
        ("x[::-1] * x", {"x": (5,)}),
        ("A[1:3, ::2]", {"A": (5, 6)}),
        ("sum(x[::-1] * x)", {"x": (5,)}),
        ("A[:, 0]' @ B @ A[1:3, 2]", {"A": (4, 4), "B": (4, 2)}),
        ("sum(x[1:5] * x[::2][:4])", {"x": (10,)}),
    ],
)
def test_selection_derivatives_match_central_differences(text, shapes, rng):
    f = tc.parse(text, shapes)
    vals = {k: rng.normal(size=s) for k, s in shapes.items()}
    for name in vals:
        d = tc.derivative(f, name)
        want = central_jacobian(lambda v: f.evaluate({**vals, name: v}), vals[name])
        np.testing.assert_allclose(d.evaluate(vals), want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", INSTALLED)
def test_variables_named_like_the_array_library(backend):
    f = tc.parse("np * jnp + torch + da + jax + _sigmoid")
    vals = {"np": 2.0, "jnp": 3.0, "torch": 4.0, "da": 5.0, "jax": 6.0, "_sigmoid": 7.0}
    assert float(_to_numpy(tc.compile(f, backend)(**vals))) == 2.0 * 3.0 + 4.0 + 5.0 + 6.0 + 7.0


@pytest.mark.parametrize(
    "cols,picked",
    [(":", slice(None)), ("::-1", slice(None, None, -1)), ("::2", slice(None, None, 2))],
)
def test_the_selected_rows_of_a_gradient_are_placed_not_masked(cols, picked):
    # d/dA sum((1/A)[1:3, cols]) = -1/A² on the selected entries and 0 elsewhere: the column sums
    # of the selection, Σ_p S[p, q], are placed, not multiplied as a 0/1 mask (0 · inf at A = 0)
    a = np.arange(1.0, 17.0).reshape(4, 4)
    a[0, 3] = 0.0  # row 0 is not selected: 1 / A² is inf there, the derivative 0
    d = tc.derivative(tc.parse(f"sum((1 / A)[1:3, {cols}])", {"A": (4, 4)}), "A")
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, picked] = True
    want = np.where(mask, -1.0 / np.where(mask, a, 1.0) ** 2, 0.0)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(d.evaluate(A=a), want, rtol=1e-14)
        np.testing.assert_allclose(tc.compile(d)(A=a), want, rtol=1e-14)
