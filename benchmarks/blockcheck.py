"""Differential check of the NumPy backend's blocked, in-place code against ``evaluate``.

Random expressions over X, Y (p×q), A (p×p), B (q×q), u (p), v (q), s; their first and second
derivatives with respect to X (or u, v) are compiled at sizes where products are blocked and
results summed in place, and compared with the reference evaluator.  Run:
``PYTHONPATH=src python benchmarks/blockcheck.py SECONDS [SEED]``; mismatches go to stdout.
"""

from __future__ import annotations

import inspect
import random
import signal
import sys
import time
import traceback

import numpy as np

import tensorcalc as tc

SHAPES = {
    "X": ("p", "q"), "Y": ("p", "q"), "A": ("p", "p"), "B": ("q", "q"),
    "u": ("p",), "v": ("q",), "s": (), "Z": ("q", "n"), "T": ("p", "n"),
}  # fmt: skip
F = ["exp", "tanh", "sigmoid", "sin"]
RULES = {
    "S": [
        ("sum({0})", "M"), ("tr({0})", "P"), ("{0}' @ {1} @ {0}", "UP"), ("norm({0})^2", "M"),
        ("sum({0} * {1})", "MM"), ("{0}' @ {1} @ {2}", "UMV"), ("log(1 + {0}^2)", "S"),
        ("{0} * {1}", "SS"), ("{0} + {1}", "SS"), ("{0} / (2 + {1}^2)", "SS"),
        ("exp(-{0}^2)", "S"), ("tr({0})", "Q"), ("sum({0})", "U"), ("logsumexp({0})", "U"),
        ("norm({0})", "V"), ("{0}' @ {1}", "VV"), ("norm({0})^2", "N"), ("sum({0})", "N"),
        ("norm({0})^2", "N"), ("sum({0} * {1})", "NN"), ("sum({0} @ {1})", "NR"),
    ],
    "N": [
        ("{0} @ {1}", "MZ"), ("{f}({0})", "N"), ("{0} * {1}", "NN"), ("{0} - {1}", "NN"),
        ("{0} @ {1}", "PN"), ("{0} * {1}", "SN"),
    ],
    "Z": [("Z", ""), ("{0}' @ {1}", "MN")],
    "R": [("{0}' @ {1}", "NM"), ("{0}' @ {1}", "ZQ")],
    "M": [
        ("{0} + {1}", "MM"), ("{0} - {1}", "MM"), ("{0} * {1}", "MM"), ("{0} * {1}", "SM"),
        ("{0} @ {1}", "PM"), ("{0} @ {1}", "MQ"), ("{f}({0})", "M"), ("outer({0}, {1})", "UV"),
        ("{0} / (2 + {1} * {1})", "MMM"),
    ],
    "P": [
        ("{0} @ {1}'", "MM"), ("{0} + {1}", "PP"), ("inv(eye(p) + {0} @ {0}' / 30)", "M"),
        ("{0} * {1}", "SP"), ("diag({0})", "U"), ("{0}'", "P"),
    ],
    "Q": [("{0}' @ {1}", "MM"), ("{0} @ {1}", "QQ"), ("{f}({0})", "Q")],
    "U": [
        ("{0} @ {1}", "MV"), ("{0} @ {1}", "PU"), ("softmax({0})", "U"), ("tanh({0})", "U"),
        ("{0} * {1}", "UU"), ("{0} * {1}", "SU"),
    ],
    "V": [("{0}' @ {1}", "MU"), ("{0} @ {1}", "QV"), ("{0} + {1}", "VV"), ("exp({0})", "V")],
}  # fmt: skip
LEAVES = {
    "S": ["s", "2", "0.5"], "M": ["X", "X", "Y"], "P": ["A", "A'"], "Q": ["B", "X' @ X"],
    "U": ["u", "X @ v"], "V": ["v", "X' @ u"], "N": ["T", "X @ Z", "tanh(X @ Z)"], "Z": ["Z"],
    "R": ["Z'"],
}  # fmt: skip


def expr(r: random.Random, kind: str, depth: int) -> str:
    if depth <= 0 or r.random() < 0.2:
        return r.choice(LEAVES[kind])
    template, kinds = r.choice(RULES[kind])
    args = [expr(r, k, depth - 1) for k in kinds]
    if not kinds:
        return template
    return "(" + template.format(*args, f=r.choice(F)) + ")"


def values(rng, p, q, n, dtype=np.float64):
    out = {}
    for k, s in SHAPES.items():
        shape = tuple({"p": p, "q": q, "n": n}[d] for d in s)
        out[k] = (rng.normal(size=shape) / 2).astype(dtype)
    return out


def close(a, b, rtol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.nanmax(np.abs(b), initial=0.0)))
    ok = np.isclose(a, b, rtol=rtol, atol=rtol * scale, equal_nan=True)
    return bool(ok.all())


