"""Evaluation order (``codegen.paths``): factoring a shared factor out of a sum is chosen by
the flop count at the actual sizes, flips where the count says it should, and never changes a
value, whatever the factor's indices do (transposed, on a diagonal, elementwise, outer)."""

from __future__ import annotations

import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.build import einsum, var
from tensorcalc.codegen.paths import binarize, factor_sums
from tensorcalc.expr import node, postorder
from tensorcalc.ops import Op

A, B = var("A", ("n", "n")), var("B", ("n", "n"))
XR, XL = var("X", ("n", "m")), var("X", ("m", "n"))


def _sum(*terms):
    """A sum of products as the simplifier's distributed forms have it (built raw, so that the
    canonical constructors do not factor it first)."""
    return node(Op.ADD, tuple(einsum(t, out) for t, out in terms))


LEFT = _sum(([(A, "ij"), (XR, "jk")], "ik"), ([(B, "ij"), (XR, "jk")], "ik"))  # A @ X + B @ X
RIGHT = _sum(([(XL, "ij"), (A, "jk")], "ik"), ([(XL, "ij"), (B, "jk")], "ik"))  # X @ A + X @ B


def _normal_gradient():
    """d/dX of ‖AX‖² + ‖BX‖²: the simplifier gives 2 (A'AX + B'BX), distributed."""
    f = tc.parse(
        "norm(A @ X)^2 + norm(B @ X)^2", {"A": ("k", "n"), "B": ("k", "n"), "X": ("n", "m")}
    )
    return tc.derivative(f, "X")


def _sides(n, m, k):
    """(distributed, factored) flop counts of the three sums, as paths.cost counts them: a
    pairwise product costs the product of its index sizes, a sum of j arrays of size s (j+1) s."""
    mat = (2 * n * n * m + 3 * n * m, 3 * n * n + n * n * m)  # A X + B X vs (A + B) X
    term = min(2 * k * n * m, k * n * n + n * n * m)  # A'AX in its best order
    normal = (2 * term + 3 * n * m, 2 * k * n * n + 3 * n * n + n * n * m)
    return {"left": mat, "right": mat, "normal": normal}


# (sum, n, m, k, factored): (A + B) X is cheaper from m = 3 on at n = 100 (3n² + n²m against
# 2n²m + 3nm); (A'A + B'B) X from m = 67 on at n = k = 100; a vector keeps the distributed form
FLIPS = [
    ("left", 100, 1, 0, False),
    ("left", 100, 2, 0, False),
    ("left", 100, 3, 0, True),
    ("left", 100, 50, 0, True),
    ("right", 100, 2, 0, False),
    ("right", 100, 3, 0, True),
    ("normal", 100, 50, 100, False),
    ("normal", 100, 66, 100, False),
    ("normal", 100, 67, 100, True),
    ("normal", 100, 500, 100, True),
]


@pytest.mark.parametrize("which,n,m,k,factored", FLIPS)
def test_factoring_flips_where_the_flop_count_says(which, n, m, k, factored, rng):
    distributed_cost, factored_cost = _sides(n, m, k)[which]
    assert (factored_cost < distributed_cost) == factored  # the table agrees with the count
    expr = {"left": LEFT, "right": RIGHT, "normal": _normal_gradient()}[which]
    (g,) = binarize([expr], {"n": n, "m": m, "k": k})
    X = XL if which == "right" else XR
    shared = [e for e in postorder([g]) if e.op is Op.EINSUM and X in e.args]
    assert any(a.op is Op.ADD for e in shared for a in e.args) == factored
    # the code generated for these sizes computes the same values (at small sizes)
    vals = {
        "A": rng.normal(size=(4, 3) if k else (3, 3)),
        "B": rng.normal(size=(4, 3) if k else (3, 3)),
    }
    vals["X"] = rng.normal(size=(5, 3) if which == "right" else (3, 5))
    namespace: dict = {}
    exec(tc.codegen(expr, dims={"n": n, "m": m, "k": k}), namespace)  # our own generated source
    assert_close(namespace["f"](**vals), expr.evaluate(vals), rtol=1e-12)


F = var("F", ("p", "p"))
G, H = var("G", ("p", "p")), var("H", ("p", "p"))
v = var("v", ("p",))

# sums whose terms share F in every way its indices can go; "shared" says whether they factor
PATTERNS = [
    ("F' @ G + F' @ H", [([(F, "ji"), (G, "jk")], "ik"), ([(F, "ji"), (H, "jk")], "ik")], True),
    ("F ⊙ (G @ H) + F ⊙ (H @ G)",
     [([(F, "ik"), (G, "ij"), (H, "jk")], "ik"), ([(F, "ik"), (H, "ij"), (G, "jk")], "ik")], True),
    ("diag(F) ⊙ (G @ v) + diag(F) ⊙ (H @ v)",
     [([(F, "ii"), (G, "ij"), (v, "j")], "i"), ([(F, "ii"), (H, "ij"), (v, "j")], "i")], True),
    ("F ⊗ (G @ v) + F ⊗ (H @ v)",
     [([(F, "ij"), (G, "kl"), (v, "l")], "ijk"), ([(F, "ij"), (H, "kl"), (v, "l")], "ijk")], True),
    ("F @ G @ H + (F @ H' @ G')' (the output's order differs)",
     [([(F, "ij"), (G, "jl"), (H, "lk")], "ik"), ([(F, "kj"), (H, "lj"), (G, "il")], "ik")], False),
    ("F @ G + F' @ H (F sits differently)",
     [([(F, "ij"), (G, "jk")], "ik"), ([(F, "ji"), (H, "jk")], "ik")], False),
    ("F @ G @ H + F @ H @ G + G @ H, a term without F kept",
     [([(F, "ij"), (G, "jl"), (H, "lk")], "ik"), ([(F, "ij"), (H, "jl"), (G, "lk")], "ik"),
      ([(G, "ij"), (H, "jk")], "ik")], True),
]  # fmt: skip


