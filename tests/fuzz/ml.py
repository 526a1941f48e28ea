"""Random expressions from ML building blocks, rendered twice: as tensorcalc text and as NumPy.

``random_case(rng)`` builds a scalar expression from means, sums, norms, inner products,
dimension counts (``sum(ones(n))``, ``tr(eye(n))``), powers, quotients, exp, log, softmax,
logsumexp, sigmoid and softplus over ``x, y`` (length n), ``X`` (N×n), ``t`` (N) and ``s``
(a scalar), and returns its text and an independent NumPy function of the values (which knows
the sizes only from the arrays).  ``check_case`` compares, at symbolic sizes bound to random
distinct ints: the value (``evaluate`` and, when asked, compiled code) with the NumPy value,
and the gradient by a random variable, as returned and as printed and parsed back, with
central differences of the NumPy function (and, when asked, the Hessian with second
differences).  ``run_one(seed)`` is one input of the long campaign
(``python -m tests.fuzz --ml``); ``tests/test_random_ml.py`` runs 500 in CI.

>>> text, fn = random_case(np.random.default_rng(0))
>>> isinstance(text, str) and callable(fn)
True
"""

from __future__ import annotations

import re
import warnings

import numpy as np

import tensorcalc as tc

SHAPES = {"x": ("n",), "y": ("n",), "X": ("N", "n"), "t": ("N",), "s": ()}


def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def _lse(v):
    m = v.max()
    return m + np.log(np.exp(v - m).sum())


# kind -> leaves: (text, numpy function of the values dict)
LEAVES = {
    "S": [
        ("s", lambda e: e["s"]), ("0.5", lambda e: 0.5), ("2", lambda e: 2.0),
        ("sum(ones(n))", lambda e: float(len(e["x"]))), ("sum(ones(N))", lambda e: float(len(e["t"]))),
        ("tr(eye(n))", lambda e: float(len(e["x"]))), ("sum(ones(N, n))", lambda e: float(e["X"].size)),
        ("mean(x)", lambda e: np.mean(e["x"])), ("norm(x)", lambda e: np.linalg.norm(e["x"])),
        ("x' @ y", lambda e: e["x"] @ e["y"]), ("mean(t)", lambda e: np.mean(e["t"])),
    ],
    "V": [("x", lambda e: e["x"]), ("y", lambda e: e["y"]), ("ones(n)", lambda e: np.ones(len(e["x"])))],
    "B": [("t", lambda e: e["t"]), ("X @ x", lambda e: e["X"] @ e["x"]), ("ones(N)", lambda e: np.ones(len(e["t"])))],
    "M": [("X", lambda e: e["X"])],
}  # fmt: skip

