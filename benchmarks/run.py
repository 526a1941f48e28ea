"""Compiled derivatives against hand-written NumPy, JAX, PyTorch, TensorFlow and autograd, in one run.

    python benchmarks/run.py [--quick] [--json results.json] [--device cpu|cuda]
                             [--only PROBLEM] [--contestants jax,hand] [--repeat 5]
    python benchmarks/run.py --memory [--quick]   # only each Hessian's peak memory, no timing

For each problem it times the gradient and the Hessian of every contestant that is installed
(medians over repeated calls after a warm-up, float64), checks every result against
tensorcalc's reference evaluator, and prints a table of medians and ratios against the
best hand-written NumPy closed form and against jax.jit(jax.grad/hessian), and each Hessian's
peak memory (tracemalloc, NumPy contestants) over the size of its result.  It also reports time to first result:
derive + compile + first call for tensorcalc, trace + compile + first call for JAX.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

import tensorcalc as tc

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - optional
    jax = None
try:
    import torch
    import torch.func

    torch.set_default_dtype(torch.float64)
except ImportError:  # pragma: no cover - optional
    torch = None
try:
    import tensorflow as tf
except ImportError:  # pragma: no cover - optional
    tf = None
try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - optional
    autograd = None


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def problems(quick):
    rng = np.random.default_rng(0)
    s = 0.25 if quick else 1.0
    out = []
    for n in [1000] if quick else [1000, 3000]:
        A = rng.normal(size=(n, n))
        out.append(dict(
            name=f"quadratic n={n}", text="x' @ A @ x", shapes={"A": ("n", "n")}, wrt="x",
            vals={"x": rng.normal(size=n), "A": A},
            grad=lambda v: v["A"] @ v["x"] + v["A"].T @ v["x"], hess=lambda v: v["A"] + v["A"].T,
            jf=lambda x, A: x @ A @ x, tf=lambda x, A: x @ A @ x, af=lambda x, A: anp.dot(x, anp.dot(A, x)),
            gf=lambda x, A: tf.tensordot(x, tf.linalg.matvec(A, x), 1),
            order=("x", "A"),
        ))  # fmt: skip
    N, D = int(2000 * s), int(1000 * s)
    out.append(dict(
        name=f"least squares {N}x{D}", text="norm(y - Phi @ theta)^2", shapes={"Phi": ("N", "D")},
        wrt="theta", vals={"theta": rng.normal(size=D), "Phi": rng.normal(size=(N, D)), "y": rng.normal(size=N)},
        grad=lambda v: -2 * (v["Phi"].T @ (v["y"] - v["Phi"] @ v["theta"])), hess=lambda v: 2 * (v["Phi"].T @ v["Phi"]),
        jf=lambda t, P, y: jnp.sum((y - P @ t) ** 2), tf=lambda t, P, y: torch.sum((y - P @ t) ** 2),
        af=lambda t, P, y: anp.sum((y - anp.dot(P, t)) ** 2), order=("theta", "Phi", "y"),
        gf=lambda t, P, y: tf.reduce_sum((y - tf.linalg.matvec(P, t)) ** 2),
    ))  # fmt: skip
    for D in [200] if quick else [200, 1000]:
        N = 2000
        X = rng.normal(size=(N, D)) / np.sqrt(D)

        def lgrad(v):
            return -v["X"].T @ (v["y"] * sigmoid(-v["y"] * (v["X"] @ v["w"])))

        def lhess(v):
            p = sigmoid(v["X"] @ v["w"])
            R = v["X"] * np.sqrt(p * (1 - p))[:, None]
            return R.T @ R

        out.append(dict(
            name=f"logistic {N}x{D}", text="sum(log(1 + exp(-y * (X @ w))))", shapes={"X": ("N", "D")},
            wrt="w", vals={"w": rng.normal(size=D) * 0.1, "X": X, "y": rng.choice([-1.0, 1.0], N)},
            grad=lgrad, hess=lhess,
            jf=lambda w, X, y: jnp.sum(jnp.logaddexp(0.0, -y * (X @ w))),
            tf=lambda w, X, y: torch.sum(torch.nn.functional.softplus(-y * (X @ w))),
            af=lambda w, X, y: anp.sum(anp.logaddexp(0.0, -y * anp.dot(X, w))), order=("w", "X", "y"),
            gf=lambda w, X, y: tf.reduce_sum(tf.nn.softplus(-y * tf.linalg.matvec(X, w))),
        ))  # fmt: skip
    m, n, r = int(1000 * s), int(1000 * s), 10
    mh = 100  # the Hessian of matrix factorisation is a (m, r, m, r) tensor: timed at m = 100
    out.append(dict(
        name=f"factorisation {m}x{n} r={r}", text="norm(X - U @ V)^2", shapes={"X": ("m", "n"), "U": ("m", "r")},
        wrt="U", vals={"U": rng.normal(size=(m, r)), "V": rng.normal(size=(r, n)), "X": rng.normal(size=(m, n))},
        grad=lambda v: (v["X"] - v["U"] @ v["V"]) @ (-2 * v["V"].T),
        grad_reordered=lambda v: -2 * (v["X"] @ v["V"].T - v["U"] @ (v["V"] @ v["V"].T)),
        hess=lambda v: np.einsum("ik,jl->ijkl", np.eye(v["U"].shape[0]), 2 * (v["V"] @ v["V"].T)),
        jf=lambda U, V, X: jnp.sum((X - U @ V) ** 2), tf=lambda U, V, X: torch.sum((X - U @ V) ** 2),
        af=lambda U, V, X: anp.sum((X - anp.dot(U, V)) ** 2), order=("U", "V", "X"),
        gf=lambda U, V, X: tf.reduce_sum((X - U @ V) ** 2),
        hess_vals={"U": rng.normal(size=(mh, r)), "V": rng.normal(size=(r, n)), "X": rng.normal(size=(mh, n))},
    ))  # fmt: skip
    k, n, m = int(1000 * s), int(1000 * s), int(4000 * s)
    out.append(dict(
        name=f"two least squares {k}x{n}, X {n}x{m}", text="norm(A @ X)^2 + norm(B @ X)^2",
        shapes={"A": ("k", "n"), "B": ("k", "n"), "X": ("n", "m")}, wrt="X",
        vals={"A": rng.normal(size=(k, n)), "B": rng.normal(size=(k, n)), "X": rng.normal(size=(n, m))},
        grad=lambda v: 2 * (v["A"].T @ (v["A"] @ v["X"]) + v["B"].T @ (v["B"] @ v["X"])),
        grad_reordered=lambda v: 2 * ((v["A"].T @ v["A"] + v["B"].T @ v["B"]) @ v["X"]),
        hess=None,  # 2 (A'A + B'B) ⊗ I, a (n, m, n, m) tensor: timed at n = 20, m = 30
        hess_vals={"A": rng.normal(size=(k, 20)), "B": rng.normal(size=(k, 20)), "X": rng.normal(size=(20, 30))},
        jf=lambda X, A, B: jnp.sum((A @ X) ** 2) + jnp.sum((B @ X) ** 2),
        tf=lambda X, A, B: torch.sum((A @ X) ** 2) + torch.sum((B @ X) ** 2),
        af=lambda X, A, B: anp.sum(anp.dot(A, X) ** 2) + anp.sum(anp.dot(B, X) ** 2),
        gf=lambda X, A, B: tf.reduce_sum((A @ X) ** 2) + tf.reduce_sum((B @ X) ** 2),
        order=("X", "A", "B"),
    ))  # fmt: skip
    d, h, o, N = int(100 * s) or 10, 50, 10, int(1000 * s)

    def mgrad(v):
        Z = np.tanh(v["W1"] @ v["X"])
        return ((2 * v["W2"].T @ (v["W2"] @ Z - v["T"])) * (1 - Z * Z)) @ v["X"].T

    out.append(dict(
        name=f"tanh MLP d={d} h={h} N={N}", text="norm(W2 @ tanh(W1 @ X) - T)^2",
        shapes={"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}, wrt="W1",
        vals={"W1": rng.normal(size=(h, d)) / 10, "W2": rng.normal(size=(o, h)), "X": rng.normal(size=(d, N)), "T": rng.normal(size=(o, N))},
        grad=mgrad, hess=None,  # no closed form by hand; timed with W1 of 20x30 (a 600x600 Hessian)
        hess_vals={"W1": rng.normal(size=(20, 30)) / 10, "W2": rng.normal(size=(o, 20)), "X": rng.normal(size=(30, N)), "T": rng.normal(size=(o, N))},
        jf=lambda W1, W2, X, T: jnp.sum((W2 @ jnp.tanh(W1 @ X) - T) ** 2),
        tf=lambda W1, W2, X, T: torch.sum((W2 @ torch.tanh(W1 @ X) - T) ** 2),
        af=lambda W1, W2, X, T: anp.sum((anp.dot(W2, anp.tanh(anp.dot(W1, X))) - T) ** 2), order=("W1", "W2", "X", "T"),
        gf=lambda W1, W2, X, T: tf.reduce_sum((W2 @ tf.tanh(W1 @ X) - T) ** 2),
    ))  # fmt: skip
    return out


def interleaved_medians(fns: dict, budget=2.0, max_rounds=40, min_rounds=5):
    """Median time of each callable, measured in round-robin rounds so that drift in the
    machine's speed (turbo, other load) hits every contestant alike.  Each turn calls a
    contestant three times and times the last two: NumPy's, XLA's, PyTorch's and TensorFlow's
    thread pools spin for a while after their work, and on a shared 2-core machine the first
    call after a switch measured the previous library's spinning, not its own work."""
    for fn in fns.values():
        fn()  # warm-up
    times = {k: [] for k in fns}
    start = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - start < budget):
        for k, fn in fns.items():
            fn()  # the first call after another library's pays for its idle threads: untimed
            for _ in range(2):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        rounds += 1
    return {k: statistics.median(v) for k, v in times.items()}


