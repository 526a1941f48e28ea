"""Hypothesis strategies for fuzzing: expression text, shape specs and values.

Expressions come from a small typed grammar over ``s, t`` (scalars), ``x, y`` (3-vectors)
and ``A, B`` (3×3 matrices), so most of them are valid and reach the derivative engine;
``mutated`` then breaks them the way people and tools do: a token inserted, dropped or
doubled, Unicode look-alikes, overflowing numbers and deep nesting.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import strategies as st

SHAPES = {"s": (), "t": (), "x": (3,), "y": (3,), "A": (3, 3), "B": (3, 3)}

SCALAR_FUNCS = [
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "log1p",
    "arctan",
    "sqrt",
    "log",
]
NUMBERS = ["0", "1", "2", "0.5", "3", "1e-3", "2.5e1", ".5"]
ODD_TOKENS = [
    "(", ")", "[", "]", ",", "'", ".T", "^", "**", "@", "*", "/", "+", "-", "=", ":", ".*", "./",
    '"', '"ij->"', "ｘ", "ｎ", "ﬁ", "fi", "Ⅸ", "IX", "x²", "²", "１", "θ", "ß", "ǅ", "\u0301",
    "\u200b", "\x00", "\n", "1e309", "1e308", "1e-400", "9" * 40, "9" * 400, "0^-1", "(-1)^0.5",
    "2^2000", "eye(", "sum(", "axis=", "einsum(", "select(", "ones(", "x[", "[0]", "[::-1]",
    "[1:2]", "inf", "nan", "NaN", "\\", "#", "$", "lambda", "__import__", "%", "~", "!",
]  # fmt: skip


@st.composite
def expression(draw, kind: str = "S", depth: int = 3) -> str:
    """A well-typed expression of ``kind`` S (scalar), V (3-vector) or M (3×3 matrix)."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(_LEAVES[kind]))
    sub = lambda k: expression(k, depth - 1)  # noqa: E731
    choice = draw(st.integers(0, len(_RULES[kind]) - 1))
    template, kinds = _RULES[kind][choice]
    args = [draw(sub(k)) for k in kinds]
    if "{f}" in template:
        return template.format(*args, f=draw(st.sampled_from(SCALAR_FUNCS)))
    return template.format(*args)


_LEAVES = {
    "S": ["s", "t", *NUMBERS, "sum(x)", "norm(x)", "x' @ y", "tr(A)", "x[0]"],
    "V": ["x", "y", "A @ x", "softmax(x)", "x[::-1]", "[1, 2, 3]"],
    "M": ["A", "B", "A'", "eye(3)", "outer(x, y)", "diag(x)"],
}
_RULES = {
    "S": [
        ("{0} + {1}", "SS"), ("{0} - {1}", "SS"), ("{0} * {1}", "SS"), ("{0} / (1 + {1}^2)", "SS"),
        ("-{0}", "S"), ("({0})", "S"), ("{f}({0})", "S"), ("{0}^2", "S"), ("{0}^3", "S"),
        ("sum({0})", "V"), ("norm({0})^2", "V"), ("{0}' @ {1}", "VV"), ("{0}' @ {1} @ {2}", "VMV"),
        ("tr({0})", "M"), ("det({0})", "M"), ("logsumexp({0})", "V"), ("sum({0} * {1})", "VV"),
        ("norm1({0})", "V"),
    ],
    "V": [
        ("{0} + {1}", "VV"), ("{0} - {1}", "VV"), ("{0} * {1}", "VV"), ("{0} * {1}", "SV"),
        ("{0} @ {1}", "MV"), ("{f}({0})", "V"), ("-{0}", "V"), ("softmax({0})", "V"),
        ("{0} / (2 + {1}^2)", "VV"), ("sum({0}, 0)", "M"), ("{0}[0:3]", "V"), ("diag({0})", "M"),
    ],
    "M": [
        ("{0} + {1}", "MM"), ("{0} @ {1}", "MM"), ("{0}'", "M"), ("{0} * {1}", "SM"),
        ("outer({0}, {1})", "VV"), ("{f}({0})", "M"), ("inv(eye(3) + {0}' @ {0} / 9)", "M"),
    ],
}  # fmt: skip