# kind -> (template, argument kinds, numpy combinator of the arguments' values; None: the
# combinator needs the sizes too and is in `_scale_by_count`)
RULES = {
    "S": [
        ("{0} + {1}", "SS", lambda a, b: a + b), ("{0} - {1}", "SS", lambda a, b: a - b),
        ("{0} * {1}", "SS", lambda a, b: a * b), ("{0} / (1 + {1}^2)", "SS", lambda a, b: a / (1 + b**2)),
        ("{0}^2", "S", lambda a: a**2), ("{0}^3", "S", lambda a: a**3),
        ("(1 + {0}^2)^-1", "S", lambda a: 1 / (1 + a**2)), ("(1 + {0}^2)^0.5", "S", lambda a: np.sqrt(1 + a**2)),
        ("(1 + {0}^2)^-0.5", "S", lambda a: (1 + a**2) ** -0.5), ("exp(tanh({0}))", "S", lambda a: np.exp(np.tanh(a))),
        ("log(1 + {0}^2)", "S", lambda a: np.log(1 + a**2)), ("sigmoid({0})", "S", lambda a: 1 / (1 + np.exp(-a))),
        ("mean({0})", "V", np.mean), ("sum({0})", "V", np.sum), ("mean({0})", "B", np.mean),
        ("mean({0})", "M", np.mean), ("norm({0})", "V", np.linalg.norm),
        ("norm({0})^2", "V", lambda a: a @ a), ("{0}' @ {1}", "VV", lambda a, b: a @ b),
        ("mean({0}^2)", "B", lambda a: np.mean(a**2)), ("mean({0})^2", "B", lambda a: np.mean(a) ** 2),
        ("logsumexp({0})", "V", _lse), ("mean(log(1 + exp({0})))", "B", lambda a: np.mean(np.logaddexp(0, a))),
        ("sum(ones(n))^2 * {0}", "S", None), ("{0} / sum(ones(N))", "S", None),
        ("(sum(ones(n)) * (1 + {0}^2))^-1", "S", None), ("(tr(eye(n)) * (1 + {0}^2))^0.5", "S", None),
        ("mean({0}, 0)' @ mean({0}, 0)", "M", lambda a: a.mean(0) @ a.mean(0)),
        ("mean({0}, 1)' @ mean({0}, 1)", "M", lambda a: a.mean(1) @ a.mean(1)),
        ("{0}' @ ({0} / (1 + norm({0})))", "V", lambda a: a @ a / (1 + np.linalg.norm(a))),
        ("sum({0} * {0} / norm({0}))", "V", lambda a: np.linalg.norm(a)),
        ("mean(({0} - mean({0}))^2)", "V", lambda a: np.var(a)),
        ("mean(({0} - mean({0}))^2)", "B", lambda a: np.var(a)),
        ("sum(softmax({0}) * {1})", "VV", lambda a, b: _softmax(a) @ b),
    ],
    "V": [
        ("{0} + {1}", "VV", lambda a, b: a + b), ("{0} - {1}", "VV", lambda a, b: a - b),
        ("{0} * {1}", "VV", lambda a, b: a * b), ("{0} * {1}", "SV", lambda a, b: a * b),
        ("{0} - mean({0})", "V", lambda a: a - a.mean()), ("{0} / norm({0})", "V", lambda a: a / np.linalg.norm(a)),
        ("softmax({0})", "V", _softmax), ("tanh({0})", "V", np.tanh), ("exp(-{0}^2)", "V", lambda a: np.exp(-(a**2))),
        ("log(1 + {0}^2)", "V", lambda a: np.log(1 + a**2)), ("{0} / sum(ones(n))", "V", None),
        ("{0}' @ {1} / sum(ones(N))", "MB", None), ("mean({0}, 0)", "M", lambda a: a.mean(0)),
        ("{0}^2", "V", lambda a: a**2), ("sigmoid({0})", "V", lambda a: 1 / (1 + np.exp(-a))),
        ("{0} / (1 + {1}^2)", "VS", lambda a, b: a / (1 + b**2)),
    ],
    "B": [
        ("{0} - {1}", "BB", lambda a, b: a - b), ("{0} * {1}", "BB", lambda a, b: a * b),
        ("{0} * {1}", "SB", lambda a, b: a * b), ("{0} @ {1}", "MV", lambda a, b: a @ b),
        ("{0} - mean({0})", "B", lambda a: a - a.mean()), ("softplus({0})", "B", lambda a: np.logaddexp(0, a)),
        ("mean({0}, 1)", "M", lambda a: a.mean(1)), ("tanh({0})", "B", np.tanh),
        ("logsumexp({0}, 1)", "M", lambda a: np.array([_lse(r) for r in a])),
    ],
    "M": [
        ("{0} - ones(N) @ mean({0}, 0)'", "M", lambda a: a - a.mean(0)), ("{0} * {1}", "SM", lambda a, b: a * b),
        ("tanh({0})", "M", np.tanh), ("softmax({0}, 1)", "M", lambda a: np.array([_softmax(r) for r in a])),
    ],
}  # fmt: skip


