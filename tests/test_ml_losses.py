"""Common ML losses and layers, written with ``mean`` and symbolic sizes, against independent
NumPy: the value of f, the gradient and the Hessian (central differences of the NumPy f, never
tensorcalc's evaluate), in ``evaluate``, as printed and parsed back, and in every installed
backend.

Each row of ``LOSSES`` is a name, the tensorcalc text, the variables' shapes (dimension names:
N a batch, D features, K classes, r a rank, n a vector's length), the variables to
differentiate by, and the same function written in NumPy.  The sizes are distinct
(``SIZES``), so a count mistaken for another (Σ 1 = n taken for 1, or for N) shows.  The issue's
reproducers (``REPRODUCERS``) run at symbolic and at concrete sizes.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import tensorcalc as tc
from conftest import as_numpy, central_hessian, central_jacobian
from tensorcalc.expr import variables

SIZES = {"N": 5, "D": 3, "K": 4, "r": 2, "n": 4, "h": 2}
EPS = 1e-3


def _mean(a, axis=None):
    return np.mean(a, axis=axis)


def softmax_rows(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def logsumexp_rows(Z):
    m = Z.max(axis=1)
    return m + np.log(np.exp(Z - m[:, None]).sum(axis=1))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softplus(z):
    return np.log1p(np.exp(z))


def centered(x):
    return x - x.mean()


def standardize(x):
    return centered(x) / np.sqrt(np.mean(centered(x) ** 2) + EPS)


def layer_norm(X):
    C = X - X.mean(axis=1, keepdims=True)
    return C / np.sqrt(np.mean(C**2, axis=1, keepdims=True) + EPS)


def batch_norm(X):
    C = X - X.mean(axis=0, keepdims=True)
    return C / np.sqrt(np.mean(C**2, axis=0, keepdims=True) + EPS)


def attention(Q, K, V):
    return softmax_rows(Q @ K.T / np.sqrt(Q.shape[1])) @ V


# text pieces: the tensorcalc spellings of the layers above
LN = "((X - mean(X, 1) @ ones(D)') / ((mean((X - mean(X, 1) @ ones(D)')^2, 1) + 0.001)^0.5 @ ones(D)'))"
BN = "((X - ones(N) @ mean(X, 0)') / outer(ones(N), (mean((X - ones(N) @ mean(X, 0)')^2, 0) + 0.001)^0.5))"
STD = "((x - mean(x)) / (mean((x - mean(x))^2) + 0.001)^0.5)"
ATT = "(softmax(Q @ P' / sum(ones(D))^0.5, 1) @ V2)"

S = {
    "x": ("n",), "y": ("n",), "w": ("D",), "t": ("N",), "X": ("N", "D"), "W": ("D", "K"),
    "Y": ("N", "K"), "U": ("N", "r"), "V": ("r", "D"), "G": ("N", "D"), "g": ("D",), "b": ("D",),
    "a": ("n",), "s": (), "c": ("N",), "M": ("D", "r"), "W1": ("D", "h"), "v": ("h",),
    "Q": ("N", "D"), "P": ("N", "D"), "V2": ("N", "D"), "mu": ("D",), "L": ("D", "D"), "z": ("N",),
}  # fmt: skip

# name, text, wrt, numpy f(values)
LOSSES = [
    ("mse", "mean((X @ w - t)^2)", "w X t", lambda v: np.mean((v["X"] @ v["w"] - v["t"]) ** 2)),
    (
        "mse_half",
        "0.5 * mean((X @ w - t)^2)",
        "w",
        lambda v: 0.5 * np.mean((v["X"] @ v["w"] - v["t"]) ** 2),
    ),
    ("mean_squared", "mean(x^2)", "x", lambda v: np.mean(v["x"] ** 2)),
    ("mean_squared_matrix", "mean(X^2)", "X", lambda v: np.mean(v["X"] ** 2)),
    (
        "mean_of_residual_squared",
        "mean(X @ w - t)^2",
        "w",
        lambda v: np.mean(v["X"] @ v["w"] - v["t"]) ** 2,
    ),
    ("variance", "mean((x - mean(x))^2)", "x", lambda v: np.var(v["x"])),
    (
        "variance_moments",
        "mean(x^2) - mean(x)^2",
        "x",
        lambda v: np.mean(v["x"] ** 2) - np.mean(v["x"]) ** 2,
    ),
    (
        "unbiased_variance",
        "sum((x - mean(x))^2) / (sum(ones(n)) - 1)",
        "x",
        lambda v: np.var(v["x"], ddof=1),
    ),
    ("std", "mean((x - mean(x))^2)^0.5", "x", lambda v: np.std(v["x"])),
    ("standardisation", STD, "x", lambda v: standardize(v["x"])),
    ("standardised_dot", f"a' @ {STD}", "x a", lambda v: v["a"] @ standardize(v["x"])),
    ("layer_norm", f"sum(G * {LN})", "X", lambda v: np.sum(v["G"] * layer_norm(v["X"]))),
    (
        "layer_norm_affine",
        f"mean(({LN} * (ones(N) @ g') + ones(N) @ b')^2)",
        "g b X",
        lambda v: np.mean((layer_norm(v["X"]) * v["g"] + v["b"]) ** 2),
    ),
    ("batch_norm", f"sum(G * {BN})", "X", lambda v: np.sum(v["G"] * batch_norm(v["X"]))),
    (
        "batch_norm_mse",
        f"mean(({BN} - G)^2)",
        "X",
        lambda v: np.mean((batch_norm(v["X"]) - v["G"]) ** 2),
    ),
    (
        "rms_norm",
        "x / (mean(x^2) + 0.001)^0.5",
        "x",
        lambda v: v["x"] / np.sqrt(np.mean(v["x"] ** 2) + EPS),
    ),
    (
        "rms_norm_gain",
        "sum(a * x / (mean(x^2) + 0.001)^0.5)",
        "x a",
        lambda v: np.sum(v["a"] * v["x"] / np.sqrt(np.mean(v["x"] ** 2) + EPS)),
    ),
    (
        "rms_norm_rows",
        "sum(G * X / ((mean(X^2, 1) + 0.001)^0.5 @ ones(D)'))",
        "X",
        lambda v: np.sum(
            v["G"] * v["X"] / np.sqrt(np.mean(v["X"] ** 2, axis=1, keepdims=True) + EPS)
        ),
    ),
    (
        "softmax_cross_entropy",
        "-mean(sum(Y * log(softmax(X @ W, 1)), 1))",
        "W X",
        lambda v: -np.mean(np.sum(v["Y"] * np.log(softmax_rows(v["X"] @ v["W"])), axis=1)),
    ),
    (
        "softmax_cross_entropy_lse",
        "mean(logsumexp(X @ W, 1) - sum(Y * (X @ W), 1))",
        "W",
        lambda v: np.mean(
            logsumexp_rows(v["X"] @ v["W"]) - np.sum(v["Y"] * (v["X"] @ v["W"]), axis=1)
        ),
    ),
    (
        "label_smoothing_ce",
        "-mean(sum((0.9 * Y + 0.1 / sum(ones(K))) * log(softmax(X @ W, 1)), 1))",
        "W",
        lambda v: (
            -np.mean(
                np.sum(
                    (0.9 * v["Y"] + 0.1 / v["Y"].shape[1]) * np.log(softmax_rows(v["X"] @ v["W"])),
                    axis=1,
                )
            )
        ),
    ),
    (
        "ce_mean_all_entries",
        "-mean(Y * log(softmax(X @ W, 1)))",
        "W",
        lambda v: -np.mean(v["Y"] * np.log(softmax_rows(v["X"] @ v["W"]))),
    ),
    (
        "log_partition",
        "mean(logsumexp(X @ W, 1))",
        "W",
        lambda v: np.mean(logsumexp_rows(v["X"] @ v["W"])),
    ),
    (
        "temperature",
        "mean(logsumexp(X @ W / s, 1))",
        "s",
        lambda v: np.mean(logsumexp_rows(v["X"] @ v["W"] / v["s"])),
    ),
    (
        "attention",
        f"sum(G * {ATT})",
        "Q P V2",
        lambda v: np.sum(v["G"] * attention(v["Q"], v["P"], v["V2"])),
    ),
    (
        "attention_mean_square",
        f"mean({ATT}^2)",
        "Q",
        lambda v: np.mean(attention(v["Q"], v["P"], v["V2"]) ** 2),
    ),
    (
        "logistic",
        "mean(log(1 + exp(-c * (X @ w))))",
        "w X",
        lambda v: np.mean(np.log1p(np.exp(-v["c"] * (v["X"] @ v["w"])))),
    ),
    (
        "logistic_softplus",
        "mean(softplus(-c * (X @ w)))",
        "w",
        lambda v: np.mean(softplus(-v["c"] * (v["X"] @ v["w"]))),
    ),
    (
        "binary_cross_entropy",
        "-mean(z * log(sigmoid(X @ w)) + (1 - z) * log(1 - sigmoid(X @ w)))",
        "w",
        lambda v: (
            -np.mean(
                v["z"] * np.log(sigmoid(v["X"] @ v["w"]))
                + (1 - v["z"]) * np.log(1 - sigmoid(v["X"] @ v["w"]))
            )
        ),
    ),
    (
        "smooth_hinge",
        "mean(softplus(1 - c * (X @ w)))",
        "w",
        lambda v: np.mean(softplus(1 - v["c"] * (v["X"] @ v["w"]))),
    ),
    (
        "exponential_loss",
        "mean(exp(-c * (X @ w)))",
        "w",
        lambda v: np.mean(np.exp(-v["c"] * (v["X"] @ v["w"]))),
    ),
    (
        "l2_least_squares",
        "mean((X @ w - t)^2) + s * norm(w)^2",
        "w s",
        lambda v: np.mean((v["X"] @ v["w"] - v["t"]) ** 2) + v["s"] * v["w"] @ v["w"],
    ),
    (
        "ridge_mean_penalty",
        "mean((X @ w - t)^2) + 0.1 * mean(w^2)",
        "w",
        lambda v: np.mean((v["X"] @ v["w"] - v["t"]) ** 2) + 0.1 * np.mean(v["w"] ** 2),
    ),
    (
        "l2_logistic",
        "mean(softplus(-c * (X @ w))) + 0.5 * s * w' @ w",
        "w",
        lambda v: np.mean(softplus(-v["c"] * (v["X"] @ v["w"]))) + 0.5 * v["s"] * v["w"] @ v["w"],
    ),
    (
        "pseudo_huber",
        "mean((1 + (X @ w - t)^2)^0.5 - 1)",
        "w",
        lambda v: np.mean(np.sqrt(1 + (v["X"] @ v["w"] - v["t"]) ** 2) - 1),
    ),
    (
        "log_cosh",
        "mean(log((exp(X @ w - t) + exp(t - X @ w)) / 2))",
        "w",
        lambda v: np.mean(np.log(np.cosh(v["X"] @ v["w"] - v["t"]))),
    ),
    (
        "smooth_l1",
        "mean(((X @ w - t)^2 + 0.01)^0.5)",
        "w",
        lambda v: np.mean(np.sqrt((v["X"] @ v["w"] - v["t"]) ** 2 + 0.01)),
    ),
    (
        "poisson_nll",
        "mean(exp(X @ w) - z * (X @ w))",
        "w",
        lambda v: np.mean(np.exp(v["X"] @ v["w"]) - v["z"] * (v["X"] @ v["w"])),
    ),
    (
        "gaussian_nll",
        "0.5 * mean((X @ w - t)^2) / s^2 + log(s^2) / 2",
        "w s",
        lambda v: (
            0.5 * np.mean((v["X"] @ v["w"] - v["t"]) ** 2) / v["s"] ** 2 + np.log(v["s"] ** 2) / 2
        ),
    ),
    (
        "normalised_mse",
        "mean((X @ w - t)^2) / mean(t^2)",
        "w t",
        lambda v: np.mean((v["X"] @ v["w"] - v["t"]) ** 2) / np.mean(v["t"] ** 2),
    ),
    (
        "r_squared",
        "1 - sum((X @ w - t)^2) / sum((t - mean(t))^2)",
        "w t",
        lambda v: (
            1 - np.sum((v["X"] @ v["w"] - v["t"]) ** 2) / np.sum((v["t"] - v["t"].mean()) ** 2)
        ),
    ),
    (
        "weighted_mse",
        "mean(c^2 * (X @ w - t)^2)",
        "w",
        lambda v: np.mean(v["c"] ** 2 * (v["X"] @ v["w"] - v["t"]) ** 2),
    ),
    (
        "cosine_similarity",
        "x' @ y / (norm(x) * norm(y))",
        "x",
        lambda v: v["x"] @ v["y"] / (np.linalg.norm(v["x"]) * np.linalg.norm(v["y"])),
    ),
    (
        "cosine_distance_mean",
        "1 - mean(x * y) / (mean(x^2) * mean(y^2))^0.5",
        "x",
        lambda v: (
            1 - np.mean(v["x"] * v["y"]) / np.sqrt(np.mean(v["x"] ** 2) * np.mean(v["y"] ** 2))
        ),
    ),
    (
        "kl_softmax",
        "sum(softmax(x) * (log(softmax(x)) - log(softmax(y))))",
        "x",
        lambda v: np.sum(softmax(v["x"]) * (np.log(softmax(v["x"])) - np.log(softmax(v["y"])))),
    ),
    (
        "entropy_softmax",
        "-sum(softmax(x) * log(softmax(x)))",
        "x",
        lambda v: -np.sum(softmax(v["x"]) * np.log(softmax(v["x"]))),
    ),
    (
        "mlp_tanh_mse",
        "mean((tanh(X @ W1) @ v - t)^2)",
        "W1 v",
        lambda v: np.mean((np.tanh(v["X"] @ v["W1"]) @ v["v"] - v["t"]) ** 2),
    ),
    (
        "mlp_softplus_mse",
        "mean((softplus(X @ W1) @ v - t)^2) + 0.01 * mean(W1^2)",
        "W1",
        lambda v: (
            np.mean((softplus(v["X"] @ v["W1"]) @ v["v"] - v["t"]) ** 2)
            + 0.01 * np.mean(v["W1"] ** 2)
        ),
    ),
    (
        "matrix_factorisation",
        "mean((X - U @ V)^2)",
        "U V",
        lambda v: np.mean((v["X"] - v["U"] @ v["V"]) ** 2),
    ),
    (
        "pca_reconstruction",
        "mean((X - X @ M @ M')^2)",
        "M",
        lambda v: np.mean((v["X"] - v["X"] @ v["M"] @ v["M"].T) ** 2),
    ),
    ("weight_decay", "mean(W^2)", "W", lambda v: np.mean(v["W"] ** 2)),
    (
        "total_variance",
        "tr((X - ones(N) @ mean(X, 0)')' @ (X - ones(N) @ mean(X, 0)')) / sum(ones(N))",
        "X",
        lambda v: (
            np.trace((v["X"] - v["X"].mean(0)).T @ (v["X"] - v["X"].mean(0))) / v["X"].shape[0]
        ),
    ),
    (
        "mahalanobis_mean",
        "mean(sum(((X - ones(N) @ mu') @ inv(eye(D) + L @ L')) * (X - ones(N) @ mu'), 1))",
        "mu L",
        lambda v: np.mean(
            np.sum(
                ((v["X"] - v["mu"]) @ np.linalg.inv(np.eye(len(v["L"])) + v["L"] @ v["L"].T))
                * (v["X"] - v["mu"]),
                axis=1,
            )
        ),
    ),
    (
        "gaussian_loglik",
        "0.5 * logdet(eye(D) + L @ L') + 0.5 * mean(sum(((X - ones(N) @ mu') @ inv(eye(D) + L @ L')) * (X - ones(N) @ mu'), 1))",
        "L",
        lambda v: (
            0.5 * np.linalg.slogdet(np.eye(len(v["L"])) + v["L"] @ v["L"].T)[1]
            + 0.5
            * np.mean(
                np.sum(
                    ((v["X"] - v["mu"]) @ np.linalg.inv(np.eye(len(v["L"])) + v["L"] @ v["L"].T))
                    * (v["X"] - v["mu"]),
                    axis=1,
                )
            )
        ),
    ),
    (
        "info_nce",
        "-mean(diag(log(softmax(Q @ P' / s, 1))))",
        "Q s",
        lambda v: -np.mean(np.diag(np.log(softmax_rows(v["Q"] @ v["P"].T / v["s"])))),
    ),
    (
        "triplet_soft",
        "mean(softplus(sum((Q - P)^2, 1) - sum((Q - X)^2, 1)))",
        "Q",
        lambda v: np.mean(
            softplus(np.sum((v["Q"] - v["P"]) ** 2, 1) - np.sum((v["Q"] - v["X"]) ** 2, 1))
        ),
    ),
    (
        "mean_feature_norm",
        "mean(X, 0)' @ mean(X, 0)",
        "X",
        lambda v: v["X"].mean(0) @ v["X"].mean(0),
    ),
    (
        "centered_gram",
        "mean((X - ones(N) @ mean(X, 0)') @ (X - ones(N) @ mean(X, 0)')')",
        "X",
        lambda v: np.mean((v["X"] - v["X"].mean(0)) @ (v["X"] - v["X"].mean(0)).T),
    ),
]

# the issue's reproducers (x: n, X: N×D, w: D, t: N), at symbolic and concrete sizes
REPRODUCERS = [
    ("mean(x)^2", "x", lambda v: np.mean(v["x"]) ** 2),
    ("mean(X @ w - t)^2", "w", lambda v: np.mean(v["X"] @ v["w"] - v["t"]) ** 2),
    ("mean(X, 1)' @ mean(X, 1)", "X", lambda v: v["X"].mean(1) @ v["X"].mean(1)),
    ("(sum(ones(n)) * norm(x))^-1", "x", lambda v: 1 / (len(v["x"]) * np.linalg.norm(v["x"]))),
    ("(tr(eye(n)) * norm(x))^-1", "x", lambda v: 1 / (len(v["x"]) * np.linalg.norm(v["x"]))),
    ("(sum(ones(n)) * norm(x))^0.5", "x", lambda v: np.sqrt(len(v["x"]) * np.linalg.norm(v["x"]))),
    ("sum(ones(n))^2 * norm(x)", "x", lambda v: len(v["x"]) ** 2 * np.linalg.norm(v["x"])),
    ("sum(ones(n))^-1 * sum(x)", "x", lambda v: np.sum(v["x"]) / len(v["x"])),
    ("x' @ (x / norm(x))", "x", lambda v: np.linalg.norm(v["x"])),
    ("sum(x * x / norm(x))", "x", lambda v: np.linalg.norm(v["x"])),
]


def concrete(text: str, shapes: dict):
    """``text`` and ``shapes`` with every dimension name replaced by its size in ``SIZES``."""

    def sub(m):
        return f"{m[1]}({', '.join(str(SIZES.get(d.strip(), d.strip())) for d in m[2].split(','))})"

    text = re.sub(r"\b(ones|zeros|eye)\(([^()]*)\)", sub, text)
    return text, {k: tuple(SIZES.get(d, d) for d in v) for k, v in shapes.items()}


def values_for(f, seed: int) -> dict:
    """Random values of ``f``'s variables at ``SIZES``; ``z`` in (0, 1), ``c`` of ±1, ``s``
    away from 0 and ``t`` not constant."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, var in sorted(variables(f).items()):
        shape = tuple(SIZES.get(d, d) for d in var.shape)
        v = rng.normal(0.0, 0.7, size=shape)
        if name == "z":
            v = rng.uniform(0.1, 0.9, size=shape)
        elif name == "c":
            v = rng.choice([-1.0, 1.0], size=shape)
        elif name == "s":
            v = np.float64(rng.uniform(0.8, 1.5))
        elif name == "Y":
            v = rng.dirichlet(np.ones(shape[1]), size=shape[0])
        out[name] = np.asarray(v, dtype=float)
    return out


