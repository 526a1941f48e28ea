"""Load on the web page's server: 50 concurrent mixed requests against the real server.

    python benchmarks/web_load.py [--requests 50] [--rounds 3] [--json out.json]

Starts ``tensorcalc serve`` in a subprocess on a free port of 127.0.0.1 (the default limits:
2 worker processes, 5 s of work per request), sends the mix all at once with httpx, and
reports the status codes and the p50/p95 latency (per kind of request and overall).  The mix
has derivatives of every kind, explanations, checks, code, analysis with a plot, and requests
over the limits: too long, order 5, a foreign Host header, malformed JSON, a body over 64 KiB,
and a runaway 4th derivative that the time limit stops.  ``tests/test_web_load.py`` runs it
and requires 0 server errors (5xx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[1]

_FACTORS = [
    "sin(x)", "cos(x)", "tanh(x)", "log(1 + exp(x))", "sigmoid(x)", "softplus(x)",
    "sqrt(1 + x^2)", "arctan(x)", "exp(-x^2)", "exp(x / 2)", "sin(x / 3)", "log(2 + x^2)",
]  # fmt: skip
# 24 factors: its 4th derivative takes about 20 s on one core (12 factors took 5 s, which a fast
# machine finishes inside the limit)
_TWICE = [re.sub(r"\bx\b", "(2 * x)", f) for f in _FACTORS]
RUNAWAY = "sum(exp(" + " * ".join(_FACTORS + _TWICE) + "))"
# (kind, path, JSON body or raw bytes, extra headers, the statuses it may get)
OK = (200,)
MIX = [
    ("derivative", "/api/derivative", {"expression": "x' @ A @ x", "wrt": "x"}, {}, OK),
    ("derivative", "/api/derivative",
     {"expression": "norm(y - Phi @ theta)^2", "wrt": "theta", "order": 2,
      "shapes": {"y": "N", "Phi": "N,D", "theta": "D"}}, {}, OK),
    ("derivative", "/api/derivative", {"expression": "R' @ R", "wrt": "R"}, {}, OK),
    ("derivative", "/api/derivative",
     {"expression": "logdet(X) + tr(inv(X))", "wrt": "X", "layout": "denominator"}, {}, OK),
    ("explain", "/api/explain", {"expression": "sin(x)^2 * exp(x)", "wrt": "x"}, {}, OK),
    ("check", "/api/check", {"expression": "logdet(X)", "wrt": "X", "seed": 1}, {}, OK),
    ("code", "/api/code", {"expression": "x' @ A @ x", "backend": "numpy"}, {}, OK),
    ("code", "/api/code", {"expression": "norm(X - U @ V)^2", "wrt": "V", "backend": "torch"},
     {}, OK),
    ("analysis", "/api/analysis", {"expression": "3*x^4 - 4*x^3 - 12*x^2"}, {}, OK),
    ("parse error", "/api/derivative", {"expression": "x +* 2"}, {}, (400,)),
    ("too long", "/api/derivative", {"expression": "x + " * 600 + "x"}, {}, (413,)),
    ("order 5", "/api/derivative", {"expression": "x^6", "order": 5}, {}, (422,)),
    ("bad host", "/api/derivative", {"expression": "x"}, {"host": "evil.example"}, (403,)),
    ("bad JSON", "/api/derivative", b"{nope", {}, (400,)),
    ("body too big", "/api/derivative", {"expression": "x", "pad": "y" * 70_000}, {}, (413,)),
]  # fmt: skip
PLOT = (
    "analysis + plot",
    "/api/analysis",
    {"expression": "x * exp(-x^2 - y^2)", "at": {"x": -1, "y": 0}, "plot": "taylor"},
    {},
    (200, 422),
)  # fmt: skip  (about 1 s alone; on a loaded machine it may hit the 5 s limit)
SLOW = ("runaway (time limit)", "/api/derivative",
        {"expression": RUNAWAY, "wrt": "x", "order": 4, "shapes": {"x": "n"}}, {}, (422, 429))  # fmt: skip


def mixed(n: int = 50) -> list:
    """``n`` requests: one runaway, one plot, the rest cycling through ``MIX``."""
    out = [SLOW, PLOT]
    while len(out) < n:
        out.append(MIX[len(out) % len(MIX)])
    return out[:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """``tensorcalc serve`` from this source tree, waited for until it answers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                     os.environ.get("PYTHONPATH")]))}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorcalc", "serve", "--port", str(port), "--no-browser"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stdout.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 120 s")


async def _one(client, item):
    kind, path, body, headers, _ = item
    t = time.perf_counter()
    if isinstance(body, bytes):
        r = await client.post(path, content=body, headers={"content-type": "application/json",
                                                             **headers})  # fmt: skip
    else:
        r = await client.post(path, json=body, headers=headers)
    return kind, r.status_code, time.perf_counter() - t, r.json().get("error")


async def fire(base: str, items: list) -> list:
    """Send all ``items`` at once; ``[(kind, status, seconds, error), ...]``."""
    limits = httpx.Limits(max_connections=len(items))
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        return await asyncio.gather(*(_one(client, it) for it in items))


def percentile(xs, q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def summary(results) -> dict:
    kinds = {}
    for kind, status, sec, _ in results:
        kinds.setdefault(kind, []).append((status, sec))
    rows = {
        k: {"n": len(v), "statuses": sorted({s for s, _ in v}),
            "p50_ms": 1000 * statistics.median(t for _, t in v),
            "p95_ms": 1000 * percentile([t for _, t in v], 0.95)}
        for k, v in kinds.items()
    }  # fmt: skip
    times = [sec for _, _, sec, _ in results]
    return {
        "requests": len(results),
        "server_errors": sum(s >= 500 for _, s, _, _ in results),
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * percentile(times, 0.95),
        "kinds": rows,
    }


def sequential(base: str, n: int = 20) -> float:
    """The reference measured in the same run: median ms of one derivative request at a time."""
    kind, path, body, headers, _ = MIX[0]
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(n):
            t = time.perf_counter()
            assert client.post(path, json=body).status_code == 200
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    port = free_port()
    proc = start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        rounds = []
        for _ in range(args.rounds):
            reference = sequential(base)
            rounds.append(summary(asyncio.run(fire(base, mixed(args.requests)))))
            rounds[-1]["reference_ms"] = reference
            time.sleep(5)  # let the stopped worker be replaced
    finally:
        proc.terminate()
        proc.wait(30)
    print("| round | requests | 5xx | p50 ms | p95 ms | one at a time ms | p50 ÷ one at a time |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(rounds, 1):
        print(f"| {i} | {r['requests']} | {r['server_errors']} | {r['p50_ms']:.0f} "
              f"| {r['p95_ms']:.0f} | {r['reference_ms']:.1f} | {r['p50_ms'] / r['reference_ms']:.0f} |")  # fmt: skip
    print("\n| request (last round) | n | statuses | p50 ms | p95 ms |\n|---|---:|---|---:|---:|")
    for k, v in rounds[-1]["kinds"].items():
        print(f"| {k} | {v['n']} | {', '.join(map(str, v['statuses']))} | {v['p50_ms']:.0f} "
              f"| {v['p95_ms']:.0f} |")  # fmt: skip
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rounds, indent=1))


if __name__ == "__main__":
    main()
