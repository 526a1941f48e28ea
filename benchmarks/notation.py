"""Does tensorcalc print derivatives the way an expert writes them?

    python benchmarks/notation.py [--quiet] [--json out.json]

For each of the Matrix Cookbook and machine-learning derivatives below (orders 1-3, result
ranks 0-4) it prints our result, the expert form (written by hand, from the Cookbook or a
textbook, in tensorcalc's input language), SymPy's result where SymPy's matrix calculus can do
it ("fails" where it raises, "0" where it wrongly gives zero), and whether ours is expert: the same
text after whitespace normalisation, or a token count within 1.2x of the expert's.  It also checks
that our result equals the expert form at random values (a wrong expert form would show here),
and counts results of rank <= 2 printed as an einsum.  Totals at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import signal

import numpy as np

import tensorcalc as tc
from tensorcalc.parse.lexer import tokenize

try:
    import sympy as sp
except ImportError:  # pragma: no cover - optional
    sp = None

# naming convention of the table: lower case vectors of length n, capitals n×n, except where a
# row says otherwise; s, t, p, q scalars
SHAPES = {v: "n" for v in "abcdeuvwxyz"} | {M: "n,n" for M in "ABCDSXYUV"}
SHAPES |= {"s": "", "t": "", "p": "", "q": ""}

# (input, wrt, order, expert form, extra shapes)
ROWS = [
    # -- Matrix Cookbook, scalar functions, first order -------------------------------------
    ("a' @ x", "x", 1, "a", ""),
    ("x' @ a", "x", 1, "a", ""),
    ("a' @ X @ b", "X", 1, "a @ b'", ""),
    ("a' @ X' @ b", "X", 1, "b @ a'", ""),
    ("a' @ X @ a", "X", 1, "a @ a'", ""),
    ("x' @ x", "x", 1, "2 * x", ""),
    ("x' @ A @ x", "x", 1, "(A + A') @ x", ""),
    ("x' @ A @ x", "A", 1, "x @ x'", ""),
    ("tr(X)", "X", 1, "eye(n)", ""),
    ("tr(A @ X)", "X", 1, "A'", ""),
    ("tr(X @ A)", "X", 1, "A'", ""),
    ("tr(A @ X @ B)", "X", 1, "A' @ B'", ""),
    ("tr(A @ X' @ B)", "X", 1, "B @ A", ""),
    ("tr(X' @ A)", "X", 1, "A", ""),
    ("tr(X @ X)", "X", 1, "2 * X'", ""),
    ("tr(X @ B @ X')", "X", 1, "X @ (B + B')", "X=m,n"),
    ("tr(X' @ B @ X)", "X", 1, "(B + B') @ X", "X=m,n B=m,m"),
    ("tr(X' @ X)", "X", 1, "2 * X", "X=m,n"),
    ("tr(X @ X')", "X", 1, "2 * X", "X=m,n"),
    ("tr(A @ X @ B @ X')", "X", 1, "A' @ X @ B' + A @ X @ B", "X=m,n A=m,m"),
    ("tr(X' @ B @ X @ C)", "X", 1, "B @ X @ C + B' @ X @ C'", ""),
    ("tr(X @ X @ X)", "X", 1, "3 * (X @ X)'", ""),
    ("det(X)", "X", 1, "det(X) * inv(X)'", ""),
    ("logdet(X)", "X", 1, "inv(X)'", ""),
    ("logdet(X' @ X)", "X", 1, "2 * X @ inv(X' @ X)", "X=m,n"),
    ("logdet(X @ X')", "X", 1, "2 * inv(X @ X') @ X", "X=n,m"),
    ("det(X' @ X)", "X", 1, "2 * det(X' @ X) * X @ inv(X' @ X)", "X=m,n"),
    ("logdet(A @ X @ B)", "X", 1, "inv(X)'", ""),
    ("tr(inv(X))", "X", 1, "-inv(X)' @ inv(X)'", ""),
    ("a' @ inv(X) @ b", "X", 1, "-inv(X)' @ a @ b' @ inv(X)'", ""),
    ("tr(A @ inv(X) @ B)", "X", 1, "-inv(X)' @ A' @ B' @ inv(X)'", ""),
    ("tr(inv(X' @ C @ X))", "X", 1,
     "-(C @ X @ M @ M + C' @ X @ M' @ M') where M = inv(X' @ C @ X)", "X=m,n C=m,m"),
    ("b' @ X' @ X @ c", "X", 1, "X @ (b @ c' + c @ b')", "X=m,n"),
    ("(A @ x + b)' @ C @ (D @ x + e)", "x", 1,
     "A' @ C @ (D @ x + e) + D' @ C' @ (A @ x + b)", ""),
    ("norm(x)^2", "x", 1, "2 * x", ""),
    ("norm(X)^2", "X", 1, "2 * X", ""),
    ("norm(x)", "x", 1, "x / norm(x)", ""),
    ("norm(x - a)", "x", 1, "(x - a) / norm(x - a)", ""),
    ("norm(A @ x - b)^2", "x", 1, "2 * A' @ (A @ x - b)", "A=m,n b=m"),
    ("norm(X - U @ V)^2", "U", 1, "-2 * (X - U @ V) @ V'", "X=m,n U=m,r V=r,n"),
    ("norm(X - U @ V)^2", "V", 1, "-2 * U' @ (X - U @ V)", "X=m,n U=m,r V=r,n"),
    ("(a' @ x)^2", "x", 1, "2 * (a' @ x) * a", ""),
    ("exp(a' @ x)", "x", 1, "exp(a' @ x) * a", ""),
    ("sqrt(x' @ x)", "x", 1, "x / norm(x)", ""),
    ("(x' @ A @ x) / (x' @ x)", "x", 1,
     "(A + A') @ x / (x' @ x) - 2 * (x' @ A @ x) * x / (x' @ x)^2", ""),
    ("x' @ A @ x + b' @ x", "x", 1, "(A + A') @ x + b", ""),
    ("tr(A @ X' @ X)", "X", 1, "X @ (A + A')", "X=m,n"),
    ("a' @ X @ X @ b", "X", 1, "a @ b' @ X' + X' @ a @ b'", ""),
    # -- elementwise and reductions -------------------------------------------------------
    ("sum(exp(x))", "x", 1, "exp(x)", ""),
    ("sum(log(x))", "x", 1, "1 / x", ""),
    ("sum(x * x)", "x", 1, "2 * x", ""),
    ("logsumexp(x)", "x", 1, "softmax(x)", ""),
    ("sum(sin(x))", "x", 1, "cos(x)", ""),
    ("a' @ tanh(x)", "x", 1, "a * (1 - tanh(x)^2)", ""),
    ("sum(sigmoid(x))", "x", 1, "sigmoid(x) * (1 - sigmoid(x))", ""),
    ("sum(softplus(x))", "x", 1, "sigmoid(x)", ""),
    ("logdet(diag(x))", "x", 1, "1 / x", ""),
    ("x' @ diag(a) @ x", "x", 1, "2 * a * x", ""),
    ("tr(diag(x) @ A)", "x", 1, "diag(A)", ""),
    ("sum(relu(z) * step(z))", "z", 1, "step(z)", ""),
    ("sum(abs(x))", "x", 1, "sign(x)", ""),
    ("sum(sqrt(x))", "x", 1, "1 / (2 * sqrt(x))", ""),
    # -- machine learning ------------------------------------------------------------------
    ("sum(log(1 + exp(-y * (X @ w))))", "w", 1, "-X' @ (sigmoid(-y * (X @ w)) * y)",
     "X=N,D w=D y=N"),
    ("norm(y - X @ w)^2", "w", 1, "-2 * X' @ (y - X @ w)", "X=N,D w=D y=N"),
    ("norm(y - X @ w)^2 + s * w' @ w", "w", 1, "2 * s * w - 2 * X' @ (y - X @ w)",
     "X=N,D w=D y=N"),
    ("sum(y * log(sigmoid(X @ w)))", "w", 1, "X' @ (y * (1 - sigmoid(X @ w)))",
     "X=N,D w=D y=N"),
    ("-y' @ log(softmax(W @ x))", "W", 1, "(sum(y) * softmax(W @ x) - y) @ x'", "W=k,n y=k"),
    ("norm(W2 @ relu(W1 @ x) - y)^2", "W2", 1, "2 * (W2 @ relu(W1 @ x) - y) @ relu(W1 @ x)'",
     "W1=h,n W2=o,h y=o"),
    ("norm(W2 @ relu(W1 @ x) - y)^2", "W1", 1,
     "2 * step(W1 @ x) * (W2' @ (W2 @ relu(W1 @ x) - y)) @ x'", "W1=h,n W2=o,h y=o"),
    ("norm(tanh(W @ x) - y)^2", "W", 1, "2 * (1 - tanh(W @ x)^2) * (tanh(W @ x) - y) @ x'",
     "W=k,n y=k"),
    ("sum(relu(X @ w))", "w", 1, "X' @ step(X @ w)", "X=N,D w=D"),
    ("logsumexp(W @ x)", "x", 1, "W' @ softmax(W @ x)", "W=k,n"),
    ("logsumexp(W @ x)", "W", 1, "softmax(W @ x) @ x'", "W=k,n"),
    ("sum(sigmoid(W @ x))", "x", 1, "W' @ (sigmoid(W @ x) * (1 - sigmoid(W @ x)))", "W=k,n"),
    ("(w' @ x - t)^2", "w", 1, "2 * (w' @ x - t) * x", ""),
    ("norm(X @ W - Y)^2", "W", 1, "2 * X' @ (X @ W - Y)", "X=N,D W=D,k Y=N,k"),
    ("norm(X @ W - Y)^2 + s * norm(W)^2", "W", 1, "2 * X' @ (X @ W - Y) + 2 * s * W",
     "X=N,D W=D,k Y=N,k"),
    # -- Jacobians (rank 2) ----------------------------------------------------------------
    ("A @ x", "x", 1, "A", "A=m,n"),
    ("A @ x + b", "x", 1, "A", "A=m,n b=m"),
    ("x - a", "x", 1, "eye(n)", ""),
    ("x * a", "x", 1, "diag(a)", ""),
    ("exp(x)", "x", 1, "diag(exp(x))", ""),
    ("tanh(x)", "x", 1, "diag(1 - tanh(x)^2)", ""),
    ("relu(x)", "x", 1, "diag(step(x))", ""),
    ("softmax(x)", "x", 1, "diag(softmax(x)) - softmax(x) @ softmax(x)'", ""),
    ("x / norm(x)", "x", 1, "eye(n) / norm(x) - x @ x' / norm(x)^3", ""),
    ("A @ tanh(x)", "x", 1, "A @ diag(1 - tanh(x)^2)", "A=m,n"),
    ("tanh(A @ x)", "x", 1, "diag(1 - tanh(A @ x)^2) @ A", "A=m,n"),
    ("sigmoid(W @ x)", "x", 1, "diag(sigmoid(W @ x) * (1 - sigmoid(W @ x))) @ W", "W=k,n"),
    ("(a' @ x) * x", "x", 1, "(a' @ x) * eye(n) + x @ a'", ""),
    ("(x' @ x) * x", "x", 1, "(x' @ x) * eye(n) + 2 * x @ x'", ""),
    ("inv(X) @ a", "a", 1, "inv(X)", ""),
    ("X' @ a", "a", 1, "X'", "X=n,m"),
    # -- Hessians and second derivatives (rank 2) -------------------------------------------
    ("x' @ A @ x", "x", 2, "A + A'", ""),
    ("norm(A @ x - b)^2", "x", 2, "2 * A' @ A", "A=m,n b=m"),
    ("(x' @ A @ x)^2", "x", 2,
     "2 * (x' @ A @ x) * (A + A') + 2 * (A + A') @ x @ x' @ (A + A')", ""),
    ("sum(exp(x))", "x", 2, "diag(exp(x))", ""),
    ("logsumexp(x)", "x", 2, "diag(softmax(x)) - softmax(x) @ softmax(x)'", ""),
    ("norm(x)", "x", 2, "eye(n) / norm(x) - x @ x' / norm(x)^3", ""),
    ("(a' @ x)^2", "x", 2, "2 * a @ a'", ""),
    ("exp(a' @ x)", "x", 2, "exp(a' @ x) * a @ a'", ""),
    ("sum(log(x))", "x", 2, "-diag(1 / x^2)", ""),
    ("log(x' @ A @ x)", "x", 2,
     "(A + A') / (x' @ A @ x) - (A + A') @ x @ x' @ (A + A') / (x' @ A @ x)^2", ""),
    ("norm(y - X @ w)^2", "w", 2, "2 * X' @ X", "X=N,D w=D y=N"),
    ("sum(log(1 + exp(-y * (X @ w))))", "w", 2,
     "X' @ diag(u * (1 - u) * y^2) @ X where u = sigmoid(-y * (X @ w))", "X=N,D w=D y=N"),
    ("x' @ x + a' @ x", "x", 2, "2 * eye(n)", ""),
    ("sum(x^3)", "x", 2, "6 * diag(x)", ""),
    # -- scalar calculus (rank 0) -----------------------------------------------------------
    ("sin(p) * exp(p)", "p", 1, "exp(p) * (cos(p) + sin(p))", ""),
    ("p^3", "p", 3, "6", ""),
    ("log(p)", "p", 3, "2 / p^3", ""),
    ("exp(-p^2)", "p", 1, "-2 * p * exp(-p^2)", ""),
    ("p^2 * q + p * q^3", "p", 1, "2 * p * q + q^3", ""),
    ("tanh(p)", "p", 2, "-2 * tanh(p) * (1 - tanh(p)^2)", ""),
    ("sigmoid(p)", "p", 1, "sigmoid(p) * (1 - sigmoid(p))", ""),
    ("1 / p", "p", 2, "2 / p^3", ""),
    ("log(p / q)", "q", 1, "-1 / q", ""),
    ("p / q", "q", 2, "2 * p / q^3", ""),
    # -- rank 3 and 4: index notation ------------------------------------------------------
    ("A @ x", "A", 1, 'einsum("ij,k->ijk", eye(m), x)', "A=m,n"),
    ("X @ a", "X", 1, 'einsum("ij,k->ijk", eye(n), a)', ""),
    ("x @ x'", "x", 1, 'einsum("ik,j->ijk", eye(n), x) + einsum("i,jk->ijk", x, eye(n))', ""),
    ("(x' @ x)^2", "x", 3,
     'einsum("ij,k->ijk", 8 * eye(n), x) + einsum("ik,j->ijk", 8 * eye(n), x)'
     ' + einsum("i,jk->ijk", 8 * x, eye(n))', ""),
    ("X' @ X", "X", 1,
     'einsum("ki,jl->ijkl", X, eye(n)) + einsum("il,kj->ijkl", eye(n), X)', "X=m,n"),
    ("inv(X)", "X", 1, '-einsum("ik,lj->ijkl", inv(X), inv(X))', ""),
    ("sum(x^4)", "x", 3, 'einsum("i,ij,ik->ijk", 24 * x, eye(n), eye(n))', ""),
    ("X @ X", "X", 1, 'einsum("ik,lj->ijkl", eye(n), X) + einsum("ik,lj->ijkl", X, eye(n))', ""),
]  # fmt: skip


def _shapes(extra):
    sh = dict(SHAPES)
    sh.update(dict(item.split("=") for item in extra.split()))
    return {k: tuple(x for x in v.split(",") if x) for k, v in sh.items()}


def tokens(text):
    return len(tokenize(text)) - 1


def is_expert(ours, expert):
    same = re.sub(r"\s+", "", ours) == re.sub(r"\s+", "", expert)
    return same or tokens(ours) <= 1.2 * tokens(expert)


SIZES = {"n": 3, "m": 4, "r": 2, "N": 5, "D": 3, "k": 2, "h": 4, "o": 2}


def _values(e, rng):
    out = {}
    for name, v in tc.expr.variables(e).items():
        shape = tuple(SIZES[d] if isinstance(d, str) else d for d in v.shape)
        a = rng.uniform(0.5, 1.5, shape)  # positive: log, sqrt and logdet are defined
        if len(shape) == 2:
            a = a * rng.choice([-1.0, 1.0], shape)
            if shape[0] == shape[1]:
                a = a + 4 * np.eye(shape[0])
        out[name] = a
    return out


def same_value(d, expert, shapes, f, rng):
    try:
        e = tc.parse(expert, shapes)
    except tc.TensorCalcError as err:
        return f"expert form does not parse: {err}"
    vals = _values(f, rng)
    a = d.evaluate(vals, dims=SIZES)
    b = e.evaluate(vals, dims=SIZES)
    return bool(np.allclose(a, b, rtol=1e-8, atol=1e-10))


# ----------------------------------------------------------------------------- SymPy


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def sympy_form(text, wrt, order, shapes):
    """SymPy's result for the row, 'fails' or '0'; its matrix calculus, symbolic sizes."""
    if sp is None:
        return "sympy not installed"
    dims = {}

    def sym(name, shape):
        if not shape:
            return sp.Symbol(name)
        size = [dims.setdefault(d, sp.Symbol(d, integer=True, positive=True)) for d in shape]
        return sp.MatrixSymbol(name, size[0], size[1] if len(size) > 1 else 1)

    names = set(re.findall(r"[A-Za-z_]\w*", text))
    funcs = {
        "tr": sp.Trace, "inv": sp.Inverse, "det": sp.Determinant,
        "logdet": lambda X: sp.log(sp.Determinant(X)), "exp": sp.exp, "log": sp.log,
        "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh, "sqrt": sp.sqrt,
        "norm": lambda v: sp.sqrt(sp.Trace(v.T * v)) if hasattr(v, "shape") else sp.Abs(v),
    }  # fmt: skip
    local = {n: sym(n, shapes.get(n, ())) for n in names if n not in funcs}
    local.update(funcs)
    src = text.replace("'", ".T").replace("@", "*").replace("^", "**")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        expr = sp.sympify(src, locals=local)
        if hasattr(expr, "shape") and expr.shape == (1, 1):
            expr = expr[0, 0] if not isinstance(expr, sp.MatrixSymbol) else expr
        for _ in range(order):
            expr = sp.diff(expr, local[wrt])
        out = str(expr)
        if "Derivative(" in out:  # left unevaluated
            return "fails"
        return "0" if out in ("0", "0*1") else out
    except (Exception, _Timeout):
        return "fails"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="totals only")
    ap.add_argument("--json", help="write the rows as JSON here")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    rows, ranks, orders = [], set(), set()
    for text, wrt, order, expert, extra in ROWS:
        shapes = _shapes(extra)
        f = tc.parse(text, shapes)
        d = tc.derivative(f, wrt, order=order)
        ours = str(d)
        row = {
            "input": text, "wrt": wrt, "order": order, "rank": d.ndim, "ours": ours,
            "expert": expert, "sympy": sympy_form(text, wrt, order, shapes),
            "expert_ok": is_expert(ours, expert), "equal": same_value(d, expert, shapes, f, rng),
            "einsum_at_rank_le_2": d.ndim <= 2 and "einsum" in ours,
            "latex": d.latex(),
        }  # fmt: skip
        rows.append(row)
        ranks.add(d.ndim)
        orders.add(order)
        if not args.quiet:
            mark = "expert" if row["expert_ok"] else "NOT EXPERT"
            print(f"d^{order}/d{wrt}^{order} [{text}]  (rank {d.ndim}, {mark})")
            print(f"    ours:   {ours}")
            print(f"    expert: {expert}")
            print(f"    sympy:  {row['sympy']}")
            if row["equal"] is not True:
                print(f"    VALUE DIFFERS FROM THE EXPERT FORM: {row['equal']}")
    n = len(rows)
    expert_ok = sum(r["expert_ok"] for r in rows)
    same = sum(re.sub(r"\s+", "", r["ours"]) == re.sub(r"\s+", "", r["expert"]) for r in rows)
    einsum_low = sum(r["einsum_at_rank_le_2"] for r in rows)
    equal = sum(r["equal"] is True for r in rows)
    sympy_ok = sum(r["sympy"] not in ("fails", "0", "sympy not installed") for r in rows)
    print()
    print(f"rows: {n} (orders {sorted(orders)}, result ranks {sorted(ranks)})")
    print(f"ours is the expert form: {expert_ok} of {n} (the same text: {same})")
    print(f"rank <= 2 results printed as einsum: {einsum_low}")
    print(f"ours equals the expert form at random values: {equal} of {n}")
    print(f"SymPy gives a result (not 'fails' or '0'): {sympy_ok} of {n}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
