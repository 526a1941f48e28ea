"""Time ``tc.explain`` on the seed examples, against ``tc.derivative`` in the same run.

    python benchmarks/explain.py [--repeat 30]

For every seed derivation (the cases of ``tests/data/explain-seeds.json`` and the README's
matrix-factorisation example) it times, in interleaved rounds, the explanation (parse,
named parts, steps, renderings as text) and the plain derivative (parse + derivative), and
reports medians in ms and their ratio; "first" is the first call of each (cold caches).
The goal is an explanation under 50 ms for a typical expression.  ``--verify`` also times
``verify=True`` (every step evaluated at random points).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time

import tensorcalc as tc

SEEDS = json.loads(
    (pathlib.Path(__file__).parents[1] / "tests" / "data" / "explain-seeds.json").read_text()
)


def cases():
    out = [(c["expr"], c["wrt"], c["style"], None) for c in SEEDS["rules"]]
    out += [(c["expr"], c["wrt"], "index", c["shapes"]) for c in SEEDS["index"]]
    b = SEEDS["backprop"]
    out.append((b["expr"], b["wrt"], "backprop", None))
    ls = SEEDS["least_squares"]
    out.append((ls["expr"], ls["wrt"], "backprop", ls["shapes"]))
    out.append(("norm(X - U @ V)^2", "V", "differential", {"X": "n,m", "U": "n,r"}))
    return out


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for expr, wrt, style, shapes in cases():
        first_wrt = wrt[0] if isinstance(wrt, list) else wrt

        def explain(expr=expr, wrt=wrt, style=style, shapes=shapes):
            return str(tc.explain(expr, wrt, style=style, shapes=shapes, verify=args.verify))

        def derive(expr=expr, wrt=first_wrt, shapes=shapes):
            return tc.derivative(expr, wrt, shapes=shapes)

        first = (_time(explain), _time(derive))
        te, td = [], []
        for _ in range(args.repeat):
            te.append(_time(explain))
            td.append(_time(derive))
        rows.append((expr, style, first, statistics.median(te), statistics.median(td)))
    print("| example | style | first explain ms | median explain ms | median derivative ms "
          "| explain ÷ derivative |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|")
    for expr, style, first, me, md in rows:
        short = expr if len(expr) < 40 else expr[:37] + "..."
        print(f"| `{short}` | {style} | {first[0]:.1f} | {me:.2f} | {md:.3f} | {me / md:.0f}× |")
    med = statistics.median(r[3] for r in rows)
    print(f"\nmedian over the {len(rows)} seed examples: {med:.2f} ms per explanation "
          f"(goal: under 50 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
