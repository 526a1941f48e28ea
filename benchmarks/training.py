"""Training steps: forward + closed-form backward + update, against each framework's own autodiff.

    python benchmarks/training.py [--quick] [--only PROBLEM] [--frameworks jax,torch,tensorflow]
                                  [--budget SECONDS] [--torch-threads N]

One training step is the loss, its gradient in the parameters and a plain gradient-descent
update, written once per framework:

- JAX: ``jax.jit`` of (``jax.value_and_grad`` + update), with the loss ``tc.to_jax(f)`` (its
  backward is the closed form, a ``jax.custom_vjp``) against the loss written in ``jax.numpy``;
- PyTorch: ``loss.backward()`` and an in-place update under ``torch.no_grad``, with
  ``tc.to_torch(f)`` (an ``autograd.Function``) against the loss written in ``torch``;
- TensorFlow: ``tf.function`` of a ``GradientTape`` step and ``assign_sub``, with
  ``tc.to_tensorflow(f)`` (``tf.custom_gradient``) against the loss written in ``tf``.

The batched attention layer is JAX only: ``jax.vmap`` of the closed-form function over a batch
of sequences (tensorcalc's expressions have no batch axis of their own).

Every step's gradients are first checked against the native ones (relative 1e-9, float64).
Times are medians of interleaved rounds (``run.interleaved_medians``) in one process, with the
libraries' default threading; the ratio is native / tensorcalc (above 1: tensorcalc's step is
faster).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import run  # benchmarks/run.py: the libraries in float64, the interleaved timing
from run import interleaved_medians

import tensorcalc as tc

jax, tf, torch = run.jax, run.tf, run.torch
jnp = getattr(run, "jnp", None)

PROBLEMS = {
    "logistic": dict(
        text="sum(log(1 + exp(-y * (X @ w))))", shapes={"X": ("N", "D")},
        args=("w", "X", "y"), params=("w",),
        jf=lambda w, X, y: jnp.sum(jnp.logaddexp(0.0, -y * (X @ w))),
        tf=lambda w, X, y: torch.sum(torch.nn.functional.softplus(-y * (X @ w))),
        gf=lambda w, X, y: tf.reduce_sum(tf.nn.softplus(-y * tf.linalg.matvec(X, w))),
    ),
    "least squares": dict(
        text="norm(y - Phi @ theta)^2", shapes={"Phi": ("N", "D")},
        args=("theta", "Phi", "y"), params=("theta",),
        jf=lambda t, P, y: jnp.sum((y - P @ t) ** 2),
        tf=lambda t, P, y: torch.sum((y - P @ t) ** 2),
        gf=lambda t, P, y: tf.reduce_sum((y - tf.linalg.matvec(P, t)) ** 2),
    ),
    "tanh MLP": dict(
        text="norm(W2 @ tanh(W1 @ X) - T)^2",
        shapes={"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")},
        args=("W1", "W2", "X", "T"), params=("W1", "W2"),
        jf=lambda W1, W2, X, T: jnp.sum((W2 @ jnp.tanh(W1 @ X) - T) ** 2),
        tf=lambda W1, W2, X, T: torch.sum((W2 @ torch.tanh(W1 @ X) - T) ** 2),
        gf=lambda W1, W2, X, T: tf.reduce_sum((W2 @ tf.tanh(W1 @ X) - T) ** 2),
    ),
    "attention": dict(  # one self-attention layer, softmax(Q K' / s) V with Q, K, V = X W
        text="norm(softmax(X @ Wq @ (X @ Wk)' / s, 1) @ X @ Wv - T)^2",
        shapes={"X": ("n", "d"), "Wq": ("d", "k"), "Wk": ("d", "k"), "Wv": ("d", "e")},
        args=("Wq", "Wk", "Wv", "X", "T", "s"), params=("Wq", "Wk", "Wv"),
        jf=lambda Wq, Wk, Wv, X, T, s: jnp.sum(
            (jax.nn.softmax((X @ Wq) @ (X @ Wk).T / s, axis=1) @ (X @ Wv) - T) ** 2),
        tf=lambda Wq, Wk, Wv, X, T, s: torch.sum(
            (torch.softmax((X @ Wq) @ (X @ Wk).T / s, 1) @ (X @ Wv) - T) ** 2),
        gf=lambda Wq, Wk, Wv, X, T, s: tf.reduce_sum(
            (tf.nn.softmax((X @ Wq) @ tf.transpose(X @ Wk) / s, axis=1) @ (X @ Wv) - T) ** 2),
    ),
}  # fmt: skip
PROBLEMS["attention, batched"] = dict(PROBLEMS["attention"], batched=True)  # JAX only: vmap


def values(name, quick):
    rng = np.random.default_rng(0)
    s = 0.25 if quick else 1.0
    if name == "logistic":
        N, D = int(2000 * s), 200
        X = rng.normal(size=(N, D)) / np.sqrt(D)
        return dict(w=rng.normal(size=D) * 0.1, X=X, y=rng.choice([-1.0, 1.0], N))
    if name == "least squares":
        N, D = int(2000 * s), int(1000 * s)
        return dict(theta=rng.normal(size=D), Phi=rng.normal(size=(N, D)), y=rng.normal(size=N))
    if name == "tanh MLP":
        d, h, o, N = 100, 50, 10, int(1000 * s)
        return dict(
            W1=rng.normal(size=(h, d)) / 10, W2=rng.normal(size=(o, h)),
            X=rng.normal(size=(d, N)), T=rng.normal(size=(o, N)),
        )  # fmt: skip
    n, d, k = int(256 * s), 64, 64
    if name == "attention, batched":
        B, n = 8, int(64 * s) or 16
        return dict(
            Wq=rng.normal(size=(d, k)) / 8, Wk=rng.normal(size=(d, k)) / 8,
            Wv=rng.normal(size=(d, d)) / 8, X=rng.normal(size=(B, n, d)),
            T=rng.normal(size=(B, n, d)), s=np.float64(np.sqrt(k)),
        )  # fmt: skip
    return dict(
        Wq=rng.normal(size=(d, k)) / 8, Wk=rng.normal(size=(d, k)) / 8,
        Wv=rng.normal(size=(d, d)) / 8, X=rng.normal(size=(n, d)),
        T=rng.normal(size=(n, d)), s=np.float64(np.sqrt(k)),
    )  # fmt: skip


LR = 1e-4


def jax_steps(p, vals):
    """(one step of each contestant as a callable, their first gradients)."""
    closed = tc.to_jax(p["text"], args=p["args"], shapes=p["shapes"])
    k = len(p["params"])
    data = [jnp.asarray(vals[a]) for a in p["args"][k:]]

    def make(loss):
        @jax.jit
        def step(params):
            value, grads = jax.value_and_grad(lambda ps: loss(*ps, *data))(params)
            return tuple(w - LR * g for w, g in zip(params, grads)), value, grads

        state = {"params": tuple(jnp.asarray(vals[a]) for a in p["params"])}
        first = [np.asarray(g) for g in step(state["params"])[2]]

        def run():
            state["params"], value, _ = step(state["params"])
            value.block_until_ready()

        return run, first

    return {"tensorcalc": make(closed), "native": make(p["jf"])}


def torch_steps(p, vals):
    closed = tc.to_torch(p["text"], args=p["args"], shapes=p["shapes"])
    k = len(p["params"])
    data = [torch.as_tensor(vals[a]) for a in p["args"][k:]]

    def make(loss):
        params = [torch.tensor(vals[a], requires_grad=True) for a in p["params"]]

        def run():
            for w in params:
                w.grad = None
            loss(*params, *data).backward()
            with torch.no_grad():
                for w in params:
                    w -= LR * w.grad

        loss(*params, *data).backward()
        first = [w.grad.numpy().copy() for w in params]
        return run, first

    return {"tensorcalc": make(closed), "native": make(p["tf"])}


def tf_steps(p, vals):
    closed = tc.to_tensorflow(p["text"], args=p["args"], shapes=p["shapes"])
    k = len(p["params"])
    data = [tf.constant(vals[a]) for a in p["args"][k:]]

    def make(loss):
        params = [tf.Variable(vals[a]) for a in p["params"]]

        @tf.function
        def grads():
            with tf.GradientTape() as tape:
                value = loss(*params, *data)
            return value, tape.gradient(value, params)

        @tf.function
        def step():
            value, gs = grads()
            for w, g in zip(params, gs):
                w.assign_sub(LR * g)
            return value

        first = [g.numpy() for g in grads()[1]]
        return (lambda: step().numpy()), first

    return {"tensorcalc": make(closed), "native": make(p["gf"])}


def jax_batched_steps(p, vals):
    """Attention over a batch: ``jax.vmap`` of the closed-form loss over X and T (B, n, d)."""
    closed = tc.to_jax(p["text"], args=p["args"], shapes=p["shapes"])
    X, T, s = (jnp.asarray(vals[a]) for a in ("X", "T", "s"))
    axes = (None, None, None, 0, 0, None)

    def make(loss):
        batched = jax.vmap(loss, axes)

        @jax.jit
        def step(params):
            value, grads = jax.value_and_grad(lambda ps: jnp.sum(batched(*ps, X, T, s)))(params)
            return tuple(w - LR * g for w, g in zip(params, grads)), value, grads

        state = {"params": tuple(jnp.asarray(vals[a]) for a in p["params"])}
        first = [np.asarray(g) for g in step(state["params"])[2]]

        def run():
            state["params"], value, _ = step(state["params"])
            value.block_until_ready()

        return run, first

    return {"tensorcalc": make(closed), "native": make(p["jf"])}


FRAMEWORKS = {"jax": (jax, jax_steps), "torch": (torch, torch_steps), "tensorflow": (tf, tf_steps)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--frameworks", default="jax,torch,tensorflow")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per row")
    ap.add_argument(
        "--torch-threads", type=int, default=0, help="torch.set_num_threads (0: default)"
    )
    args = ap.parse_args(argv)
    if args.torch_threads and torch is not None:
        torch.set_num_threads(args.torch_threads)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs; float64")
    print(f"{'problem':<19} {'framework':<11} {'native ms':>10} {'tensorcalc ms':>14} {'ratio':>6}")
    for name, p in PROBLEMS.items():
        if args.only and args.only not in name:
            continue
        vals = values(name, args.quick)
        for fw in args.frameworks.split(","):
            lib, steps = FRAMEWORKS[fw]
            if p.get("batched"):
                if fw != "jax":
                    continue
                steps = jax_batched_steps
            if lib is None:
                print(f"{name:<19} {fw:<11} (not installed)")
                continue
            contestants = steps(p, vals)
            (_, got), (_, want) = contestants["tensorcalc"], contestants["native"]
            for a, b in zip(got, want):
                err = np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))
                assert err < 1e-9, f"{name} {fw}: the gradients differ by {err:.2e}"
            t = interleaved_medians({k: run for k, (run, _) in contestants.items()}, args.budget)
            print(
                f"{name:<19} {fw:<11} {t['native'] * 1e3:10.3f} {t['tensorcalc'] * 1e3:14.3f}"
                f" {t['native'] / t['tensorcalc']:6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
