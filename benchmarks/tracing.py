"""Per-call overhead of a cached tc.grad against jax.jit(jax.grad) and torch.func.grad, for small
and large inputs, and the first-call time (trace + derive + compile + call) against JAX's.

    python benchmarks/tracing.py

The goal: the cached call of small problems within 2x of jax.jit(jax.grad).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - optional
    jax = None
try:
    import torch
    import torch.func
except ImportError:  # pragma: no cover - optional
    torch = None


def loss_tc(w, X, y):
    return tnp.sum(tnp.softplus(-y * (X @ w)))


def loss_jax(w, X, y):
    return jnp.sum(jnp.logaddexp(0.0, -y * (X @ w)))


def loss_torch(w, X, y):
    return torch.sum(torch.nn.functional.softplus(-y * (X @ w)))


def timed(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    rng = np.random.default_rng(0)
    print("| problem | contestant | cached call µs | ÷ jax.jit(jax.grad) | first call ms |")
    print("|---|---|---:|---:|---:|")
    for n, d in ((10, 3), (2000, 200)):
        X, y, w = rng.normal(size=(n, d)), rng.choice([-1.0, 1.0], n), rng.normal(size=d) * 0.1
        reps = 2000 if n < 100 else 200
        rows = {}
        t0 = time.perf_counter()
        g = tc.grad(loss_tc)
        g(w, X, y)
        first_tc = time.perf_counter() - t0
        rows["tc.grad (cached)"] = (timed(lambda g=g: g(w, X, y), reps), first_tc)
        if jax is not None:
            jw, jX, jy = (jnp.asarray(a) for a in (w, X, y))
            t0 = time.perf_counter()
            jg = jax.jit(jax.grad(lambda *a: loss_jax(*a)))
            jg(jw, jX, jy).block_until_ready()
            first_jax = time.perf_counter() - t0
            rows["jax.jit(jax.grad)"] = (
                timed(lambda: jg(jw, jX, jy).block_until_ready(), reps),
                first_jax,
            )
        if torch is not None:
            tw, tX, ty = (torch.as_tensor(a) for a in (w, X, y))
            tg = torch.func.grad(loss_torch)
            t0 = time.perf_counter()
            tg(tw, tX, ty)
            rows["torch.func.grad"] = (
                timed(lambda: tg(tw, tX, ty), reps),
                time.perf_counter() - t0,
            )
        ref = rows.get("jax.jit(jax.grad)", (None,))[0]
        for name, (t, first) in rows.items():
            ratio = f"{t / ref:.2f}" if ref else ""
            print(f"| logistic {n}x{d} | {name} | {t * 1e6:.1f} | {ratio} | {first * 1e3:.1f} |")
        np.testing.assert_allclose(g(w, X, y), -X.T @ (y / (1 + np.exp(y * (X @ w)))), rtol=1e-10)


if __name__ == "__main__":
    main()