def _block(r):
    if hasattr(r, "block_until_ready"):
        r.block_until_ready()
    return r


def contestants(p, kind, device):
    """(name, setup) pairs; setup() returns (callable, to_numpy) or raises ImportError."""
    vals = p["hess_vals"] if kind == "hess" and "hess_vals" in p else p["vals"]
    order = p["order"]
    f = tc.parse(p["text"], p["shapes"])
    d = tc.derivative(f, p["wrt"], order=1 if kind == "grad" else 2)
    res = {}
    hand = p[kind]
    if hand is not None:
        res["hand-written NumPy"] = lambda: ((lambda: hand(vals)), np.asarray)
    if p.get(kind + "_reordered") is not None:
        other = p[kind + "_reordered"]
        res["hand-written NumPy, reordered"] = lambda: ((lambda: other(vals)), np.asarray)
    dims = _dims(f, vals)
    res["tensorcalc numpy"] = lambda: (_compiled(d, "numpy", vals, dims), np.asarray)
    if jax is not None:
        jv = {k: jnp.asarray(v) for k, v in vals.items()}
        res["tensorcalc jax"] = lambda: (_compiled(d, "jax", jv, dims), np.asarray)
        res["tensorcalc jax, c(**arrays)"] = lambda: (_jax_tc(d, jv, dims), np.asarray)
        tr = jax.grad if kind == "grad" else jax.hessian
        jfun = jax.jit(tr(p["jf"]))
        args = [jv[k] for k in order]
        res["jax.jit(jax." + ("grad" if kind == "grad" else "hessian") + ")"] = lambda: (
            (lambda: _block(jfun(*args))),
            np.asarray,
        )
    if torch is not None:
        dev = torch.device(device)
        targs = [torch.as_tensor(vals[k], device=dev) for k in order]
        tr = torch.func.grad if kind == "grad" else torch.func.hessian
        tfun = tr(p["tf"])
        res["torch.func." + ("grad" if kind == "grad" else "hessian")] = lambda: (
            (lambda: tfun(*targs)),
            lambda r: r.detach().cpu().numpy(),
        )
        if device != "cpu":
            tv = {k: torch.as_tensor(v, device=dev) for k, v in vals.items()}
            res["tensorcalc torch"] = lambda: (
                _compiled(d, "torch", tv, dims),
                lambda r: r.detach().cpu().numpy(),
            )
    if tf is not None:
        with tf.device(device.replace("cuda", "GPU")):
            gv = {k: tf.constant(v) for k, v in vals.items()}
        res["tensorcalc tensorflow"] = lambda: (_compiled(d, "tensorflow", gv, dims), _tf_np)
        gfun = _tape(p["gf"], kind, len(order))
        gargs = [gv[k] for k in order]
        res["tf.function GradientTape"] = lambda: ((lambda: gfun(*gargs)), _tf_np)
    if autograd is not None and (kind == "grad" or vals[p["wrt"]].size <= 1000):
        tr = autograd.grad if kind == "grad" else autograd.hessian
        afun = tr(p["af"])
        args = [vals[k] for k in order]
        res["autograd"] = lambda: ((lambda: afun(*args)), np.asarray)
    return d, vals, res, dims