def _scale_by_count(template):
    """The numpy side of rules whose text multiplies or divides by a dimension count."""
    return {
        "sum(ones(n))^2 * {0}": lambda e, a: len(e["x"]) ** 2 * a,
        "{0} / sum(ones(N))": lambda e, a: a / len(e["t"]),
        "(sum(ones(n)) * (1 + {0}^2))^-1": lambda e, a: 1 / (len(e["x"]) * (1 + a**2)),
        "(tr(eye(n)) * (1 + {0}^2))^0.5": lambda e, a: np.sqrt(len(e["x"]) * (1 + a**2)),
        "{0} / sum(ones(n))": lambda e, a: a / len(e["x"]),
        "{0}' @ {1} / sum(ones(N))": lambda e, a, b: a.T @ b / len(e["t"]),
    }.get(template)


def random_expr(rng, kind: str = "S", depth: int = 3):
    """``(text, fn)``: a random expression of ``kind`` and its NumPy twin ``fn(values)``."""
    if depth <= 0 or rng.integers(4) == 0:
        leaves = LEAVES[kind]
        return leaves[int(rng.integers(len(leaves)))]
    rules = RULES[kind]
    template, kinds, combine = rules[int(rng.integers(len(rules)))]
    parts = [random_expr(rng, k, depth - 1) for k in kinds]
    text = template.format(*(f"({p[0]})" if re.search(r"[ ^']", p[0]) else p[0] for p in parts))
    counted = _scale_by_count(template)
    if counted is not None:
        return text, lambda e: counted(e, *(p[1](e) for p in parts))
    return text, lambda e: combine(*(p[1](e) for p in parts))


def random_case(rng, depth: int = 3):
    """A random scalar ML expression: ``(text, fn)``."""
    return random_expr(rng, "S", depth)


def values(rng) -> dict:
    """Random values at random distinct sizes n and N (2 to 6)."""
    n, N = (int(k) for k in rng.choice(np.arange(2, 7), size=2, replace=False))
    return {
        "x": rng.uniform(-1.5, 1.5, n), "y": rng.uniform(-1.5, 1.5, n),
        "X": rng.uniform(-1.5, 1.5, (N, n)), "t": rng.uniform(-1.5, 1.5, N),
        "s": np.float64(rng.uniform(-1.5, 1.5)),
    }  # fmt: skip


