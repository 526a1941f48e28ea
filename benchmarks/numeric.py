"""Accuracy and time of numerical gradients: tensorcalc.numeric against numdifftools and
scipy.optimize.approx_fprime, on the same functions, with errors measured against the exact
gradient from tensorcalc's symbolic derivative.  Also: which checker catches a planted 1e-6
relative error in one gradient entry.

    python benchmarks/numeric.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tensorcalc as tc
from tensorcalc import numeric
from tensorcalc.numeric.check import random_values

try:
    import numdifftools as nd
except ImportError:  # pragma: no cover - optional
    nd = None
try:
    from scipy.optimize import approx_fprime, check_grad
except ImportError:  # pragma: no cover - optional
    approx_fprime = check_grad = None

N = 10
PROBLEMS = [
    ("seed 26: log(e^x + e^y)", "log(exp(x) + exp(y))", {}, "x"),
    ("quadratic x'Ax", "x' @ A @ x", {"A": (N, N)}, "x"),
    ("logistic loss", "sum(log(1 + exp(-y * (X @ w))))", {"X": (50, N)}, "w"),
    ("logsumexp", "logsumexp(x)", {"x": (N,)}, "x"),
    ("tanh MLP", "norm(W2 @ tanh(W1 @ x) - t)^2", {"W1": (5, N), "W2": (3, 5), "x": (N,)}, "x"),
    ("x exp(-x^2-y^2)", "x * exp(-x^2 - y^2)", {}, "x"),
]


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    contestants = {
        "tc central": lambda f, x: numeric.gradient(f, x, method="central"),
        "tc richardson": lambda f, x: numeric.gradient(f, x, method="richardson"),
        "tc complex": lambda f, x: numeric.gradient(f, x, method="complex"),
    }
    if nd is not None:
        contestants["numdifftools"] = lambda f, x: nd.Gradient(f)(x).reshape(x.shape)
    if approx_fprime is not None:
        contestants["scipy approx_fprime"] = lambda f, x: approx_fprime(x, f)
    rows = []
    for name, text, shapes, wrt in PROBLEMS:
        expr = tc.parse(text, shapes)
        values, _ = random_values(expr, seed=1)
        exact = tc.derivative(expr, wrt).evaluate(values)

        def f(v, expr=expr, values=values, wrt=wrt):
            return expr.evaluate({**values, wrt: v})

        x = (
            np.asarray(values[wrt], dtype=float).reshape(-1)
            if np.ndim(values[wrt])
            else np.array([values[wrt]])
        )
        shape = np.shape(values[wrt])

        def flat(v, f=f, shape=shape):
            return f(v.reshape(shape))

        row = {"problem": name}
        for cname, fn in contestants.items():
            try:
                g, ms = timed(lambda fn=fn: fn(flat, x), args.repeat)
                err = float(
                    np.max(np.abs(np.reshape(g, -1) - np.reshape(exact, -1)))
                    / max(1.0, np.max(np.abs(exact)))
                )
                row[cname] = (err, ms)
            except Exception as e:  # noqa: BLE001 - complex step needs complex-safe f
                row[cname] = (type(e).__name__, None)
        rows.append(row)
    print(_table(rows, list(contestants)))
    print()
    print(_planted())


def _table(rows, names):
    head = "| problem | " + " | ".join(f"{n} rel.err / ms" for n in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 1)]
    for r in rows:
        cells = []
        for n in names:
            err, ms = r[n]
            cells.append(f"{err:.1e} / {ms:.2f}" if ms is not None else f"{err}")
        lines.append(f"| {r['problem']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _planted():
    """Which checker flags a 1e-6 relative error in one entry (n=10, float64, 20 problems)?"""
    rng = np.random.default_rng(0)
    caught = {"tc.check_grad": 0, "false alarms (tc, correct gradient)": 0}
    if check_grad is not None:
        caught["scipy check_grad < 1e-5"] = 0
    trials = 20
    for _ in range(trials):
        A = rng.normal(size=(N, N)) / np.sqrt(N)
        c = rng.normal(size=N)

        def f(x, A=A, c=c):
            return np.sum(c * np.sin(A @ x)) + 0.5 * x @ x

        def g(x, A=A, c=c):
            return A.T @ (c * np.cos(A @ x)) + x

        def bad(x, g=g):
            out = g(x)
            out[4] *= 1 + 1e-6
            return out

        x = rng.normal(size=N)
        caught["tc.check_grad"] += not tc.check_grad(f, bad, x).passed
        caught["false alarms (tc, correct gradient)"] += not tc.check_grad(f, g, x).passed
        if check_grad is not None:
            caught["scipy check_grad < 1e-5"] += check_grad(f, bad, x) > 1e-5
    lines = [f"Planted 1e-6 relative error in one entry, {trials} problems (n={N}, float64):"]
    lines += [f"  {k}: {v}/{trials}" for k, v in caught.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
