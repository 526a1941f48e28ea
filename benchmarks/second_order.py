"""Second order at full speed: the logistic Hessian and its Hessian-vector product (issue 24).

    python benchmarks/second_order.py [--repeat 5] [--only hessian|hvp] [--sources]

- ``hessian``: the compiled logistic Hessian at N x 200 (N = 2000, 20000) against the best
  hand-written NumPy form (min of R'R with R = X ⊙ √d, one SYRK, and X'(d ⊙ X), one GEMM) and
  ``jax.jit(jax.hessian)`` in float64, and the same compiled Hessian under a
  ``memory_limit`` of twice the result plus the vectors of N (blocks of 200 rows: the old rule
  made blocks of 50).
- ``hvp``: the logistic HVP at N = 20,000, D = 2,000: one product from (w, v) against
  hand-written Xᵀ(d ⊙ (Xv)) and ``jax.jit`` of ``jax.jvp(jax.grad(f))``; repeated products at
  one w (what Newton-CG does) against the hand-written product with d cached and
  ``jax.linearize``'s linear map; and the peak memory of one product over the size of X
  (tracemalloc, NumPy contestants).
- ``--sources``: a digest of every Hessian's generated NumPy source in ``run.py``'s problems,
  to compare two checkouts (same digest: same code, same speed).

Default threading throughout (whatever NumPy's BLAS and XLA pick); contestants are timed in
interleaved rounds (``run.interleaved_medians``) and each row is the median of ``--repeat``
such runs; every result is checked against the hand-written one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time

import numpy as np

import tensorcalc as tc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import _block, interleaved_medians, peak_memory, problems  # noqa: E402 - benchmarks/ is no package

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - optional
    jax = None

TEXT = "sum(log(1 + exp(-y * (X @ w))))"
SHAPES = {"X": ("N", "D")}


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X": rng.normal(size=(n, d)) / np.sqrt(d),
        "y": rng.choice([-1.0, 1.0], n),
        "w": rng.normal(size=d) * 0.1,
        "v": rng.normal(size=d),
    }


def _jloss(w, X, y):
    return jnp.sum(jnp.logaddexp(0.0, -y * (X @ w)))


def _positional(compiled, vals):
    fn = compiled.function(**vals)
    args = [vals[k] for k in compiled.names]
    return lambda: fn(*args)[0]


def _peak(fn):
    """``run.peak_memory`` of a second call (the first compiles and caches)."""
    fn()
    return peak_memory(fn)


def _timed(fns, want, repeat, budget=2.0):
    """Medians over ``repeat`` interleaved runs, after checking each result against ``want``."""
    for name, fn in fns.items():
        got = np.asarray(fn())
        if not np.allclose(got, want, rtol=1e-8, atol=1e-10 * np.abs(want).max()):
            raise SystemExit(f"{name} disagrees with the hand-written result")
    runs = [interleaved_medians(fns, budget) for _ in range(repeat)]
    return {k: statistics.median(r[k] for r in runs) for k in fns}


def hessian_rows(repeat):
    rows = []
    f = tc.parse(TEXT, SHAPES)
    hess = tc.hessian(f, "w")
    for n in (2000, 20000):
        vals = {k: v for k, v in _data(n, 200).items() if k != "v"}
        X, w = vals["X"], vals["w"]  # y = ±1: y² = 1, σ(-y t)(1 - σ(-y t)) = σ(t)(1 - σ(t))

        def syrk():
            p = _sigmoid(X @ w)
            r = X * np.sqrt(p * (1 - p))[:, None]
            return r.T @ r

        def gemm():
            p = _sigmoid(X @ w)
            return X.T @ ((p * (1 - p))[:, None] * X)

        fns = {"hand-written R'R (SYRK)": syrk, "hand-written X'(d X) (GEMM)": gemm}
        fns["tensorcalc numpy"] = _positional(tc.compile(hess), vals)
        # twice the result, plus what _gram counts besides its blocks: d, a vector of N that d
        # was made from and NumPy's ufunc buffer (so that the blocks hold the result's size)
        limit = (2 * 200 * 200 + 2 * n + np.getbufsize()) * 8
        fns["tensorcalc numpy, memory_limit = 2x result + vectors"] = _positional(
            tc.compile(hess, memory_limit=limit), vals
        )
        if jax is not None:
            jh = jax.jit(jax.hessian(_jloss))
            jargs = [jnp.asarray(vals[k]) for k in ("w", "X", "y")]
            fns["jax.jit(jax.hessian)"] = lambda jh=jh, jargs=jargs: _block(jh(*jargs))
        times = _timed(fns, syrk(), repeat)
        peaks = {k: _peak(fns[k]) for k in fns if not k.startswith("jax")}
        rows.append((f"logistic Hessian {n}x200", times, peaks, X.nbytes + 200 * 200 * 8))
    return rows


def hvp_rows(repeat, n=20000, d=2000):
    vals = _data(n, d)
    X, y, w, v = vals["X"], vals["y"], vals["w"], vals["v"]
    f = tc.parse(TEXT, SHAPES)
    compiled = tc.compile(tc.hvp(f, "w"))

    def hand():
        p = _sigmoid(X @ w)
        return X.T @ (p * (1 - p) * (X @ v))

    want = hand()
    once = {"hand-written X'(d (X v))": hand, "tensorcalc numpy": _positional(compiled, vals)}
    p = _sigmoid(X @ w)
    dd = p * (1 - p)
    hv = compiled.partial(X=X, y=y, w=w)
    again = {
        "hand-written, d cached": lambda: X.T @ (dd * (X @ v)),
        "tensorcalc numpy, .partial(X, y, w)": lambda: hv(v=v),
    }
    if jax is not None:
        jX, jy, jw, jv = (jnp.asarray(a) for a in (X, y, w, v))

        @jax.jit
        def jvp_grad(w, v, X, y):
            return jax.jvp(jax.grad(lambda u: _jloss(u, X, y)), (w,), (v,))[1]

        once["jax.jit(jax.jvp(jax.grad(f)))"] = lambda: _block(jvp_grad(jw, jv, jX, jy))
        lin = jax.linearize(jax.grad(lambda u: _jloss(u, jX, jy)), jw)[1]
        again["jax.linearize's linear map"] = lambda: _block(lin(jv))
    t_once = _timed(once, want, repeat)
    t_again = _timed(again, want, repeat)
    peaks = {k: _peak(fn) for k, fn in {**once, **again}.items() if not k.startswith("jax")}
    return t_once, t_again, peaks, X.nbytes


def _ratio_table(title, times, peaks, size, size_name):
    best = min(v for k, v in times.items() if k.startswith("hand"))
    jx = next((v for k, v in times.items() if k.startswith("jax")), None)
    lines = [
        f"**{title}**",
        "",
        f"| contestant | median ms | × best hand-written | jax ÷ this | peak ÷ {size_name} |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, t in times.items():
        speed = f"{jx / t:.2f}" if jx else ""
        peak = f"{peaks[k] / size:.3f}" if k in peaks else ""
        lines.append(f"| {k} | {t * 1e3:.2f} | {t / best:.2f} | {speed} | {peak} |")
    return "\n".join(lines)


def sources():
    """A digest of each Hessian's generated NumPy source for run.py's problems."""
    for p in problems(quick=False):
        vals = p.get("hess_vals", p["vals"])
        f = tc.parse(p["text"], p["shapes"])
        dims = {}
        for name, var in tc.expr.variables(f).items():
            dims.update(
                {d: k for d, k in zip(var.shape, np.shape(vals[name])) if isinstance(d, str)}
            )
        src = tc.codegen(tc.derivative(f, p["wrt"], order=2), dims=dims)
        print(f"{hashlib.sha256(src.encode()).hexdigest()[:16]}  {p['name']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs per row (median)")
    ap.add_argument("--only", choices=["hessian", "hvp"], help="one part")
    ap.add_argument("--sources", action="store_true", help="digests of generated Hessians")
    args = ap.parse_args(argv)
    if args.sources:
        return sources()
    print(f"load average before: {os.getloadavg()}, {time.strftime('%Y-%m-%d %H:%M')}")
    if args.only in (None, "hessian"):
        for title, times, peaks, size in hessian_rows(args.repeat):
            print(_ratio_table(title, times, peaks, size, "(X + result)"), end="\n\n")
    if args.only in (None, "hvp"):
        once, again, peaks, size = hvp_rows(args.repeat)
        print(_ratio_table("HVP 20000x2000, one product from (w, v)", once, peaks, size, "X"))
        print()
        print(_ratio_table("HVP 20000x2000, repeated at one w", again, peaks, size, "X"))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
