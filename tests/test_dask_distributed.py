"""Compiled Dask code on the distributed scheduler: a ``LocalCluster`` of two worker processes
with a memory limit each, and a design matrix X larger than one worker's limit, generated chunk
by chunk on the workers so that it never exists whole anywhere.

The compiled outputs are compared with hand-written formulas computed in the same cluster pass
(the whole X) and with NumPy on a sample of rows that fits in memory.  Select with
``pytest -k distributed -s`` to see the cluster's size in the output.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorcalc as tc

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

WORKERS, MEMORY_LIMIT = 2, 200e6  # bytes per worker
N, D, CHUNK = 400_000, 100, 10_000  # X: 320 MB of float64, 40 row chunks of 8 MB
SAMPLE = 3 * CHUNK  # rows checked against NumPy on this machine


def _sigmoid(xp, z):
    return 0.5 * (1.0 + xp.tanh(0.5 * z))


LOSS = "sum(log(1 + exp(-y * (X @ w))))"
# name, the compiled expression (of the loss f), the hand-written formula (xp: numpy or dask)
OUTPUTS = [
    ("gradient", lambda f: tc.derivative(f, "w"),
     lambda xp, X, y, w, v: -X.T @ (y * _sigmoid(xp, -y * (X @ w)))),
]  # fmt: skip


def test_distributed_logistic_regression_over_x_larger_than_a_worker():
    f = tc.parse(LOSS, {"X": ("N", "D")})
    rng = np.random.default_rng(0)
    w, v = rng.normal(size=D) / 10, rng.normal(size=D)  # v: a direction, for products H v
    X = da.random.RandomState(1).normal(size=(N, D), chunks=(CHUNK, D))
    y = da.sign(da.random.RandomState(2).normal(size=N, chunks=CHUNK))
    assert X.nbytes > MEMORY_LIMIT  # larger than any one worker may hold
    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit=MEMORY_LIMIT,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        limits = client.run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
        print(
            f"\nLocalCluster: {len(limits)} worker processes, memory limit "
            f"{sorted(limits.values())[0] / 1e6:.0f} MB each; X {X.nbytes / 1e6:.0f} MB "
            f"({X.numblocks[0]} chunks of {CHUNK * D * 8 / 1e6:.0f} MB)"
        )
        assert len(limits) == WORKERS
        assert all(limit == MEMORY_LIMIT for limit in limits.values())
        whole = {"X": X, "y": y, "w": w, "v": v}
        part = {"X": X[:SAMPLE], "y": y[:SAMPLE], "w": w, "v": v}
        jobs = []
        for _, expr, hand in OUTPUTS:
            c = tc.compile(expr(f), "dask")
            for vals in (whole, part):
                jobs.append(c(**{n: vals[n] for n in c.names}))
            jobs.append(hand(da, **whole))
        jobs += [X[:SAMPLE], y[:SAMPLE]]
        *results, Xs, ys = client.compute(jobs, sync=True)  # one pass over X on the workers
        print(f"computed in {time.perf_counter() - start:.1f} s (cluster start included)")
    for k, (name, expr, hand) in enumerate(OUTPUTS):
        got_whole, got_part, want_whole = results[3 * k : 3 * k + 3]
        scale = np.abs(want_whole).max()
        assert np.abs(got_whole - want_whole).max() <= 1e-10 * scale, name
        sample = {"X": Xs, "y": ys, "w": w, "v": v}
        want_part = hand(np, **sample)
        assert np.abs(got_part - want_part).max() <= 1e-10 * np.abs(want_part).max(), name
        numpy_fn = tc.compile(expr(f))
        got_numpy = numpy_fn(**{n: sample[n] for n in numpy_fn.names})
        assert np.abs(got_part - got_numpy).max() <= 1e-10 * np.abs(want_part).max(), name
