"""Batched matrices with NumPy semantics (``@`` on stacks, ``transpose(T, axes)``,
``swapaxes``, ``det``/``logdet``/``inv``/``solve``/``tr`` on the last two axes), each against
central differences of an independent NumPy implementation at orders 1 and 2, in the
evaluator and in every installed backend; multi-head attention at order 1."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from orders import check_backend, check_evaluate
from orders import oracle_fun as _fun
from test_codegen import BACKEND_PARAMS, to_backend, to_numpy


def _stack(rng, shape=(2, 3, 3)):
    return rng.normal(size=shape) * 0.3 + 2 * np.eye(shape[-1])


def _vals(rng):
    return {"T": _stack(rng), "U": rng.normal(size=(2, 3, 2)), "A": rng.normal(size=(3, 3))}


SH = {"T": (2, 3, 3), "U": (2, 3, 2), "A": (3, 3), "v": (3,)}
# (expression, variable, independent NumPy function of the values)
CASES = [
    ("sum(T @ U)", "T", lambda v: np.sum(np.matmul(v["T"], v["U"]))),
    ("sum((T @ U) * (T @ U))", "U", lambda v: np.sum(np.matmul(v["T"], v["U"]) ** 2)),
    ("A @ T", "T", lambda v: np.matmul(v["A"], v["T"])),  # an absent leading axis broadcasts
    ("T @ v", "T", lambda v: np.matmul(v["T"], v["v"])),
    ("v @ T", "T", lambda v: np.matmul(v["v"], v["T"])),
    ("transpose(U, (0, 2, 1)) @ T", "U", lambda v: np.transpose(v["U"], (0, 2, 1)) @ v["T"]),
    ("swapaxes(U, 1, 2) @ T @ U", "U", lambda v: np.swapaxes(v["U"], 1, 2) @ v["T"] @ v["U"]),
    ("transpose(T, (2, 0, 1))", "T", lambda v: np.transpose(v["T"], (2, 0, 1))),
    ("det(T)", "T", lambda v: np.linalg.det(v["T"])),
    ("logdet(T)", "T", lambda v: np.linalg.slogdet(v["T"])[1]),
    ("inv(T)", "T", lambda v: np.linalg.inv(v["T"])),
    ("solve(T, U)", "T", lambda v: np.linalg.solve(v["T"], v["U"])),
    ("solve(T, U)", "U", lambda v: np.linalg.solve(v["T"], v["U"])),
    ("tr(T)", "T", lambda v: np.trace(v["T"], axis1=1, axis2=2)),
    ("sum(tr(T @ T) * det(T))", "T",
     lambda v: np.sum(np.trace(v["T"] @ v["T"], axis1=1, axis2=2) * np.linalg.det(v["T"]))),
]  # fmt: skip
IDS = [f"{t} wrt {w}" for t, w, _ in CASES]


def _values(rng):
    vals = _vals(rng)
    vals["v"] = rng.normal(size=3)
    return vals


@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_value_and_derivatives_against_numpy(text, wrt, oracle):
    vals = _values(np.random.default_rng(3))
    f = tc.parse(text, SH)
    check_evaluate(f, wrt, vals, oracle)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("text,wrt,oracle", CASES, ids=IDS)
def test_every_backend(backend, text, wrt, oracle):
    vals = _values(np.random.default_rng(4))
    f = tc.parse(text, SH)
    check_backend(backend, f, wrt, vals, oracle)


@pytest.mark.parametrize(
    "text,message",
    [
        ("T @ A @ U @ T", "inner dimensions"),
        ("det(U)", "square matrix"),
        ("W @ T", "leading"),
        ("transpose(T, (0, 1))", "bad axes"),
        ("swapaxes(T, 1, 3)", "out of range"),
        ("transpose(T, (0, x, 1))", "whole number is needed"),
        ("T + (1, 2)", "only allowed as the axes"),
    ],
)
def test_bad_batched_input_is_a_clear_error(text, message):
    with pytest.raises(tc.TensorCalcError, match=message):
        tc.parse(text, {**SH, "W": (3, 3, 3), "x": ()})


# -- multi-head attention: batch 2, heads 4, length 16, width 8 --------------------------------

ATT = "sum(softmax(Q @ swapaxes(K, 2, 3) / sqrt(8), 3) @ V * G)"
ATT_SHAPES = {k: (2, 4, 16, 8) for k in "QKVG"}


def _attention(v):
    s = v["Q"] @ np.swapaxes(v["K"], 2, 3) / np.sqrt(8)
    e = np.exp(s - s.max(axis=3, keepdims=True))
    return np.sum((e / e.sum(axis=3, keepdims=True)) @ v["V"] * v["G"])


def _att_values():
    rng = np.random.default_rng(11)
    return {k: rng.normal(size=(2, 4, 16, 8)) for k in "QKVG"}


def _directional(fun, x, d, h=1e-5):
    return (fun(x + h * d) - fun(x - h * d)) / (2 * h)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("wrt", ["Q", "K", "V"])
def test_multihead_attention_gradient(backend, wrt):
    vals = _att_values()
    f = tc.parse(ATT, ATT_SHAPES)
    g = tc.gradient(f, wrt)
    assert g.shape == (2, 4, 16, 8)
    fn = tc.compile([f, g], backend)
    given = {k: to_backend(backend, v) for k, v in vals.items()}
    if backend == "dask":  # one chunk: a chunk per batch entry is 16 times the tasks here
        given = {k: v.rechunk(-1) for k, v in given.items()}
    value, grad = (to_numpy(r) for r in fn(**given))
    assert_close(value, _attention(vals), rtol=1e-10, atol=1e-10)
    assert_close(grad, g.evaluate(vals), rtol=1e-10, atol=1e-10)
    rng = np.random.default_rng(2)
    fun = _fun(_attention, vals, wrt)
    for _ in range(3):  # central differences along random directions (4096 entries)
        d = rng.normal(size=vals[wrt].shape)
        assert np.isclose(np.sum(grad * d), _directional(fun, vals[wrt], d), rtol=1e-6, atol=1e-6)
    some = [(0, 1, 2, 3), (1, 3, 15, 7), (1, 0, 0, 0)]
    for idx in some:  # and entrywise at a few entries
        e = np.zeros_like(vals[wrt])
        e[idx] = 1.0
        assert np.isclose(grad[idx], _directional(fun, vals[wrt], e), rtol=1e-6, atol=1e-7)


def test_multihead_attention_prints_in_index_notation():
    f = tc.parse(ATT, ATT_SHAPES)
    text = str(tc.gradient(f, "V"))
    assert "einsum(" in text and "softmax(" in text
    again = tc.parse(text, ATT_SHAPES)  # the printed einsum reads back to the same node
    assert again is tc.gradient(f, "V")
    steps = tc.explain(f, "V", style="index")
    assert steps.result is tc.gradient(f, "V")