class Case:
    """One row at one sizing: the expression, its derivatives and the NumPy references."""

    def __init__(self, text, wrt, fn, symbolic):
        self.text, self.fn = text, fn
        shapes = {k: v for k, v in S.items() if re.search(rf"\b{re.escape(k)}\b", text)}
        if not symbolic:
            text, shapes = concrete(text, shapes)
        self.f = tc.parse(text, shapes)
        self.values = values_for(self.f, 7)
        self.wrt = wrt.split()
        self.derivatives = {  # (name, order) -> Expr
            (w, k): tc.derivative(self.f, w, order=k) for w in self.wrt for k in (1, 2)
        }

    @functools.cached_property
    def reference(self):
        """(value, {(name, order): central differences of the NumPy f})."""
        ref = {}
        for w in self.wrt:

            def fun(x, w=w):
                return np.asarray(self.fn({**self.values, w: x}), dtype=float)

            ref[w, 1] = central_jacobian(fun, self.values[w], h=1e-6)
            ref[w, 2] = central_hessian(fun, self.values[w], h=1e-4)
        return np.asarray(self.fn(self.values), dtype=float), ref

    def outputs(self):
        return [self.f, *self.derivatives.values()]


@functools.cache
def case(kind: str, index: int, symbolic: bool) -> Case:
    if kind == "loss":
        _, text, wrt, fn = LOSSES[index]
    else:
        text, wrt, fn = REPRODUCERS[index]
    return Case(text, wrt, fn, symbolic)


