"""Hypothesis strategies for fuzzing: expression text, shape specs and values.

Expressions come from a small typed grammar over ``s, t`` (scalars), ``x, y`` (3-vectors)
and ``A, B`` (3×3 matrices), so most of them are valid and reach the derivative engine;
``mutated`` then breaks them the way people and tools do: a token inserted, dropped or
doubled, Unicode look-alikes, overflowing numbers and deep nesting.
"""

from __future__ import annotations

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