def _dims(f, vals):
    """Sizes of the symbolic dimensions, read off the arrays of f's variables."""
    out = {}
    for name, v in tc.expr.variables(f).items():
        out.update({d: k for d, k in zip(v.shape, np.shape(vals[name])) if isinstance(d, str)})
    return out


def _compiled(d, backend, vals, dims):
    """The compiled function for these shapes, called positionally (``Compiled.function``), as
    the JAX, PyTorch and TensorFlow transformations are."""
    c = tc.compile(d, backend)
    carried = {x for v in tc.expr.variables(d).values() for x in v.shape}
    if any(k not in carried for k in dims):  # dimensions passed as keywords: the plain call
        return lambda: _block(c(dims=dims, **vals))
    fn = c.function(**vals)
    args = [vals[n] for n in c.names]
    return lambda: _block(fn(*args)[0])


def _jax_tc(d, jv, dims):
    """The jax backend (compiled with jax.jit) called by keyword, as users call it: the
    wrapper's per-call work (conversions, signature lookup) counts against it."""
    c = tc.compile(d, "jax")
    carried = {x for v in tc.expr.variables(d).values() for x in v.shape}
    if any(k not in carried for k in dims):
        return lambda: _block(c(dims=dims, **jv))
    inputs = {n: jv[n] for n in c.names}
    return lambda: _block(c(**inputs))