def _central(fn, point, wrt, h):
    x0 = np.asarray(point[wrt], dtype=float)
    out = np.zeros(x0.shape)
    for idx in np.ndindex(*x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += h
        xm[idx] -= h
        out[idx] = (fn({**point, wrt: xp}) - fn({**point, wrt: xm})) / (2 * h)
    return out


def _second(fn, point, wrt, h):
    """Second central differences of ``fn`` in ``wrt``: shape ``wrt.shape * 2``."""
    x0 = np.asarray(point[wrt], dtype=float)
    idx = list(np.ndindex(*x0.shape))
    out = np.zeros(x0.shape * 2)
    for i in idx:
        for j in idx:
            v = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                x = x0.copy()
                x[i] += si * h
                x[j] += sj * h
                v.append(fn({**point, wrt: x}))
            out[i + j] = (v[0] - v[1] - v[2] + v[3]) / (4 * h * h)
    return out


def _hessian_gap(f, fn, point, own, wrt, dims) -> str | None:
    """Where the Hessian by ``wrt`` disagrees with stable second differences of ``fn``."""
    exact = np.asarray(tc.evaluate(tc.derivative(f, wrt, order=2), own, dims=dims), dtype=float)
    c1, c2 = _second(fn, point, wrt, 1e-4), _second(fn, point, wrt, 2e-4)
    if not np.all(np.isfinite(c1)) or np.any(np.abs(c1 - c2) > 1e-3 * (1 + np.abs(c1))):
        return None
    scale = max(1.0, float(np.max(np.abs(c1))))
    rounding = 16 * np.finfo(float).eps * abs(fn(point)) / 1e-8  # of |f| in a difference at h²
    tol = 1e-3 * np.abs(c1) + 1e-4 * scale + rounding
    if exact.shape == c1.shape and np.all(np.abs(exact - c1) <= tol):
        return None
    return f"max |H - second differences| {np.max(np.abs(exact - c1)):.3g} (|H| up to {scale:.3g})"


def check_case(text, fn, point, rng, compiled=False, hessian=False) -> tuple[str, str]:
    """``(outcome, message)``: ``ok``, ``skip`` (f not finite or not smooth here), or a finding:
    ``value`` (evaluate or compiled f disagrees with NumPy), ``gradient`` (the derivative),
    ``printed-gradient`` (the derivative as printed and parsed back), ``hessian`` (with
    ``hessian=True``, against second differences) or ``error:<type>``."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = float(fn(point))
        if not np.isfinite(want) or abs(want) > 1e8:
            return "skip", ""
        dims = {"n": len(point["x"]), "N": len(point["t"])}
        try:
            f = tc.parse(text, SHAPES)
            own = {k: point[k] for k in tc.expr.variables(f)}  # (interned nodes carry notes)
            got = float(tc.evaluate(f, own, dims=dims))
            names = sorted(tc.expr.variables(f))
            if not names:
                return "ok", ""
            wrt = names[int(rng.integers(len(names)))]
            d = tc.derivative(f, wrt)
            exact = np.asarray(tc.evaluate(d, own, dims=dims), dtype=float)
            printed = tc.parse(str(d), SHAPES)
            again = np.asarray(tc.evaluate(printed, own, dims=dims), dtype=float)
            if compiled:
                cf, cd = tc.compile([f, d])(dims, **own)
        except tc.TensorCalcError as err:
            return f"error:{type(err).__name__}", f"{text!r}: {str(err).splitlines()[0]}"
        if not np.isclose(got, want, rtol=1e-8, atol=1e-10):
            return "value", f"{text!r}: evaluate gives {got!r}, NumPy {want!r}"
        if compiled and not np.isclose(float(cf), want, rtol=1e-8, atol=1e-10):
            return "value", f"{text!r}: compiled gives {float(cf)!r}, NumPy {want!r}"
        c1, c2 = _central(fn, point, wrt, 1e-5), _central(fn, point, wrt, 1e-6)
        if not np.all(np.isfinite(c1)) or np.any(np.abs(c1 - c2) > 1e-4 * (1 + np.abs(c1))):
            return "skip", ""
        tol = 1e-5 * (1 + np.abs(c1)) + 1e-9 * abs(want)
        sizes = f"n={dims['n']}, N={dims['N']}"
        for label, g in [("gradient", exact), ("printed-gradient", again)] + (
            [("compiled-gradient", np.asarray(cd, dtype=float))] if compiled else []
        ):
            if g.shape != c1.shape or np.any(~(np.abs(g - c1) <= tol)):
                k = int(np.argmax(np.abs(g - c1))) if g.shape == c1.shape else None
                where = (
                    f"entry {k}: {g.ravel()[k]!r} vs {c1.ravel()[k]!r}"
                    if k is not None
                    else "shape"
                )
                return label, f"{text!r} d/d{wrt} = {str(d)[:300]!r} ({sizes}): {where}"
        if hessian and (gap := _hessian_gap(f, fn, point, own, wrt, dims)):
            return "hessian", f"{text!r} d²/d{wrt}² ({sizes}): {gap}"
    return "ok", ""


FINDINGS = ("value", "gradient", "printed-gradient", "compiled-gradient", "hessian", "error:")


def run_one(seed: int, compiled: bool = False, hessian: bool = False) -> tuple[str, str, str]:
    """One input of the campaign: ``(outcome, message, text)`` for the case of ``seed``."""
    rng = np.random.default_rng(seed)
    text, fn = random_case(rng)
    point = values(rng)
    outcome, message = check_case(text, fn, point, rng, compiled=compiled, hessian=hessian)
    return outcome, message, text
