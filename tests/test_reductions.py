"""Row-wise reductions: softmax(X, axis), logsumexp(X, axis) and mean, against NumPy closures
that share no code with tensorcalc, and the attention derivative as one line of input."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from conftest import assert_close, central_jacobian


def np_softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_lse(z, axis):
    return np.log(np.sum(np.exp(z), axis=axis))


CASES = [
    ("softmax(X, 1)", lambda X: np_softmax(X, 1)),
    ("softmax(X, 0)", lambda X: np_softmax(X, 0)),
    ("softmax(X, -1)", lambda X: np_softmax(X, 1)),
    ("logsumexp(X, 1)", lambda X: np_lse(X, 1)),
    ("logsumexp(X, axis=0)", lambda X: np_lse(X, 0)),
    ("mean(X)", np.mean),
    ("mean(X, 0)", lambda X: X.mean(axis=0)),
    ("mean(X, 1) * 2", lambda X: 2 * X.mean(axis=1)),
]


@pytest.mark.parametrize("shapes", [{"X": (3, 4)}, {"X": ("n", "m")}])
@pytest.mark.parametrize("text,oracle", CASES)
def test_value_and_derivative(text, oracle, shapes, rng):
    X = rng.normal(size=(3, 4)) * 2
    f = tc.parse(text, shapes)
    assert_close(f.evaluate(X=X), oracle(X), rtol=1e-12)
    d = tc.derivative(f, "X")
    assert_close(d.evaluate(X=X), central_jacobian(oracle, X), rtol=1e-6)
    assert_close(tc.compile(d)(X=X), d.evaluate(X=X), rtol=1e-10)
    again = tc.parse(str(f), shapes)  # the text round trip
    assert_close(again.evaluate(X=X), oracle(X), rtol=1e-12)
    latex = tc.parse(f.latex(), shapes, syntax="latex")  # and the LaTeX one
    assert_close(latex.evaluate(X=X), oracle(X), rtol=1e-12)


def test_printed_forms():
    X = {"X": "n,m"}
    assert str(tc.parse("softmax(X, 1)", X)) == "softmax(X, 1)"
    assert tc.parse("logsumexp(X, 0)", X).latex() == r"\operatorname{logsumexp}_{0}\left(X\right)"
    assert tc.parse("logsumexp(X, 0)", X).shape == ("m",)
    with pytest.raises(tc.ShapeError, match="axis 2 out of range"):
        tc.parse("softmax(X, 2)", X)


def attention(Q, K, V, s):
    return np_softmax(Q @ K.T / s, 1) @ V


def test_attention_derivative_is_one_line(rng):
    f = tc.parse("softmax(Q @ K' / s, 1) @ V")  # no shapes: Q n×d, K m×d, V m×e, s scalar
    assert tc.expr.variables(f)["s"].shape == ()
    vals = {
        "Q": rng.normal(size=(4, 3)),
        "K": rng.normal(size=(5, 3)),
        "V": rng.normal(size=(5, 2)),
    }
    vals["s"] = np.sqrt(3.0)
    assert_close(f.evaluate(vals), attention(**vals), rtol=1e-12)
    for wrt in ("Q", "K", "V"):
        d = tc.derivative(f, wrt)
        fd = central_jacobian(lambda M: attention(**{**vals, wrt: M}), vals[wrt])
        assert_close(d.evaluate(vals), fd, rtol=1e-6)
        assert_close(tc.compile(d)(**vals), fd, rtol=1e-6)


def test_tensorcalc_numpy_reductions(rng):
    def loss(W, X):
        return tnp.mean(tnp.logsumexp(X @ W, axis=1)) + tnp.sum(tnp.softmax(X @ W, axis=0) ** 2)

    W, X = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    direct = np.mean(np_lse(X @ W, 1)) + np.sum(np_softmax(X @ W, 0) ** 2)
    assert loss(W, X) == pytest.approx(direct)
    g = tc.grad(loss)(W, X)
    fd = central_jacobian(
        lambda M: np.mean(np_lse(X @ M, 1)) + np.sum(np_softmax(X @ M, 0) ** 2), W
    )
    assert_close(g, fd, rtol=1e-6)