@st.composite
def mutated(draw) -> str:
    """A valid expression with one to four grammar-aware edits."""
    text = draw(expression(draw(st.sampled_from("SVM")), 3))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        edit = draw(st.integers(0, 5))
        if edit == 0:  # insert an odd token
            text = text[:pos] + draw(st.sampled_from(ODD_TOKENS)) + text[pos:]
        elif edit == 1:  # drop a span
            text = text[:pos] + text[pos + draw(st.integers(1, 4)) :]
        elif edit == 2:  # double a span
            end = pos + draw(st.integers(1, 6))
            text = text[:end] + text[pos:end] + text[end:]
        elif edit == 3:  # a Unicode look-alike for an ASCII letter (NFKC maps most back)
            text = text.translate(_LOOKALIKE) if draw(st.booleans()) else text.replace("fi", "ﬁ")
        elif edit == 4:  # wrap in deep nesting
            k = draw(st.sampled_from([2, 50, 99, 100, 101, 165]))
            wrap = draw(st.sampled_from(["(", "sin(", "-(", "sum("]))
            text = wrap * k + text + ")" * k
        else:  # a long flat chain
            k = draw(st.sampled_from([2, 3]))  # long chains of plain names: see `chains`
            text = draw(st.sampled_from(["+", "-", "*", "/", "@"])).join([text] * k)
    return text


_LOOKALIKE = str.maketrans({"x": "ｘ", "s": "ｓ", "A": "Ａ", "y": "ｙ"})

deep = st.builds(
    lambda k, w, c: w * k + "x" + c * k,
    st.integers(90, 200),
    st.sampled_from(["(", "exp(", "-(", "[", "x^"]),
    st.sampled_from([")", "]", ""]),
)
chains = st.builds(
    lambda op, k: op.join(["x"] * k), st.sampled_from(["+", "-", "*", "/", "@", "^"]),
    st.integers(1, 600),
)  # fmt: skip
odd_text = st.lists(
    st.one_of(st.sampled_from(ODD_TOKENS), st.characters(), st.sampled_from(list("xsA()+*'"))),
    max_size=30,
).map("".join)

texts = st.one_of(
    expression("S", 4), expression("V", 3), mutated(), mutated(), deep, chains, odd_text
)

dims = st.one_of(
    st.integers(-3, 6), st.sampled_from(["n", "ｎ", "m", "²", "1.5", "", "n,,n", "99999999"]),
    st.just(1.5), st.just(b"n"), st.just(np.int64(3)), st.just(None), st.just(True),
    st.integers(2**31, 2**70),
)  # fmt: skip
shape_specs = st.one_of(
    st.lists(dims, max_size=4).map(tuple), dims, st.text(max_size=12),
    st.just(tuple(range(1, 60))),
)  # fmt: skip

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.lists(st.floats(-10, 10), min_size=1, max_size=4).map(np.array),
    st.sampled_from([np.int8([100, 1, 1]), np.array([True, False, True]), np.uint8([250, 3, 9]),
                     np.float32([1, 2, 3]), np.array(["a", "b", "c"]), np.array([1 + 1j, 2, 3]),
                     np.array([np.nan, np.inf, -np.inf]), np.zeros((3, 3)), np.array([[1, 2], [3]], dtype=object)]),
)  # fmt: skip


# ------------------------------------------------------------------ the whole language, sized
#
# ``language(kind)`` covers every function and constructor of the grammar (``parse.lower``):
# the elementwise functions, tr/trace, det, logdet, inv, solve, norm/norm1/norm2, unit, diag,
# transpose, swapaxes, outer, dot, einsum, sum/mean/softmax/logsumexp over all entries and along an
# axis, cholesky, phi, eigvalsh, eigvecsh, svdvals, norm_nuc, pinv, matrix_power, reshape,
# vec, kron, commutation, expm, expm_frechet,
# ones/zeros/eye/select, vector(c)/matrix(c), literals, selections (on the concrete axes of
# ``C`` and ``c``), and powers of every kind: integer, negative, fractional, a variable exponent,
# a constant base, and powers of dimension-valued constants (Σ 1 = n).  Dimensions appear as
# the names ``n`` and ``m``; ``sized`` binds them to names (``LANGUAGE_SYMBOLIC``) or to ints
# (``LANGUAGE_CONCRETE``, with the names inside ones/zeros/eye rewritten to the same ints).

