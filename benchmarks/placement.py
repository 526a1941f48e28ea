"""Selections and Kronecker deltas in compiled code: placed (a slice, ``_scatter``, ``_place``,
``diag``) against the dense 0/1 matrices that compiled code multiplied before, in one run.

    python benchmarks/placement.py [--json out.json]

For each derivative it times the NumPy function that ``tc.compile`` generates now, the same
formula written with a dense ``np.eye`` or selection matrix as the code generator wrote it
before (``s * np.eye(n)``, ``u @ S`` with ``S`` built per call), and the best hand-written
NumPy form, in interleaved rounds (``run.interleaved_medians``), and checks every result
against ``tc.evaluate``.  Ratios are this run's medians over the hand-written form's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import tensorcalc as tc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import interleaved_medians  # noqa: E402 - the timing loop of the main benchmark


def _select(m, n, start, step):
    out = np.zeros((m, n))
    out[np.arange(m), start + step * np.arange(m)] = 1.0
    return out


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def rows():
    """(name, text, shapes, wrt, order, values, dense form, hand-written form)."""
    rng = np.random.default_rng(0)
    n = 1000
    A, x = rng.normal(size=(n, n)), rng.normal(size=n)
    r = rng.uniform(0.1, 1.0, size=2000)
    s = rng.normal(size=1200)

    def sm_dense(v):
        t = _softmax(v["x"][1:1001])
        S = _select(1000, 1200, 1, 1)
        return t[:, None] * S + np.multiply.outer(-t, t @ S)

    def sm_hand(v):
        t = _softmax(v["x"][1:1001])
        out = np.zeros((1000, 1200))
        out[:, 1:1001] = np.diag(t) - np.multiply.outer(t, t)
        return out

    return [
        ("d/dA tr(A)^2, n=1000", "tr(A)^2", {"A": ("n", "n")}, "A", 1, {"A": A},
         lambda v: 2.0 * np.trace(v["A"]) * np.eye(n),
         lambda v: np.diag(np.full(n, 2.0 * np.trace(v["A"])))),
        ("Hessian of (x'x)^2, n=1000", "(x' @ x)^2", {"x": ("n",)}, "x", 2, {"x": x},
         lambda v: 4.0 * (v["x"] @ v["x"]) * np.eye(n) + 8.0 * np.multiply.outer(v["x"], v["x"]),
         lambda v: _add_diag(8.0 * np.multiply.outer(v["x"], v["x"]), 4.0 * (v["x"] @ v["x"]))),
        ("gradient of sum(sin(x - x[::-1])), n=2000", "sum(sin(x - x[::-1]))", {"x": (2000,)},
         "x", 1, {"x": r},
         lambda v: _rev_dense(v["x"]), lambda v: _rev_hand(v["x"])),
        ("Jacobian of softmax(x[1:1001]), x of 1200", "softmax(x[1:1001])", {"x": (1200,)}, "x",
         1, {"x": s}, sm_dense, sm_hand),
    ]  # fmt: skip


def _add_diag(m, c):
    m[np.diag_indices_from(m)] += c
    return m


def _rev_dense(x):
    u = np.cos(x - x[::-1])
    return u - u @ _select(len(x), len(x), len(x) - 1, -1)


def _rev_hand(x):
    u = np.cos(x - x[::-1])
    return u - u[::-1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    results = []
    print("| derivative | contestant | median ms | × hand-written | correct |")
    print("|---|---|---:|---:|---|")
    for name, text, shapes, wrt, order, vals, dense, hand in rows():
        d = tc.derivative(tc.parse(text, shapes), wrt, order=order)
        c = tc.compile(d)
        fn = c.function(**vals)
        call = [vals[k] for k in c.names]
        fns = {
            "hand-written NumPy": lambda h=hand: h(vals),
            "dense 0/1 matrix (before)": lambda f=dense: f(vals),
            "tensorcalc numpy (placed)": lambda: fn(*call),
        }
        want = d.evaluate(vals)
        ok = {k: np.allclose(f(), want, rtol=1e-10, atol=1e-10) for k, f in fns.items()}
        med = interleaved_medians(fns)
        for k, t in med.items():
            ratio = t / med["hand-written NumPy"]
            print(f"| {name} | {k} | {t * 1e3:.3f} | {ratio:.2f} | {'✓' if ok[k] else '✗'} |")
            results.append({"row": name, "contestant": k, "ms": t * 1e3, "ratio": ratio})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
