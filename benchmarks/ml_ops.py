"""The GP log-marginal-likelihood gradient, the batched multi-head attention gradient and the
gradient of ⟨W, e^X⟩: tensorcalc (numpy and jax backends) against ``jax.jit(jax.grad)`` in the
same run.

    python benchmarks/ml_ops.py [--rounds 15]

Contestants are timed in interleaved rounds (each round calls every contestant once after a
warm-up call, in turn) and the table reports medians, so a noisy shared machine moves them
together; ``uptime``'s load average is printed with the table.  Every result is checked
against tensorcalc's reference evaluator before timing (✓).  Default threading, as users have
it.  JAX in float64.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import tensorcalc as tc

try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - optional
    jax = None

GP = (
    "-0.5 * y' @ solve(K, y) - sum(log(diag(cholesky(K)))) "
    "where K = s^2 * exp(-D / (2*l^2)) + t * eye({n})"
)
ATT = "sum(softmax(Q @ swapaxes(K, 2, 3) / sqrt({d}), 3) @ V * G)"


def gp_problem(n):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    vals = {"y": rng.normal(size=n), "D": d, "s": 1.3, "l": 0.9, "t": 0.1}
    f = tc.parse(GP.format(n=n), {"y": (n,), "D": (n, n), "s": (), "l": (), "t": ()})
    grads = [tc.gradient(f, v) for v in ("s", "l", "t")]

    def loss(s, l, t, y, D):  # noqa: E741 - the length scale
        k = s**2 * jnp.exp(-D / (2 * l**2)) + t * jnp.eye(n)
        c = jnp.linalg.cholesky(k)
        return -0.5 * y @ jnp.linalg.solve(k, y) - jnp.sum(jnp.log(jnp.diag(c)))

    jgrad = jax.jit(jax.grad(loss, argnums=(0, 1, 2))) if jax else None
    args = tuple(vals[k] for k in ("s", "l", "t", "y", "D"))
    return f"GP likelihood n={n}", grads, vals, jgrad, args


def attention_problem(b, h, length, d):
    rng = np.random.default_rng(1)
    shape = (b, h, length, d)
    vals = {k: rng.normal(size=shape) for k in "QKVG"}
    f = tc.parse(ATT.format(d=d), {k: shape for k in "QKVG"})
    grads = [tc.gradient(f, v) for v in ("Q", "K", "V")]

    def loss(q, k, v, g):
        s = q @ jnp.swapaxes(k, 2, 3) / jnp.sqrt(float(d))
        return jnp.sum(jax.nn.softmax(s, axis=3) @ v * g)

    jgrad = jax.jit(jax.grad(loss, argnums=(0, 1, 2))) if jax else None
    args = tuple(vals[k] for k in "QKVG")
    return f"attention {shape}", grads, vals, jgrad, args


def expm_problem(n):
    """⟨W, e^X⟩ with respect to X: tensorcalc's gradient is one expm_frechet(X', W)."""
    rng = np.random.default_rng(2)
    vals = {"X": rng.normal(size=(n, n)) / np.sqrt(n), "W": rng.normal(size=(n, n))}
    f = tc.parse("sum(expm(X) * W)", {"X": (n, n), "W": (n, n)})

    def loss(x, w):
        return jnp.sum(jax.scipy.linalg.expm(x) * w)

    jgrad = jax.jit(jax.grad(loss, argnums=(0,))) if jax else None  # a tuple, as the others
    return f"expm gradient n={n}", [tc.gradient(f, "X")], vals, jgrad, (vals["X"], vals["W"])


def _block(out):
    for o in out if isinstance(out, (list, tuple)) else [out]:
        if hasattr(o, "block_until_ready"):
            o.block_until_ready()
    return out


def run(problems, rounds):
    rows = []
    for name, grads, vals, jgrad, jargs in problems:
        want = [g.evaluate(vals) for g in grads]
        contestants = {}
        for backend in ("numpy", "jax"):
            if backend == "jax" and jax is None:
                continue
            c = tc.compile(grads, backend)
            args = {k: (jnp.asarray(v) if backend == "jax" else v) for k, v in vals.items()}
            contestants[f"tensorcalc {backend}"] = lambda c=c, a=args: c(**a)
        if jgrad is not None:
            jx = tuple(jnp.asarray(a) for a in jargs)
            contestants["jax.jit(jax.grad)"] = lambda j=jgrad, a=jx: j(*a)
        ok = {}
        for label, fn in contestants.items():
            got = [np.asarray(g) for g in _block(fn())]
            ok[label] = all(np.allclose(g, w, rtol=1e-8, atol=1e-10) for g, w in zip(got, want))
        times = {label: [] for label in contestants}
        for _ in range(rounds):
            for label, fn in contestants.items():
                _block(fn())  # warm: the last call of the pair counts
                t0 = time.perf_counter()
                _block(fn())
                times[label].append(time.perf_counter() - t0)
        ref = statistics.median(times["jax.jit(jax.grad)"]) if jgrad is not None else None
        for label in contestants:
            med = statistics.median(times[label])
            ratio = f"{ref / med:.2f}×" if ref else ""
            rows.append((name, label, med * 1e3, ratio, "✓" if ok[label] else "✗"))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    problems = [gp_problem(100), gp_problem(400), attention_problem(2, 4, 16, 8)]
    problems.append(attention_problem(8, 8, 64, 32))
    problems += [expm_problem(10), expm_problem(100)]
    before = os.getloadavg()
    rows = run(problems, args.rounds)
    print(f"load average before: {before}")
    print("| problem | contestant | median ms | jax.jit(jax.grad) ÷ this | correct |")
    print("|---|---|---:|---:|---|")
    for name, label, ms, ratio, ok in rows:
        print(f"| {name} | {label} | {ms:.3f} | {ratio} | {ok} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