LANGUAGE_SYMBOLIC = {
    "s": (), "t": (), "x": ("n",), "y": ("n",), "z": ("m",), "A": ("n", "n"), "B": ("n", "n"),
    "X": ("m", "n"), "C": (4, "n"), "c": (4,),
}  # fmt: skip
CONCRETE_DIMS = {"n": 3, "m": 2}
LANGUAGE_CONCRETE = {
    k: tuple(CONCRETE_DIMS.get(d, d) for d in v) for k, v in LANGUAGE_SYMBOLIC.items()
}
LANGUAGE_FUNCS = SCALAR_FUNCS + ["tanh", "arctan", "sigmoid", "abs", "relu", "cos"]
DIM_COUNTS = [
    "sum(ones(n))", "sum(ones(m))", "tr(eye(n))", "trace(eye(m))", "sum(ones(n, n))",
    "sum(ones(m, n))", "mean(ones(n))", "norm(ones(n))", "sum(eye(n))", "ones(n)' @ ones(n)",
]  # fmt: skip

_LANG_LEAVES = {
    "S": ["s", "t", "2", "0.5", "c[0]", "sum(c[1:3])", "x' @ y", "sum(x)", "mean(z)", *DIM_COUNTS],
    "V": ["x", "y", "ones(n)", "C[0]", "x + zeros(n)", "vector(2) + y", "C[::-1]' @ c",
          "sum(C[1:3], 0)", "softmax(x)", "eye(n) @ x"],
    "W": ["z", "X @ x", "ones(m)", "mean(X, 1)"],
    "M": ["A", "B", "A'", "eye(n)", "outer(x, y)", "diag(x)", "ones(n, n)", "matrix(0.5) * B"],
    "R": ["X", "outer(z, x)", "ones(m, n)", "z @ y'"],
    "P": ["c", "c[::-1]", "[1, 2, 0.5, -1]", "C @ x", "select(4, 4, 0, 1) @ c"],
}  # fmt: skip
_LANG_RULES = {
    "S": [
        ("{0} + {1}", "SS"), ("{0} - {1}", "SS"), ("{0} * {1}", "SS"), ("{0} / (1 + {1}^2)", "SS"),
        ("-{0}", "S"), ("{f}({0})", "S"), ("{0}^2", "S"), ("{0}^3", "S"), ("(1 + {0}^2)^-1", "S"),
        ("(1 + {0}^2)^0.5", "S"), ("(1 + {0}^2)^-1.5", "S"), ("(1 + {0}^2)^{1}", "SS"),
        ("2^{0}", "S"), ("{0} ** 2", "S"), ("{0} / {1}", "SS"),
        ("sum({0})", "V"), ("mean({0})", "V"), ("mean({0})", "W"), ("mean({0})", "M"),
        ("mean({0})", "R"), ("sum({0})", "R"), ("norm({0})", "V"), ("norm({0})^2", "V"),
        ("norm({0})^-1", "V"), ("norm({0})^3", "V"), ("norm2({0})", "M"), ("norm1({0})", "V"),
        ("{0}' @ {1}", "VV"), ("dot({0}, {1})", "WW"), ("{0}' @ {1} @ {2}", "VMV"),
        ("{0}' @ {1} @ {2}", "WRV"), ("tr({0})", "M"), ("trace({0} @ {1})", "MM"),
        ("det({0})", "M"), ("logdet(eye(n) + {0}' @ {0})", "M"), ("logdet(eye(m) + {0} @ {0}')", "R"),
        ("logsumexp({0})", "V"), ("logsumexp({0})", "R"), ("sum({0} * {1})", "VV"),
        ("{0}' @ ({0} / norm({0}))", "V"), ("sum({0} * {0} / norm({0}))", "V"),
        ("{0} * {1}", "SS"), ("{1}^2 * {0}", "SS"), ("({1} * {0})^-1", "SS"), ("{0} / {1}", "SS"),
        ("mean(({0} - mean({0}))^2)", "V"), ("mean({0}, 0)' @ mean({0}, 0)", "R"),
        ("{0}' @ unit({1})", "VV"), ("{0}[0]", "P"), ("sum({0}[1:3])", "P"),
        ("einsum(\"ij,j->\", {0}, {1})", "MV"), ("norm({0} - {1})", "PP"),
        ("tan(tanh({0}) / 2)", "S"), ("arccos(tanh({0}) / 2)", "S"), ("sign(2 + tanh({0})) * {0}", "S"),
        ("sum(log(diag(cholesky(eye(n) + {0}' @ {0}))))", "M"), ("sum(svdvals(reshape({0}, (2, 2))))", "P"),
        ("norm_nuc(reshape({0}, (2, 2)))", "P"), ("sum(pinv(X + {0}) * {1}')", "RR"),
        ("sum(svdvals(A + {0}))", "M"), ("norm_nuc(A + {0})", "M"),
        ("sum(reshape({0}, (2, 2)) @ reshape({0}, (2, 2))')", "P"),
        ("kron({0}, {1}) @ kron({1}, {0})", "PP"),
        ("tr(expm({0} / (1 + norm({0}))))", "M"),
    ],
    "V": [
        ("{0} + {1}", "VV"), ("{0} - {1}", "VV"), ("{0} * {1}", "VV"), ("{0} * {1}", "SV"),
        ("{0} @ {1}", "MV"), ("{0}' @ {1}", "RW"), ("{f}({0})", "V"), ("-{0}", "V"),
        ("softmax({0})", "V"), ("{0} / (2 + {1}^2)", "VV"), ("sum({0}, 0)", "M"),
        ("sum({0}, 1)", "M"), ("mean({0}, 0)", "M"), ("mean({0}, 1)", "M"), ("mean({0}, 0)", "R"),
        ("diag({0})", "M"), ("unit({0})", "V"), ("{0} / norm({0})", "V"), ("{0} - mean({0})", "V"),
        ("({0} - mean({0})) / (mean(({0} - mean({0}))^2) + 1)^0.5", "V"),
        ("{0} + vector({1})", "VS"), ("(1 + {0}^2)^-1", "V"), ("(1 + {0}^2)^0.5", "V"),
        ("(1 + {0}^2)^{1}", "VS"), ("2^{0}", "V"), ("{0}^2", "V"), ("{0}^3", "V"),
        ("solve(eye(n) + {0}' @ {0}, {1})", "MV"), ("logsumexp({0}, 0)", "R"),
        ("logsumexp({0}, 1)", "M"), ("{0}' @ C", "P"), ("C[1] * {0}", "V"),
        ("einsum(\"ij,i->j\", {0}, {1})", "RW"), ("{0} * sum(ones(n))", "V"),
        ("{0} / sum(ones(n))", "V"), ("ones(n) * {0}", "S"), ("zeros(n) + {0}", "V"),
        ("transpose({0}) @ {1}", "MV"),
        ("arcsin(tanh({0}) / 2)", "V"), ("step(2 + tanh({0})) * {0}", "V"),
        ("eigvalsh(A + A' + diag({0}))", "V"), ("eigvecsh(A + A') @ {0}", "V"),
        ("sum(reshape(outer(c, {0}), (2, 2, -1)), (0, 1))", "V"), ("vec({0})", "V"),
    ],
    "W": [
        ("{0} + {1}", "WW"), ("{0} * {1}", "SW"), ("{0} @ {1}", "RV"), ("{f}({0})", "W"),
        ("sum({0}, 1)", "R"), ("mean({0}, 1)", "R"), ("logsumexp({0}, 1)", "R"),
        ("{0} - mean({0})", "W"), ("softmax({0})", "W"), ("{0} * {1}", "WW"),
    ],
    "M": [
        ("{0} + {1}", "MM"), ("{0} @ {1}", "MM"), ("{0}'", "M"), ("{0} * {1}", "SM"),
        ("outer({0}, {1})", "VV"), ("{f}({0})", "M"), ("inv(eye(n) + {0}' @ {0})", "M"),
        ("diag({0})", "V"), ("{0} * eye(n)", "S"), ("softmax({0}, 1)", "M"), ("softmax({0}, 0)", "M"),
        ("softmax({0})", "M"), ("{0}' @ {0}", "R"), ("{0} * {1}", "MM"), ("{0} - mean({0})", "M"),
        ("{0} / (2 + {1}^2)", "MM"), ("einsum(\"ij,jk->ik\", {0}, {1})", "MM"),
        ("transpose({0})", "M"), ("{0} * ones(n, n)", "S"), ("{0} @ {0}'", "M"),
        ("{0} - outer(ones(n), mean({0}, 0))", "M"),
        ("matrix_power({0}, 2)", "M"), ("matrix_power(eye(n) + {0}' @ {0}, -1)", "M"),
        ("phi({0})", "M"), ("swapaxes({0}, 0, 1)", "M"),
        ("expm_frechet({0} / (1 + norm({0})), {1})", "MM"),
    ],
    "R": [
        ("{0} + {1}", "RR"), ("{0} * {1}", "SR"), ("outer({0}, {1})", "WV"), ("{f}({0})", "R"),
        ("{0} @ {1}", "RM"), ("softmax({0}, 1)", "R"), ("{0} - mean({0})", "R"),
        ("{0} - outer(ones(m), mean({0}, 0))", "R"), ("{0} - outer(mean({0}, 1), ones(n))", "R"),
        ("{0} * {1}", "RR"),
    ],
    "P": [
        ("{0} + {1}", "PP"), ("{0} * {1}", "SP"), ("{f}({0})", "P"), ("{0}[::-1]", "P"),
        ("C @ {0}", "V"), ("softmax({0})", "P"), ("{0} - mean({0})", "P"),
        ("vec(reshape({0}, (2, 2)))", "P"), ("commutation(2, 2) @ {0}", "P"),
        ("kron(reshape({0}, (2, 2)), reshape({1}, (2, 2))) @ {2}", "PPP"),
    ],
}  # fmt: skip