@pytest.mark.parametrize("name,terms,shared", PATTERNS, ids=[p[0] for p in PATTERNS])
def test_factoring_keeps_every_value(name, terms, shared, rng):
    total = _sum(*terms)
    (got,) = factor_sums([total], lambda d: 1000 if d == "p" else d, set())
    assert (got is not total) == shared
    vals = {k: rng.normal(size=(3, 3)) for k in "FGH"} | {"v": rng.normal(size=3)}
    assert_close(got.evaluate(vals), total.evaluate(vals), rtol=1e-12)
    namespace: dict = {}
    exec(tc.codegen(total, dims={"p": 1000}), namespace)  # our own generated source
    assert_close(namespace["f"](**{k: vals[k] for k in sorted(tc.expr.variables(total))}),
                 total.evaluate(vals), rtol=1e-12)  # fmt: skip


def test_the_factorisation_gradient_still_compiles_to_the_reordered_form(rng):
    f = tc.parse("norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r"), "V": ("r", "n")})
    g = tc.derivative(f, "U")
    body = tc.codegen(g, dims={"m": 1000, "n": 1000, "r": 10}).rsplit('    """\n', 1)[-1]
    assert "V @ V.T" in body and "X @ V.T" in body and "X +" not in body
    U, V, X = rng.normal(size=(6, 3)), rng.normal(size=(3, 5)), rng.normal(size=(6, 5))
    assert_close(tc.compile(g)(U=U, V=V, X=X), -2 * (X - U @ V) @ V.T, rtol=1e-12)


def test_a_sum_gives_up_several_factors_and_inner_sums_factor_again(rng):
    C, D, Y = var("C", ("n", "n")), var("D", ("n", "n")), var("Y", ("n", "m"))
    terms = [(M, Z) for M, Z in ((A, XR), (B, XR), (C, Y), (D, Y))]
    total = _sum(*[([(M, "ij"), (Z, "jk")], "ik") for M, Z in terms])  # A X + B X + C Y + D Y
    nested = _sum(*[([(M, "ij"), (XR, "jk"), (G2, "kl")], "il") for M in (A, B)])  # A X G + B X G
    (got, inner) = factor_sums([total, nested], {"n": 50, "m": 50}.get, set())
    sums = [e for e in postorder([got]) if e.op is Op.ADD]
    assert sorted(len(e.args) for e in sums) == [2, 2, 2]  # (A + B) X + (C + D) Y
    for g, Z in ((got, XR), (got, Y), (inner, XR)):  # ((A + B) X) G: X in one product
        assert sum(any(a is Z for a in e.args) for e in postorder([g])) == 1
    vals = {k: rng.normal(size=(3, 3)) for k in "ABCDXYG"}
    for before, after in ((total, got), (nested, inner)):
        assert_close(after.evaluate(vals), before.evaluate(vals), rtol=1e-12)


G2 = var("G", ("m", "m"))


@pytest.mark.parametrize(
    "text,shapes,wrt",
    [
        ("norm(y - Phi @ theta)^2", {"Phi": ("N", "D")}, "theta"),  # (-2 (y - Φθ)) @ Φ
        ("norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": ("h", "D"), "X": ("D", "N")}, "W1"),
    ],
)
def test_number_factors_go_onto_sums_for_a_fusing_compiler(text, shapes, wrt, rng):
    # XLA fuses 2 * (a - b) into the loop that makes a - b; NumPy pays a pass either way and
    # keeps the flop count's choice, scaling the smallest operand
    g = tc.derivative(tc.parse(text, shapes), wrt)
    dims = {"N": 500, "D": 250, "h": 50}

    def scaled_sums(graph):
        return [
            e for e in postorder(graph) if e.op is Op.EINSUM and len(e.args) == 2
            and e.args[0].op is Op.CONST and not e.args[0].ndim and e.args[1].op is Op.ADD
        ]  # fmt: skip

    fused, plain = binarize([g], dims, fuses=True), binarize([g], dims)
    assert scaled_sums(fused) and not scaled_sums(plain)
    vals = {k: rng.normal(size=(3, 4)) for k in ("Phi", "W1", "W2", "T")}
    vals |= {"theta": rng.normal(size=4), "y": rng.normal(size=3), "X": rng.normal(size=(4, 3))}
    vals["W2"], vals["T"] = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    vals = {k: v for k, v in vals.items() if k in tc.expr.variables(g)}
    assert_close(fused[0].evaluate(vals), g.evaluate(vals), rtol=1e-12)