def _check(c: Case, got: list, where: str):
    value, ref = c.reference
    problems = []
    tol = {0: (1e-9, 1e-9), 1: (1e-6, 1e-6), 2: (1e-4, 1e-5)}
    items = [("f", 0, value, got[0])]
    items += [
        (f"d{k}/d{w}^{k} = {str(c.derivatives[w, k])[:200]}", k, ref[w, k], g)
        for (w, k), g in zip(c.derivatives, got[1:])
    ]
    for label, k, want, g in items:
        g = np.asarray(as_numpy(g), dtype=float)
        rtol, atol = tol[k]
        scale = max(1.0, float(np.max(np.abs(want))))
        if g.shape != want.shape or not np.allclose(g, want, rtol=rtol, atol=atol * scale):
            worst = (
                "shapes differ"
                if g.shape != want.shape
                else (
                    f"max |got - want| = {np.max(np.abs(g - want)):.3g} (|want| up to {scale:.3g})"
                )
            )
            problems.append(f"{label}: {worst}")
    assert not problems, f"{where}: {c.text!r}: " + "; ".join(problems)


BACKENDS = ["evaluate", "printed", "numpy", "jax", "torch", "tensorflow", "dask"]


def _run(c: Case, backend: str):
    if backend == "evaluate":
        return [tc.evaluate(o, c.values) for o in c.outputs()]
    if backend == "printed":  # each output as printed, parsed back and evaluated
        declared = {k: v.shape for k, v in variables(c.f).items()}
        dims = {k: v for k, v in SIZES.items() if any(k in s for s in declared.values())}
        return [
            tc.evaluate(tc.parse(str(o), declared), {k: c.values[k] for k in variables(o)},
                        dims=dims)
            for o in c.outputs()
        ]  # fmt: skip
    module = {"numpy": "numpy", "jax": "jax", "torch": "torch", "tensorflow": "tensorflow",
              "dask": "dask.array"}[backend]  # fmt: skip
    pytest.importorskip(module)
    return tc.compile(c.outputs(), backend=backend)(**c.values)