@st.composite
def language(draw, kind: str = "S", depth: int = 3) -> str:
    """A well-typed expression of ``kind`` over ``LANGUAGE_SYMBOLIC``'s variables: S (scalar),
    V (n), W (m), M (n×n), R (m×n), P (4): see the table above."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(_LANG_LEAVES[kind]))
    choice = draw(st.integers(0, len(_LANG_RULES[kind]) - 1))
    template, kinds = _LANG_RULES[kind][choice]
    args = [draw(language(k, depth - 1)) for k in kinds]
    args = [f"({a})" if re.search(r"[ ^'-]", a) else a for a in args]  # as a user would
    if "{f}" in template:
        return template.format(*args, f=draw(st.sampled_from(LANGUAGE_FUNCS)))
    return template.format(*args)


_DIM_CALL = re.compile(r"\b(ones|zeros|eye)\(([^()]*)\)")


def concrete_text(text: str) -> str:
    """``text`` with the dimension names inside ones/zeros/eye as ``CONCRETE_DIMS``' ints."""
    return _DIM_CALL.sub(
        lambda m: (
            f"{m[1]}({', '.join(str(CONCRETE_DIMS.get(d.strip(), d.strip())) for d in m[2].split(','))})"
        ),
        text,
    )


@st.composite
def sized(draw, kind: str | None = None, depth: int = 3):
    """``(text, shapes)``: an expression of the whole language with symbolic dimensions or,
    as often, with concrete ones."""
    text = draw(language(kind or draw(st.sampled_from("SSSVWMRP")), depth))
    if draw(st.booleans()):
        return text, LANGUAGE_SYMBOLIC
    return concrete_text(text), LANGUAGE_CONCRETE
