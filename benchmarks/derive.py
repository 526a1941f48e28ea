"""Parse + derive time for the seed examples and Matrix Cookbook identities, against SymPy.

    python benchmarks/derive.py [--repeat 30] [--json out.json]

For every case it times tensorcalc's parse + derivative (median of ``--repeat`` runs) and
checks the value against a closed form at random inputs.  Where SymPy is installed it does the
same for SymPy (scalars with ``sympy.diff`` on symbols, matrices with ``MatrixSymbol``s of size
3) and counts what SymPy gets wrong or cannot do.  The goal for tensorcalc is a median under
10 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

import numpy as np

import tensorcalc as tc

try:
    import sympy as sp
except ImportError:  # pragma: no cover - optional
    sp = None

N = 3
RNG = np.random.default_rng(0)


def _vals():
    A = RNG.normal(size=(N, N))
    return {
        "x": RNG.normal(size=N), "a": RNG.normal(size=N), "b": RNG.normal(size=N),
        "y": RNG.choice([-1.0, 1.0], N), "w": RNG.normal(size=N), "theta": RNG.normal(size=N),
        "A": A, "X": RNG.normal(size=(N, N)) + 3 * np.eye(N), "U": RNG.normal(size=(N, N)),
        "V": RNG.normal(size=(N, N)), "Phi": RNG.normal(size=(N, N)), "t": 0.7, "s": 0.3,
    }  # fmt: skip


V = _vals()
X, A, x, y, w = V["X"], V["A"], V["x"], V["y"], V["w"]
Xi = np.linalg.inv(X)
SH = {k: (N,) for k in ("x", "a", "b", "y", "w", "theta")} | {
    k: (N, N) for k in ("A", "X", "U", "V", "Phi")
}


def _sig(z):
    return 1 / (1 + np.exp(-z))


# name, text, wrt, closed form (denominator layout = shape of wrt), sympy builder
def cases():
    S = _sympy_syms() if sp else {}
    c = [
        ("seed 1: x^6", "t^6", "t", 6 * 0.7**5, lambda: (S["t"] ** 6, S["t"])),
        ("seed 3: x^5 - x^2 + x", "t^5 - t^2 + t", "t", 5 * 0.7**4 - 2 * 0.7 + 1,
         lambda: (S["t"] ** 5 - S["t"] ** 2 + S["t"], S["t"])),
        ("seed 6: sin(x^4)^5", "sin(t^4)^5", "t", 20 * 0.7**3 * np.sin(0.7**4) ** 4 * np.cos(0.7**4),
         lambda: (sp.sin(S["t"] ** 4) ** 5, S["t"])),
        ("seed 8: (x^2+5x+6)^10", "(t^2 + 5*t + 6)^10", "t", 10 * (0.7**2 + 3.5 + 6) ** 9 * 6.4,
         lambda: ((S["t"] ** 2 + 5 * S["t"] + 6) ** 10, S["t"])),
        ("seed 15: exp(x1 x2^2)", "exp(t*cos(t) * (t*sin(t))^2)", "t", None,
         lambda: (sp.exp(S["t"] * sp.cos(S["t"]) * (S["t"] * sp.sin(S["t"])) ** 2), S["t"])),
        ("seed 23: x exp(-x^2-y^2)", "t * exp(-t^2 - s^2)", "t", np.exp(-0.49 - 0.09) * (1 - 2 * 0.49),
         lambda: (S["t"] * sp.exp(-S["t"] ** 2 - S["s"] ** 2), S["t"])),
        ("seed 26: log(e^x + e^y)", "log(exp(t) + exp(s))", "t", np.exp(0.7) / (np.exp(0.7) + np.exp(0.3)),
         lambda: (sp.log(sp.exp(S["t"]) + sp.exp(S["s"])), S["t"])),
        ("a'x", "a' @ x", "x", V["a"], lambda: ((S["a"].T * S["x"]), S["x"])),
        ("x'Ax", "x' @ A @ x", "x", (A + A.T) @ x, lambda: ((S["x"].T * S["A"] * S["x"]), S["x"])),
        ("a'Xb", "a' @ X @ b", "X", np.outer(V["a"], V["b"]),
         lambda: ((S["a"].T * S["X"] * S["b"]), S["X"])),
        ("tr(AX)", "tr(A @ X)", "X", A.T, lambda: (sp.Trace(S["A"] * S["X"]), S["X"])),
        ("tr(X'AX)", "tr(X' @ A @ X)", "X", (A + A.T) @ X, lambda: (sp.Trace(S["X"].T * S["A"] * S["X"]), S["X"])),
        ("tr(inv(X) A)", "tr(inv(X) @ A)", "X", -(Xi @ A @ Xi).T, lambda: (sp.Trace(S["X"].I * S["A"]), S["X"])),
        ("logdet X", "logdet(X)", "X", Xi.T, lambda: (sp.log(sp.Determinant(S["X"])), S["X"])),
        ("det X", "det(X)", "X", np.linalg.det(X) * Xi.T, lambda: (sp.Determinant(S["X"]), S["X"])),
        ("||X - UV||^2 wrt U", "norm(X - U @ V)^2", "U", -2 * (X - V["U"] @ V["V"]) @ V["V"].T,
         lambda: (sp.Trace((S["X"] - S["U"] * S["V"]).T * (S["X"] - S["U"] * S["V"])), S["U"])),
        ("least squares", "norm(y - Phi @ theta)^2", "theta", -2 * V["Phi"].T @ (y - V["Phi"] @ V["theta"]),
         lambda: (((S["y"] - S["Phi"] * S["theta"]).T * (S["y"] - S["Phi"] * S["theta"])), S["theta"])),
        ("logsumexp", "logsumexp(x)", "x", np.exp(x) / np.exp(x).sum(),
         lambda: (sp.log(sum(sp.exp(S["x"][i, 0]) for i in range(N))), S["x"])),
        ("logistic loss", "sum(log(1 + exp(-y * (X @ w))))", "w", -X.T @ (y * _sig(-y * (X @ w))),
         lambda: (sp.ones(1, N) * (sp.ones(N, 1) + sp.exp(-sp.HadamardProduct(S["y"], S["X"] * S["w"]))).applyfunc(sp.log), S["w"])),
        ("x'x Hessian", "x' @ x", "x", 2 * np.eye(N), lambda: ((S["x"].T * S["x"]), S["x"], 2)),
        ("tr(XX)", "tr(X @ X)", "X", 2 * X.T, lambda: (sp.Trace(S["X"] * S["X"]), S["X"])),
    ]  # fmt: skip
    return c


def _sympy_syms():
    S = {name: sp.MatrixSymbol(name, N, 1) for name in ("x", "a", "b", "y", "w", "theta")}
    S |= {name: sp.MatrixSymbol(name, N, N) for name in ("A", "X", "U", "V", "Phi")}
    S |= {"t": sp.Symbol("t"), "s": sp.Symbol("s")}
    return S


def _sympy_value(expr):
    subs = {}
    S = _sympy_syms()
    for name, sym in S.items():
        v = V[name]
        subs[sym] = (
            sp.ImmutableMatrix(np.atleast_2d(v).reshape(sym.shape)) if hasattr(sym, "shape") else v
        )
    out = expr.subs(subs).doit()
    if isinstance(out, sp.MatrixExpr):
        out = out.as_explicit()
    if hasattr(out, "tolist"):
        return np.array(out.tolist(), dtype=float)
    return np.array(float(out))


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    rows = []
    for name, text, wrt, closed, build in cases():
        order = 2 if "Hessian" in name else 1
        words = set(re.findall(r"[A-Za-z_]\w*", text))
        shapes = {k: v for k, v in SH.items() if k in words}

        def ours():
            return tc.derivative(tc.parse(text, shapes), wrt, order=order, layout="denominator")

        ms = median_ms(ours, args.repeat)
        d = ours()
        val = d.evaluate({k: v for k, v in V.items()})
        if closed is None:
            closed = _fd(text, shapes, wrt)
        ok = np.allclose(val, closed, rtol=1e-8, atol=1e-10)
        row = {"case": name, "tensorcalc_ms": ms, "tensorcalc_ok": bool(ok), "result": str(d)}
        if sp is not None:
            row |= _run_sympy(build, closed, args.repeat)
        rows.append(row)
    _print(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


def _fd(text, shapes, wrt, h=1e-6):
    f = tc.parse(text, shapes)
    return (float(f.evaluate(V | {wrt: V[wrt] + h})) - float(f.evaluate(V | {wrt: V[wrt] - h}))) / (
        2 * h
    )


def _run_sympy(build, closed, repeat):
    try:
        spec = build()
        expr, var = spec[0], spec[1]
        order = spec[2] if len(spec) > 2 else 1

        def diff():
            return sp.diff(expr, var, order) if order > 1 else sp.diff(expr, var)

        ms = median_ms(diff, max(3, repeat // 10))
        val = _sympy_value(diff())
        if val.size != np.size(closed):
            return {"sympy_ms": ms, "sympy": f"wrong shape {val.shape}"}
        good = np.allclose(val.reshape(np.shape(closed)), closed, rtol=1e-6, atol=1e-8)
        verdict = "ok" if good else ("WRONG: returns 0" if not np.any(val) else "WRONG VALUE")
        return {"sympy_ms": ms, "sympy": verdict}
    except Exception as err:  # noqa: BLE001 - we report what SymPy cannot do
        return {"sympy_ms": None, "sympy": f"fails: {type(err).__name__}"}


def _print(rows):
    have_sympy = "sympy" in rows[0]
    head = f"| {'case':28} | {'tensorcalc ms':>13} | ok |"
    head += f" {'SymPy ms':>9} | {'SymPy':24} | {'speed-up':>8} |" if have_sympy else ""
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        line = f"| {r['case']:28} | {r['tensorcalc_ms']:13.3f} | {'✓' if r['tensorcalc_ok'] else '✗':2} |"
        if have_sympy:
            sms = r["sympy_ms"]
            ratio = f"{sms / r['tensorcalc_ms']:7.1f}×" if sms else "       -"
            line += (
                f" {sms if sms is None else round(sms, 3)!s:>9} | {r['sympy']:24} | {ratio:>8} |"
            )
        print(line)
    med = statistics.median(r["tensorcalc_ms"] for r in rows)
    print(f"\ntensorcalc median parse+derive: {med:.3f} ms over {len(rows)} cases (goal < 10 ms); "
          f"all values correct: {all(r['tensorcalc_ok'] for r in rows)}")  # fmt: skip
    if have_sympy:
        bad = [r["case"] for r in rows if r["sympy"] != "ok"]
        sy = [r["sympy_ms"] for r in rows if r["sympy_ms"]]
        print(f"SymPy median derive: {statistics.median(sy):.3f} ms; wrong or unable: {len(bad)} of "
              f"{len(rows)} ({', '.join(bad)})")  # fmt: skip
    else:
        print("SymPy not installed: pip install '.[bench]' to compare")


if __name__ == "__main__":
    main()