def hit(src):
    code = src.rsplit('"""', 1)[1]
    return ("for " in code), ("+=" in code), ("np.einsum('" in code and "[...] +=" in code)


def one(r, rng, stats, wide=False):
    text = expr(r, "S", r.randint(2, 4))
    if wide:  # a sum over the samples n: the products that are blocked
        inner = expr(r, "N", r.randint(1, 3))
        text += " + " + r.choice(["norm({})^2", "sum({f}({}))", "sum({} * T)"]).format(
            inner, f=r.choice(F)
        )
    f = tc.parse(text, SHAPES)
    wrt = r.choice(["X", "X", "X", "u", "v"])
    stats["text"] = (text, wrt)
    outs = [f, tc.derivative(f, wrt), tc.derivative(f, wrt, order=2)]
    if r.random() < 0.3:  # a matrix-valued function's Jacobian: rank 4 with deltas
        m = tc.parse(expr(r, "M", r.randint(1, 3)), SHAPES)
        outs.append(tc.derivative(m, "X"))
    p, q = r.choice([(20, 30), (17, 23), (24, 31), (13, 40), (20, 30)])
    n = r.choice([50, 301, 1000])
    vals = values(rng, p, q, n)
    want = [o.evaluate(vals, max_elements=1 << 26) for o in outs]
    if not all(np.isfinite(w).all() for w in want):
        stats["overflow"] += 1  # inf - inf: which nan or inf depends on the order of operations
        return None
    found = []
    # all together (shared nodes), each alone, and source made for other sizes than run
    together = tc.compile(outs, "numpy")(**vals)
    alone = [tc.compile(o, "numpy")(**vals) for o in outs]
    src = tc.codegen(outs, "numpy", dims={"p": 2 * p + 1, "q": q + 7, "n": 3 * n})
    ns: dict = {}
    exec(compile(src, "<gen>", "exec"), ns)  # our own generated module
    names = inspect.signature(ns["f"]).parameters
    kw = {k: v for k, v in vals.items() if k in names}
    kw.update({d: x for d, x in (("d_p", p), ("d_q", q), ("d_n", n)) if d in names})
    other = ns["f"](**kw)
    src_here = tc.codegen(outs, "numpy", dims={"p": p, "q": q, "n": n})
    h = hit(src_here)
    for k in range(3):
        stats[("for", "+=", "view")[k]] += h[k]
    for k, w in enumerate(want):
        for label, got in (("together", together[k]), ("alone", alone[k]), ("dims", other[k])):
            if not close(got, w, 1e-9):
                found.append((label, k))
    if found:
        return text, wrt, (p, q), found, outs
    # float32 inputs: the accumulator is float32 too; compare loosely
    if r.random() < 0.2:
        v32 = values(rng, p, q, n, np.float32)
        got = tc.compile(outs, "numpy")(**v32)
        w64 = [o.evaluate({k: v.astype(np.float64) for k, v in v32.items()},
                          max_elements=1 << 26) for o in outs]  # fmt: skip
        for k, w in enumerate(w64):
            if not close(got[k], w, 2e-3):
                found.append(("float32", k))
    return (text, wrt, (p, q), found, outs) if found else None


def _slow(signum, frame):
    raise TimeoutError


def main(seconds: float, seed: int = 0, wide: bool = False):
    r, rng = random.Random(seed), np.random.default_rng(seed)
    stats = {
        "cases": 0,
        "for": 0,
        "+=": 0,
        "view": 0,
        "errors": 0,
        "mismatches": 0,
        "overflow": 0,
        "slow": 0,
    }
    end = time.time() + seconds
    signal.signal(signal.SIGALRM, _slow)
    while time.time() < end:
        signal.alarm(120)  # a case this slow is a finding too: where it was, and what
        try:
            res = one(r, rng, stats, wide)
        except tc.TensorCalcError:
            continue
        except TimeoutError:
            stats["slow"] += 1
            print("SLOW", stats["text"], traceback.format_exc(limit=-6), flush=True)
            continue
        except Exception:  # noqa: BLE001 - a crash is a finding too
            stats["errors"] += 1
            print("ERROR", traceback.format_exc(limit=3), flush=True)
            continue
        finally:
            signal.alarm(0)
        stats["cases"] += 1
        if res:
            stats["mismatches"] += 1
            text, wrt, pq, found, _ = res
            print("MISMATCH", repr(text), wrt, pq, found, flush=True)
        if stats["cases"] % 20 == 0:
            print({k: v for k, v in stats.items() if k != "text"}, flush=True)
    stats.pop("text", None)
    print("FINAL", stats, flush=True)


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0, "wide" in sys.argv[3:])
