"""Evaluation order (``codegen.paths``): factoring a shared factor out of a sum is chosen by
the flop count at the actual sizes, flips where the count says it should, and never changes a
value, whatever the factor's indices do (transposed, on a diagonal, elementwise, outer)."""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations

import numpy as np
import pytest

import tensorcalc as tc
from conftest import assert_close
from tensorcalc.build import einsum, var
from tensorcalc.codegen import emit, paths
from tensorcalc.codegen.backends.numpy import BACKEND as NUMPY
from tensorcalc.codegen.emit import generate
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


# -- bounded work: each contraction problem, node cost and pair price computed once ----------


def _scan_greedy(groups, out, sizes):
    """The greedy rule as a scan over every pair at every merge (what ``paths._greedy`` does
    incrementally): the pair sharing an index that shrinks memory most, the first such pair
    in position order on a tie; outer products only when no pair shares an index."""
    items = [(frozenset(g), k) for k, g in enumerate(groups)]
    while len(items) > 1:
        held = Counter(x for s, _ in items for x in s)
        pairs = list(combinations(range(len(items)), 2))
        sharing = [(i, j) for i, j in pairs if items[i][0] & items[j][0]]
        best = None
        for i, j in sharing or pairs:
            a, b = items[i][0], items[j][0]
            res = {x for x in a | b if x in out or held[x] > (x in a) + (x in b)}
            key = paths._size(res, sizes) - paths._size(a, sizes) - paths._size(b, sizes)
            if best is None or key < best[0]:
                best = (key, i, j, res)
        _, i, j, res = best
        merged = (frozenset(res), (items[i][1], items[j][1]))
        items = [it for k, it in enumerate(items) if k not in (i, j)] + [merged]
    return items[0][1]


def test_the_incremental_greedy_merges_the_pairs_a_full_scan_merges():
    rng = random.Random(11)
    for _ in range(400):
        labels = rng.randint(2, 12)
        sizes = {x: rng.choice([1, 2, 3, 5, 10]) for x in range(labels)}
        groups = [tuple(rng.sample(range(labels), rng.randint(0, min(3, labels))))
                  for _ in range(rng.randint(3, 14))]  # fmt: skip
        out = tuple(x for x in sorted({x for g in groups for x in g}) if rng.random() < 0.2)
        assert paths._greedy(groups, out, sizes) == _scan_greedy(groups, out, sizes)


def test_a_contraction_problem_is_searched_once_whatever_its_indices_are_named():
    paths._search.cache_clear()
    chain = [("i", "j"), ("j", "k"), ("k", "l"), ("l", "m")]
    sizes = {"i": 10, "j": 100, "k": 5, "l": 100, "m": 10}
    first = paths.search(chain, ("i", "m"), sizes)
    renamed = [(("a", 0), 7), (7, "k"), ("k", 3), (3, -1)]
    second = paths.search(
        renamed, (("a", 0), -1), dict(zip([("a", 0), 7, "k", 3, -1], sizes.values()))
    )
    assert first == second == (10 * 100 * 5 + 5 * 100 * 10 + 10 * 5 * 10, ((0, 1), (2, 3)))
    info = paths._search.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def _power_trace_gradient(k):
    """d tr(A^k)/dA = k (A^(k-1))': a sum of k products of k - 1 factors before simplifying."""
    f = tc.parse("tr(" + " @ ".join(["A"] * k) + ")", {"A": ("n", "n")})
    return tc.derivative(f, "A")


def test_compiling_a_long_chain_prices_each_node_once_and_searches_each_pattern_once(
    monkeypatch, rng
):
    priced = Counter()
    plain = paths.cost

    def counted(e, sizes_of):
        priced[e] += 1
        return plain(e, sizes_of)

    monkeypatch.setattr(paths, "cost", counted)
    paths._search.cache_clear()
    d = _power_trace_gradient(12)
    (g,) = binarize([d], {"n": 3})
    assert max(priced.values()) == 1  # every candidate of every factoring priced once
    info = paths._search.cache_info()
    assert info.misses < len(priced) and info.hits > 0
    A = rng.normal(size=(3, 3)) / 2
    assert_close(g.evaluate({"A": A}), 12 * np.linalg.matrix_power(A, 11).T, rtol=1e-10)
    assert_close(tc.compile(d)(A=A), 12 * np.linalg.matrix_power(A, 11).T, rtol=1e-10)


def test_compiled_functions_are_built_without_printing_the_formulas(monkeypatch, rng):
    d = _power_trace_gradient(5)
    with_doc = generate([d], NUMPY, {"n": 3})[0]
    without = generate([d], NUMPY, {"n": 3}, doc=False)[0]
    head, rest = with_doc.split('    """Compute the output:', 1)
    assert without == head + '    """Compute the output."""' + rest.split('    """', 1)[1]

    def refuse(*a, **k):
        raise AssertionError("compile printed a formula")

    monkeypatch.setattr(emit, "to_text", refuse)
    A = rng.normal(size=(3, 3))
    assert_close(tc.compile(d)(A=A), 5 * np.linalg.matrix_power(A, 4).T, rtol=1e-12)
