"""The compiled function's call path (``codegen.Compiled.__call__``): a repeated call whose arrays
need no conversion skips the conversions, the dimension binding and the signature lookup, and
every other call still converts, checks and names what is wrong as the first call did."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close

codegen = importlib.import_module("tensorcalc.codegen")  # tc.codegen is the function

BACKENDS = [
    pytest.param(
        name, marks=pytest.mark.skipif(importlib.util.find_spec(name) is None, reason="no " + name)
    )
    for name in ("numpy", "jax", "torch")
]


@pytest.fixture(scope="module", autouse=True)
def _jax_x64():
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)


def _array(backend, a):
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    if backend == "torch":
        import torch

        return torch.as_tensor(a)
    return np.asarray(a)


def _np(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _counting(monkeypatch):
    calls = []
    real = codegen.as_input

    def as_input(name, value):
        calls.append(name)
        return real(name, value)

    monkeypatch.setattr(codegen, "as_input", as_input)
    return calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repeated_call_converts_nothing_and_agrees(backend, monkeypatch, rng):
    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    c = tc.compile([f, tc.derivative(f, "x")], backend)
    x, A = rng.normal(size=4), rng.normal(size=(4, 4))
    calls = _counting(monkeypatch)
    first = c(x=_array(backend, x), A=_array(backend, A))
    assert sorted(calls) == ["A", "x"]
    again = c(x=_array(backend, 2 * x), A=_array(backend, A))
    assert sorted(calls) == ["A", "x"]  # the second call took the fast path
    assert_close(_np(first[1]), (A + A.T) @ x, rtol=1e-12)
    assert_close(_np(again[0]), 4 * x @ A @ x, rtol=1e-12)
    assert_close(_np(again[1]), 2 * (A + A.T) @ x, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_calls_after_a_fast_one_still_convert_and_check(backend, rng):
    f = tc.parse("x + y", {"x": (3,), "y": (3,)})
    c = tc.compile(f, backend)
    for _ in range(2):  # the second call is a fast one
        assert_close(
            _np(c(x=_array(backend, np.ones(3)), y=_array(backend, np.ones(3)))), [2.0] * 3
        )
    # integers and bools of the same shape become float64, as on the first call
    out = c(x=_array(backend, np.int64([1, 2, 3])), y=_array(backend, np.array([True] * 3)))
    assert _np(out).dtype == np.float64 and _np(out).tolist() == [2.0, 3.0, 4.0]
    assert _np(c(x=[1, 2, 3], y=np.ones(3))).tolist() == [2.0, 3.0, 4.0]  # a list too
    with pytest.raises(tc.EvaluationError, match="'x'"):
        c(x=np.array(["a", "b", "c"]), y=np.ones(3))
    with pytest.raises(tc.EvaluationError, match="missing values for y"):
        c(x=np.ones(3))
    with pytest.raises(tc.EvaluationError, match="'x'"):
        c(x=np.ones(4), y=np.ones(3))


def test_float32_is_kept_on_the_fast_path():
    f = tc.parse("2 * x", {"x": (2,)})
    c = tc.compile(f)
    for _ in range(2):
        out = c(x=np.float32([1, 2]))
        assert out.dtype == np.float32 and out.tolist() == [2.0, 4.0]
    assert c(x=np.float16([1, 2])).dtype == np.float64  # converted, as evaluate converts it


def test_a_singular_matrix_on_the_fast_path_is_an_evaluation_error():
    c = tc.compile(tc.parse("inv(A)", {"A": (2, 2)}))
    assert_close(c(A=np.eye(2)), np.eye(2))
    with pytest.raises(tc.EvaluationError, match="singular"):
        c(A=np.zeros((2, 2)))


def test_calls_with_dimensions_or_extra_inputs_take_the_checked_path(rng):
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")})
    H = tc.derivative(f, "U", order=2)  # depends on V only; m is passed in
    c = tc.compile(H)
    V = rng.normal(size=(2, 3))
    want = H.evaluate(V=V, dims={"m": 4})
    for _ in range(2):
        assert_close(c(V=V, dims={"m": 4}), want, rtol=1e-12)
        assert_close(c(V=V, U=np.ones((4, 2)), X=np.ones((4, 3))), want, rtol=1e-12)
    with pytest.raises(tc.EvaluationError, match="'m'"):
        c(V=V)


def test_jax_arrays_go_through_one_jitted_entry_point_that_checks_as_the_first_call(rng):
    pytest.importorskip("jax")
    import jax.numpy as jnp

    f = tc.parse("x' @ A @ x", {"x": ("n",), "A": ("n", "n")})
    g = tc.derivative(f, "x")
    c = tc.compile([f, g], "jax")
    for n in (3, 4, 3):  # two signatures, each traced once by the entry point
        x, A = rng.normal(size=n), rng.normal(size=(n, n))
        value, grad = c(x=jnp.asarray(x), A=jnp.asarray(A))
        assert_close(np.asarray(value), x @ A @ x, rtol=1e-12)
        assert_close(np.asarray(grad), (A + A.T) @ x, rtol=1e-12)
    assert c._entry._cache_size() == 2
    ints = c(x=jnp.asarray([1, 2, 3]), A=jnp.asarray(np.eye(3, dtype=np.int32)))
    assert ints[1].dtype == np.float64 and np.asarray(ints[1]).tolist() == [2.0, 4.0, 6.0]
    single = c(x=jnp.asarray(np.float32([1, 2])), A=jnp.asarray(np.eye(2, dtype=np.float32)))
    assert single[1].dtype == np.float32
    with pytest.raises(tc.EvaluationError, match="'x'"):
        c(x=jnp.ones(4), A=jnp.ones((3, 3)))
    H = tc.derivative(tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")}), "U", 2)
    with pytest.raises(tc.EvaluationError, match="'m'"):
        tc.compile(H, "jax")(V=jnp.ones((2, 3)))