def test_the_table_has_forty_losses_with_symbolic_sizes():
    assert len(LOSSES) >= 40
    assert len({name for name, *_ in LOSSES}) == len(LOSSES)
    for index, (name, *_) in enumerate(LOSSES):
        f = case("loss", index, True).f
        assert any(isinstance(d, str) for v in variables(f).values() for d in v.shape), name


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("index", range(len(LOSSES)), ids=[n for n, *_ in LOSSES])
def test_loss_value_gradient_hessian(index, backend, jax_x64):
    c = case("loss", index, True)
    _check(c, _run(c, backend), backend)


@pytest.mark.parametrize("backend", ["evaluate", "printed", "numpy"])
@pytest.mark.parametrize("index", range(len(LOSSES)), ids=[n for n, *_ in LOSSES])
def test_loss_at_concrete_sizes(index, backend):
    c = case("loss", index, False)
    _check(c, _run(c, backend), backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("symbolic", [True, False], ids=["symbolic", "concrete"])
@pytest.mark.parametrize("index", range(len(REPRODUCERS)), ids=[t for t, *_ in REPRODUCERS])
def test_issue_reproducers(index, symbolic, backend, jax_x64):
    c = case("repro", index, symbolic)
    _check(c, _run(c, backend), backend)


def test_the_numpy_references_are_right():
    """The oracle's own spot checks against closed forms."""
    x = np.array([1.0, 2.0, 4.0])
    assert standardize(x).mean() == pytest.approx(0, abs=1e-12)
    assert np.mean(standardize(x) ** 2) == pytest.approx(np.var(x) / (np.var(x) + EPS))
    X = np.arange(6.0).reshape(2, 3)
    assert np.allclose(layer_norm(X).mean(1), 0) and np.allclose(batch_norm(X).mean(0), 0)
    assert np.allclose(softmax_rows(X).sum(1), 1)
    assert np.allclose(logsumexp_rows(X), np.log(np.exp(X).sum(1)))
    Q = np.eye(2, 3)
    assert np.allclose(attention(Q, Q, X), softmax_rows(np.eye(2) / np.sqrt(3)) @ X)