def _tf_np(r):
    return r.numpy()


def _tape(fun, kind, nargs):
    """tf.function of GradientTape's gradient (or Jacobian of the gradient) in the first argument."""

    @tf.function(autograph=False)
    def grad(*args):
        with tf.GradientTape() as tape:
            tape.watch(args[0])
            value = fun(*args)
        return tape.gradient(value, args[0])

    @tf.function(autograph=False)
    def hess(*args):
        with tf.GradientTape() as outer:
            outer.watch(args[0])
            with tf.GradientTape() as inner:
                inner.watch(args[0])
                value = fun(*args)
            g = inner.gradient(value, args[0])
        return outer.jacobian(g, args[0])

    return grad if kind == "grad" else hess


def first_result(p):
    """Derive + compile + first call (tensorcalc) vs trace + compile + first call (JAX)."""
    out = {}
    t0 = time.perf_counter()
    f = tc.parse(p["text"], p["shapes"])
    g = tc.derivative(f, p["wrt"])
    tc.compile(g)(**p["vals"])
    out["tensorcalc numpy"] = time.perf_counter() - t0
    if jax is not None:
        jv = [jnp.asarray(p["vals"][k]) for k in p["order"]]
        fun = lambda *a: p["jf"](*a)  # noqa: E731 - a fresh function defeats JAX's cache
        t0 = time.perf_counter()
        _block(jax.jit(jax.grad(fun))(*jv))
        out["jax.jit(jax.grad)"] = time.perf_counter() - t0
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller problems, fewer repeats")
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--device", default="cpu", help="torch device (cuda on a GPU machine)")
    ap.add_argument("--only", default="", help="run only the problems whose name contains this")
    ap.add_argument(
        "--contestants",
        default="",
        help="comma-separated parts of contestant names to keep (e.g. 'jax' for the JAX rows)",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="time each row this many times; report the median"
    )
    ap.add_argument(
        "--memory", action="store_true", help="only each Hessian's peak memory (NumPy), no timing"
    )
    args = ap.parse_args(argv)
    if args.memory:
        print(memory_table(problems(args.quick), args.only))
        return
    missing = [
        m for m, mod in (("jax", jax), ("torch", torch), ("autograd", autograd)) if mod is None
    ]
    if missing:
        print(
            f"note: not installed, skipped: {', '.join(missing)} (pip install 'tensorcalc[bench]')"
        )
    rows = []
    budget = 0.5 if args.quick else 2.0
    for p in problems(args.quick):
        if args.only not in p["name"]:
            continue
        for kind in ("grad", "hess"):
            d, vals, res, dims = contestants(p, kind, args.device)
            keep = [w for w in args.contestants.split(",") if w]
            res = {k: v for k, v in res.items() if not keep or any(w in k for w in keep)}
            expected = d.evaluate(vals, dims=dims)
            row = {"problem": p["name"], "kind": kind, "times": {}, "ok": {}}
            fns = {}
            for name, setup in res.items():
                try:
                    fn, to_np = setup()
                    got = np.reshape(to_np(fn()), expected.shape)
                    row["ok"][name] = bool(np.allclose(got, expected, rtol=1e-6, atol=1e-8))
                    fns[name] = fn
                except Exception as err:  # noqa: BLE001 - a contestant that fails is reported
                    row["ok"][name] = f"{type(err).__name__}: {err}"[:60]
            slow = kind == "hess" and "MLP" in p["name"]
            runs = [
                interleaved_medians(fns, budget, min_rounds=2 if slow else 5)
                for _ in range(args.repeat)
            ]
            medians = {k: statistics.median(m[k] for m in runs) for k in fns}
            row["times"] = {name: medians.get(name) for name in res}
            if kind == "hess":
                row["memory"] = {
                    name: peak_memory(fn) / np.asarray(expected).nbytes
                    for name, fn in fns.items()
                    if name in ("hand-written NumPy", "tensorcalc numpy")
                }
            rows.append(row)
            print(_row_text(row), file=sys.stderr)
        rows.append(
            {"problem": p["name"], "kind": "first result", "times": first_result(p), "ok": {}}
        )
    print(table(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


def memory_table(probs, only=""):
    """Peak memory over the result of each Hessian, hand-written NumPy and tensorcalc numpy
    (the generated function for these shapes, called positionally), with no timing."""
    lines = [
        "| problem | Hessian shape | hand-written NumPy | tensorcalc numpy |",
        "|---|---|---:|---:|",
    ]
    for p in probs:
        if only not in p["name"]:
            continue
        vals = p["hess_vals"] if "hess_vals" in p else p["vals"]
        f = tc.parse(p["text"], p["shapes"])
        d = tc.derivative(f, p["wrt"], order=2)
        fn = _compiled(d, "numpy", vals, _dims(f, vals))
        out = np.asarray(fn())
        hand = p["hess"]
        ratio = {"tc": peak_memory(fn) / out.nbytes}
        if hand is not None:
            ratio["hand"] = peak_memory(lambda: hand(vals)) / out.nbytes
        name = p["name"] + (" (Hessian at W1 20x30)" if "MLP" in p["name"] else "")
        name += " (Hessian at m = 100)" if "factorisation" in p["name"] else ""
        h = f"{ratio['hand']:.2f}" if "hand" in ratio else ""
        lines.append(f"| {name} | {out.shape} | {h} | {ratio['tc']:.2f} |")
    return "\n".join(lines)


def peak_memory(fn):
    """Peak bytes NumPy allocates during one call (tracemalloc sees NumPy's buffers)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _row_text(row):
    return (
        row["problem"]
        + " "
        + row["kind"]
        + ": "
        + ", ".join(f"{k}={v * 1e3:.2f}ms" if v else f"{k}=n/a" for k, v in row["times"].items())
    )


def table(rows):
    lines = [
        "| problem | derivative | contestant | median ms | × best hand NumPy | jax.jit(grad or hessian) ÷ this | peak memory ÷ result | correct |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        t = r["times"]
        hands = [v for k, v in t.items() if k.startswith("hand-written") and v]
        hand = min(hands) if hands else None
        mem = r.get("memory", {})
        jx = next((v for k, v in t.items() if k.startswith("jax.jit")), None)
        for name, v in t.items():
            if v is None:
                lines.append(
                    f"| {r['problem']} | {r['kind']} | {name} | failed | | | | {r['ok'].get(name)} |"
                )
                continue
            ratio = f"{v / hand:.2f}" if hand else ""
            speed = f"{jx / v:.1f}×" if jx else ""
            ok = {True: "✓", False: "✗"}.get(r["ok"].get(name), "")
            peak = f"{mem[name]:.2f}" if name in mem else ""
            lines.append(
                f"| {r['problem']} | {r['kind']} | {name} | {v * 1e3:.2f} | {ratio} | {speed} | {peak} | {ok} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
