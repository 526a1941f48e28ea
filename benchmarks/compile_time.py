"""Time ``tc.compile`` of long chains' derivatives, for two source trees in the same run.

    python benchmarks/compile_time.py --base /tmp/h-compile-base/src [--repeat 3] [--json out]

Each case is timed in a fresh interpreter (``python -c``) with ``PYTHONPATH`` set to this
checkout's ``src`` and to ``--base`` (another checkout's ``src``, e.g. the commit before a
change: ``git worktree add --detach /tmp/h-compile-base <commit>``), the two alternating, and
reports the least CPU time of ``--repeat`` runs of the compile and the first call (code
generated for n = 3, the expensive part; the call itself is microseconds) and the ratio.
The derivative is taken before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parents[1] / "src"

# name -> (expression, shapes, variable, order)
CHAIN = " @ ".join(f"A{i}" for i in range(1, 61))
CASES = {
    "d tr(A⁶⁰)/dA": ("tr(" + " @ ".join(["A"] * 60) + ")", {"A": "n,n"}, "A", 1),
    "d² tr(A²⁰)/dA²": ("tr(" + " @ ".join(["A"] * 20) + ")", {"A": "n,n"}, "A", 2),
    "d(x' A⁶⁰ x)/dA": ("x' @ " + " @ ".join(["A"] * 60) + " @ x", {"A": "n,n"}, "A", 1),
    "d(x' A₁ ⋯ A₆₀ x)/dA₁": (f"x' @ {CHAIN} @ x", {"A1": "n,n"}, "A1", 1),
}

PROGRAM = """
import json, sys, time
import numpy as np
import tensorcalc as tc
from tensorcalc.expr import variables
text, shapes, wrt, order = json.loads(sys.argv[1])
d = tc.derivative(tc.parse(text, shapes), wrt, order=order)
vals = {k: np.full((3,) * v.ndim, 0.3) for k, v in variables(d).items()}
t = time.process_time()
tc.compile(d)(**vals)
print(time.process_time() - t)
"""


def _run(src: pathlib.Path, case) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(case)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, type=pathlib.Path, help="the other tree's src")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = []
    print("| case | before s | after s | speed-up |\n|---|---:|---:|---:|")
    for name, case in CASES.items():
        before, after = [], []
        for _ in range(args.repeat):  # alternating, so both see the same machine
            before.append(_run(args.base, case))
            after.append(_run(HERE, case))
        row = {"case": name, "before_s": min(before), "after_s": min(after)}
        row["speedup"] = row["before_s"] / row["after_s"]
        rows.append(row)
        print(f"| {name} | {row['before_s']:.2f} | {row['after_s']:.2f} | {row['speedup']:.1f}× |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
