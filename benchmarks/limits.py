"""Bounded work: high-order derivatives of σ and tanh, Taylor polynomials of two variables,
and what the evaluator refuses or does without dense matrices.

    python benchmarks/limits.py [--json out.json]

Every row is timed against a reference measured in the same run: the engine without the
polynomial collapse (``diff.poly.collapse``), Taylor's old loop over every ordered choice of
variables, and the refusal of ``order=10**18`` (which must cost nothing).
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import product

import numpy as np

import tensorcalc as tc
from tensorcalc.diff import reverse
from tensorcalc.expr import postorder


def _time(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _without_collapse(fn):
    saved = reverse.collapse
    reverse.collapse = lambda e: e
    try:
        return fn()
    finally:
        reverse.collapse = saved


def _taylor_ordered(f, names, order):
    """The old Taylor loop: one derivative per ordered choice of variables (2 + 4 + … + 2ᵏ)."""
    xs = [reverse.wrt_variable(f, n) for n in names]
    derivs = {(): f}
    for m in range(1, order + 1):
        for combo in product(xs, repeat=m):
            derivs[combo] = reverse.derivative(derivs[combo[:-1]], combo[-1])
    return len(derivs)


def rows():
    out = []
    for fn, k_old, k_new in (("sigmoid", 8, 10), ("tanh", 10, 14)):
        f = tc.parse(f"{fn}(x)")
        old = _without_collapse(
            lambda f=f, k=k_old: _time(lambda: tc.derivative(f, "x", order=k), 1)
        )
        same = _time(lambda f=f, k=k_old: tc.derivative(f, "x", order=k))
        new = _time(lambda f=f, k=k_new: tc.derivative(f, "x", order=k))
        size = len(postorder([tc.derivative(f, "x", order=k_new)]))
        out.append((f"{fn}(x), order {k_old}", "without collapse", old * 1e3, 1.0))
        out.append((f"{fn}(x), order {k_old}", "tensorcalc", same * 1e3, old / same))
        out.append((f"{fn}(x), order {k_new}", f"tensorcalc ({size} nodes)", new * 1e3, None))
    text = "x * exp(-x^2 - y^2)"
    f = tc.parse(text)
    old = _time(lambda: _taylor_ordered(f, ["x", "y"], 8), 1)
    same = _time(lambda: tc.taylor(text, at={"x": -1, "y": 0}, order=8), 1)
    new = _time(lambda: tc.taylor(text, at={"x": -1, "y": 0}, order=12), 1)
    out.append(("Taylor of x·exp(−x²−y²), order 8", "every ordered choice (old)", old * 1e3, 1.0))
    out.append(
        ("Taylor of x·exp(−x²−y²), order 8", "tensorcalc (multisets)", same * 1e3, old / same)
    )
    out.append(("Taylor of x·exp(−x²−y²), order 12", "tensorcalc (multisets)", new * 1e3, None))

    def refuse():
        try:
            tc.derivative(tc.parse("x"), "x", order=10**18)
        except tc.DifferentiationError:
            pass

    out.append(
        ("derivative order 10**18", "refused (DifferentiationError)", _time(refuse) * 1e3, None)
    )
    rev = tc.parse("x[::-1]", {"x": (50_000,)})
    x = np.arange(50_000.0)
    out.append(
        (
            "x[::-1], 50,000 entries",
            "evaluate (indexing)",
            _time(lambda: rev.evaluate(x=x)) * 1e3,
            None,
        )
    )
    d3 = tc.derivative(tc.parse("det(X)", {"X": ("n", "n")}), "X", order=3)

    def capped():
        try:
            d3.evaluate(X=np.eye(5000))
        except tc.EvaluationError:
            pass

    out.append(
        ("d³ det(X)/dX³ at 5000×5000", "refused by the size cap", _time(capped, 1) * 1e3, None)
    )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    table = rows()
    print("| case | contestant | ms | speed-up over the reference |")
    print("|---|---|---:|---:|")
    for case, who, ms, ratio in table:
        print(f"| {case} | {who} | {ms:.1f} | {'' if ratio is None else f'{ratio:.0f}×'} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([dict(zip(("case", "contestant", "ms", "ratio"), r)) for r in table], fh)


if __name__ == "__main__":
    main()
