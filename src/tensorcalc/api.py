"""The public Python API: parse, differentiate, substitute, evaluate.

>>> import tensorcalc as tc
>>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
>>> print(tc.derivative(f, "x"))
(A + A') @ x
>>> print(tc.derivative(f, "x", order=2))
A + A'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

import numpy as np

from . import build as b
from .analysis.stationary import stationary_steps
from .diff import products
from .diff.layout import apply_layout
from .diff.order import nth_order, one_order
from .diff.reverse import Step, check_order, wrt_variable
from .errors import DifferentiationError, TensorCalcError
from .explain import Explanation, explain_steps
from .explain.backprop import tables as _backprop_tables
from .explain.steps import Step as ExplainStep
from .expr import METHODS, NOTES, Expr, postorder, variables
from .numeric.check import check, random_values
from .numeric.evaluate import evaluate
from .ops import Op
from .parse import as_expr, declared, parse, where
from .printing.latex import to_latex
from .printing.text import to_text
from .shapes import normal_keys
from .simplify import simplify


@dataclass
class Derivation:
    """A derivative together with the rule applications that produced it.

    >>> import tensorcalc as tc
    >>> d = tc.derivation("sin(x^2)", "x")
    >>> print(d.result)
    2 * x * cos(x^2)
    """

    expr: Expr
    wrt: Expr
    result: Expr
    steps: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # e.g. that wrt does not occur (a zero result)

    def __str__(self):
        lines = [f"d/d{self.wrt.name} [{self.expr}] = {self.result}"]
        for s in self.steps:
            lines.append(f"  {s.rule}: at {s.node} → contributes {s.contribution} to d/d({s.arg})")
        return "\n".join(lines)


def _note_inputs(d: Expr, f: Expr, *also: Expr) -> dict:
    """Note on ``d`` the variables whose values bind its named sizes (f's, and ``also``):
    what evaluate needs and what repr shows.  Only where sizes are named: a constant of fixed
    shape (6 from d(6x)/dx) is one interned node with "3 + 3", and another derivative's x
    must not bind it.  Returns d's notes."""
    note = NOTES.setdefault(d, {})
    if any(isinstance(k, str) for n in postorder([d]) for k in n.shape):
        found = {**NOTES.get(f, {}).get("inputs", {}), **variables(f)}
        # an interned d (zeros(N, D, N, D)) may be several functions' derivative: each one's
        # inputs stay hints (evaluate binds from those it is given values of), the newest first
        note["inputs"] = {**note.get("inputs", {}), **found, **{x.name: x for x in also}}
    else:
        note.pop("inputs", None)
    return note


def derivation(
    f, wrt, order: int = 1, layout: str | None = None, shapes=None, *, symmetric: str = "sym"
) -> Derivation:
    """Like ``derivative`` but also returns the recorded rule applications (``.steps``) and
    notes (``.notes``): a declared variable that does not occur gives a zero and says so.

    >>> import tensorcalc as tc
    >>> d = tc.derivation("sin(x^2)", "x")
    >>> print(d.result)
    2 * x * cos(x^2)
    >>> d = tc.derivation("x' @ x", "y", shapes={"x": "n", "y": "m"})
    >>> print(d.result, d.result.shape)
    zeros(m) ('m',)
    >>> print(d.notes[0])
    y does not occur in x' @ x: the derivative is zero (shape m)
    """
    f = as_expr(f, shapes)
    check_order(order)
    known = {**NOTES.get(f, {}).get("declared", {}), **declared(shapes)}
    x = wrt_variable(f, wrt, known)
    steps: list[Step] = []
    d = nth_order(f, x, order, layout, symmetric, steps)  # what tc.check verifies, too
    note = _note_inputs(d, f, x)
    for key in ("assumed", "notes"):  # how f was read, also on its derivative
        if NOTES.get(f, {}).get(key):
            note[key] = NOTES[f][key]
        else:
            note.pop(key, None)
    notes = []
    if x.name not in variables(f):
        shape = "×".join(str(k) for k in d.shape) or "scalar"
        notes.append(f"{x.name} does not occur in {f}: the derivative is zero (shape {shape})")
    return Derivation(f, x, d, steps, notes)


def _variables(f: Expr, wrt) -> list | None:
    """The variables a list or tuple ``wrt`` names (each once), else ``None``."""
    if not isinstance(wrt, (list, tuple)):
        return None
    if not wrt:
        raise DifferentiationError("wrt is an empty list; name at least one variable")
    xs = [wrt_variable(f, w) for w in wrt]
    twice = [x.name for k, x in enumerate(xs) if x in xs[:k]]
    if twice:
        raise DifferentiationError(f"wrt names {twice[0]!r} more than once")
    return xs


def _per_entry(g: Expr, x: Expr, symmetric: str) -> Expr:
    """∂g/∂x, a stack differentiated entry by entry (d[a, b] = [da, db])."""
    if g.op is Op.STACK:
        return b.stack([_per_entry(a, x, symmetric) for a in g.args])
    return one_order(g, x, symmetric).result


def _stack_last(items: list) -> Expr:
    """The items (one shape) stacked along a new last axis, entry by entry where they are
    stacks: the partials ∂f/∂xᵢ of a vector f side by side make its Jacobian's columns."""
    if not items[0].ndim:
        return b.stack(items)
    if all(t.op is Op.STACK for t in items):
        return b.stack([_stack_last([t.args[k] for t in items]) for k in range(len(items[0].args))])
    s = b.stack(items)
    idx = tuple(range(s.ndim))
    return b.einsum([(s, idx)], idx[1:] + idx[:1])


def _stacked(f: Expr, xs: list, order: int, layout, symmetric: str) -> Expr:
    """The derivative with respect to scalar variables stacked in the given order: a new last
    axis per order (gradient (k,), Hessian (k, k), Jacobian of a vector f (m, k))."""
    d = f
    for _ in range(order):
        d = _stack_last([_per_entry(d, x, symmetric) for x in xs])
    viewed = apply_layout(d, f.ndim, 1, order, layout)
    return simplify(viewed)


def derivative(
    f, wrt, order: int = 1, layout: str | None = None, shapes=None, *, symmetric: str = "sym"
) -> Expr:
    """The exact derivative of ``f`` (an ``Expr`` or a string) with respect to variable ``wrt``.

    By default the value has shape ``f.shape + wrt.shape * order``; ``layout="numerator"`` or
    ``"denominator"`` gives the textbook forms, ``layout="vec"`` Magnus and Neudecker's matrix
    d vec F / d (vec X)' in Kronecker form where it has one (see ``tensorcalc.diff.layout``).  For a symmetric
    matrix variable (shape ``("n", "n", "symmetric")``) it is the gradient on symmetric
    matrices, (G + Gᵀ)/2; ``symmetric="cookbook"`` gives the Matrix Cookbook's G + Gᵀ − diag(G)
    (see ``tensorcalc.diff.symmetric``).

    >>> import tensorcalc as tc
    >>> print(tc.derivative("norm(X - U @ V)^2", "U", shapes={"X": "m,n", "U": "m,r", "V": "r,n"}))
    -2 * (X - U @ V) @ V'

    ``wrt`` may be a list or tuple of variables: scalar variables are stacked in the order
    given (the gradient of f(x1, x2) has shape (2,), its Hessian (2, 2)); otherwise the result
    is a tuple with one derivative per variable (as JAX's ``argnums``).

    >>> print(tc.derivative("x1^2*x2 + x1*x2^3", ["x1", "x2"]))
    [2 * x1 * x2 + x2^3, x1^2 + 3 * x1 * x2^2]
    """
    g = as_expr(f, shapes)
    xs = _variables(g, wrt)
    if xs is None:
        return derivation(g, wrt, order, layout, symmetric=symmetric).result
    check_order(order)
    if all(x.ndim == 0 for x in xs):
        d = _stacked(g, xs, order, layout, symmetric)
        _note_inputs(d, g)
        return d
    return tuple(derivation(g, x, order, layout, symmetric=symmetric).result for x in xs)


def gradient(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
    """Gradient of a scalar expression; it has the shape of ``wrt``.

    >>> import tensorcalc as tc
    >>> print(tc.gradient("a' @ X @ b", "X", shapes={"a": "m", "X": "m,n", "b": "n"}))
    a @ b'
    """
    f = as_expr(f, shapes)
    if f.ndim:
        raise DifferentiationError(
            f"gradient needs a scalar expression, got shape {f.shape}; use jacobian"
        )
    return derivative(f, wrt, shapes=shapes, symmetric=symmetric)


def jacobian(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
    """Jacobian: shape ``f.shape + wrt.shape``.

    >>> import tensorcalc as tc
    >>> print(tc.jacobian("A @ x", "x", shapes={"A": "m,n", "x": "n"}))
    A
    """
    return derivative(as_expr(f, shapes), wrt, shapes=shapes, symmetric=symmetric)


def hessian(f, wrt, shapes=None, *, symmetric: str = "sym") -> Expr:
    """Hessian of a scalar expression: shape ``wrt.shape * 2``.

    >>> import tensorcalc as tc
    >>> print(tc.hessian("x' @ A @ x", "x", shapes={"x": "n", "A": "n,n"}))
    A + A'
    """
    f = as_expr(f, shapes)
    if f.ndim:
        raise DifferentiationError(f"hessian needs a scalar expression, got shape {f.shape}")
    return derivative(f, wrt, order=2, shapes=shapes, symmetric=symmetric)


def _product(f, wrt, shapes, make, name):
    """``make(f, x, name)`` with the inputs noted (as ``derivation`` notes them)."""
    f = as_expr(f, shapes)
    out = make(f, wrt_variable(f, wrt), name)
    _note_inputs(out, f)
    return out


def hvp(f, wrt, direction: str | None = None, shapes=None) -> Expr:
    """The Hessian-vector product H v of a scalar ``f``, matrix-free: an expression in f's
    variables and the direction v, a new variable of ``wrt``'s shape named ``direction``
    (by default ``v``, or ``v1``, ``v2``, … when f has a ``v``).  It is ⟨∇f, v⟩
    differentiated again, never a formed Hessian; compile it like any expression
    (``tc.compile(tc.hvp(f, "w"))``, every backend).

    >>> import numpy as np, tensorcalc as tc
    >>> f = tc.parse("sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")})
    >>> print(tc.hvp(f, "w"))
    X' @ (u * (X @ v * (1 - u)) * y^2) where u = sigmoid(-y * (X @ w))
    >>> X, y, v = np.eye(3), np.ones(3), np.array([1.0, 2.0, 3.0])
    >>> tc.compile(tc.hvp(f, "w"))(X=X, y=y, w=np.zeros(3), v=v).tolist()  # σ'(0) = 1/4
    [0.25, 0.5, 0.75]
    """
    return _product(f, wrt, shapes, products.hvp, direction)


def jvp_expr(f, wrt, direction: str | None = None, shapes=None) -> Expr:
    """The Jacobian-vector product J v of ``f`` (any shape) along a direction v of ``wrt``'s
    shape, as an expression (shape ``f.shape``): the forward-mode derivative, never a formed
    Jacobian.  ``direction`` names v (by default ``v``, or ``v1``, … when taken).  For the
    JAX-style ``tc.jvp`` of a Python function, see ``tensorcalc.transforms``.

    >>> import tensorcalc as tc
    >>> print(tc.jvp_expr("sigmoid(X @ w)", "w", shapes={"X": ("N", "D")}))
    sigmoid(X @ w) * (X @ v) * (1 - sigmoid(X @ w))
    """
    return _product(f, wrt, shapes, products.jvp_expr, direction)


def vjp_expr(f, wrt, cotangent: str | None = None, shapes=None) -> Expr:
    """The vector-Jacobian product uᵀ J of ``f`` (any shape) for a cotangent u of f's shape,
    as an expression of ``wrt``'s shape: the gradient of ⟨u, f⟩, never a formed Jacobian.
    ``cotangent`` names u (by default ``u``, or ``u1``, … when taken).  For the JAX-style
    ``tc.vjp`` of a Python function, see ``tensorcalc.transforms``.

    >>> import tensorcalc as tc
    >>> print(tc.vjp_expr("sigmoid(X @ w)", "w", shapes={"X": ("N", "D")}))
    X' @ (u * sigmoid(X @ w) * (1 - sigmoid(X @ w)))
    """
    return _product(f, wrt, shapes, products.vjp_expr, cotangent)


def explain(
    f,
    wrt,
    order: int = 1,
    *,
    style=None,
    at=None,
    shapes=None,
    verify=False,
    layout=None,
    then=None,
) -> Explanation:
    """A step-by-step derivation of the derivative of ``f`` with respect to ``wrt``.

    ``style`` is ``"rules"`` (sum, product, quotient, power and chain rules on named parts;
    the default for a scalar variable), ``"differential"`` (df, then df = ⟨G, dX⟩; the default
    for vectors and matrices), ``"index"`` (Einstein notation with Kronecker deltas; the
    default for results of rank 3 and more), ``"backprop"`` (the computational graph; ``wrt``
    may be a list, and ``at`` gives values for the forward and backward tables) or
    ``"limit"`` (the difference quotient, for x^n, n a number or symbolic).  ``verify=True``
    evaluates both sides of every step at random points (``at`` where given) and marks each ✓;
    a step that fails raises ``TensorCalcError``.

    ``wrt`` may list several scalar variables (or ``wrt`` may be a small vector used through
    its entries ``x[0]``, ``x[1]``): the rules style takes one partial derivative after the
    other and assembles ∇f, and for ``order=2`` every mixed partial into the Hessian H.  An
    input ``f where x1 = ..., x2 = ...`` keeps x1, x2 as named intermediate functions (the
    multivariable chain rule).  ``layout`` ends with the result in that layout;
    ``then="solve"`` goes on to the point where the gradient is zero (when the gradient is
    affine: the normal equations, their solution, the second-derivative test).

    >>> import tensorcalc as tc
    >>> e = tc.explain("norm(X - U @ V)^2", "V", shapes={"X": "n,m", "U": "n,r"}, verify=True)
    >>> print(e.steps[0].text)
    let E = X - U @ V, f = norm(E)^2
    >>> print(e.result)
    -2 * U' @ (X - U @ V)
    """
    e = explain_steps(f, wrt, order, style, shapes)
    if then is not None:
        if then != "solve" or order != 1 or isinstance(wrt, (list, tuple)):
            raise TensorCalcError(
                f"then={then!r}: use then='solve' with one variable and order 1 (the point "
                "where the gradient is zero, when it has a closed form)"
            )
        for rule, lhs, rhs, text, latex, sh in stationary_steps(e.expr, wrt):
            e.steps.append(ExplainStep(len(e.steps) + 1, rule, (lhs, rhs), text, latex, sh))
    if layout not in (None, "jacobian", "default"):
        _in_layout(e, wrt, order, layout)
    if at is not None and e.style == "backprop":
        e.tables = _backprop_tables(e, at, evaluate)
    if verify:
        _verify(e, at, wrt, order, layout)
    return e


LAYOUT_TEXT = {
    "numerator": "numerator layout: the derivative of a scalar by a vector is a row, ∂f/∂x = 1×n",
    "denominator": "denominator layout: the derivative has the variable's shape first",
    "vec": "vec layout (Magnus–Neudecker): the matrix d vec F / d (vec X)', vec stacking columns",
}


def _in_layout(e: Explanation, wrt, order: int, layout: str) -> None:
    """A last step giving the result in ``layout`` (with its shape), which becomes the result."""
    x_rank = 1 if isinstance(wrt, (list, tuple)) else wrt_variable(e.expr, wrt).ndim
    viewed = apply_layout(e.result, e.expr.ndim, x_rank, order, layout)
    if viewed is e.result:
        return
    viewed = simplify(viewed)
    name = f"({', '.join(wrt)})" if isinstance(wrt, (list, tuple)) else str(wrt)
    if layout == "numerator" and not isinstance(wrt, (list, tuple)):
        # the lines before hold the gradient (a column): ∇f there, ∂f/∂x is the row below
        head, head_lx = (
            f"∂f/∂{name} = ",
            rf"\frac{{\partial f}}{{\partial {to_latex(variables(e.expr)[name])}}}",
        )
        nabla, nabla_lx = f"∇_{name} f = ", rf"\nabla_{{{to_latex(variables(e.expr)[name])}}} f"
        e.steps = [
            dc_replace(
                s, text=nabla + s.text[len(head) :], latex=s.latex.replace(head_lx, nabla_lx)
            )
            if s.text.startswith(head)
            else s
            for s in e.steps
        ]
    shape = "×".join(str(d) for d in viewed.shape) or "1"
    text = f"∂f/∂{name} = {to_text(viewed)}"
    name_lx = (
        ", ".join(to_latex(variables(e.expr)[w]) for w in wrt)
        if isinstance(wrt, (list, tuple))
        else to_latex(variables(e.expr)[name])
    )
    latex = rf"\frac{{\partial f}}{{\partial {name_lx}}} = {to_latex(viewed)}"
    lhs = derivative(e.expr, wrt, order, layout)
    e.steps.append(ExplainStep(len(e.steps) + 1, LAYOUT_TEXT[layout], (lhs, viewed),
                               text, latex, f"{shape}, in {layout} layout"))  # fmt: skip
    e.result = viewed


def _verify(e: Explanation, at, wrt=None, order: int = 1, layout=None, attempts: int = 3):
    """Check every step at random points (``at`` where given), and the result, the derivative
    that ``tc.derivative`` returns, against finite differences of f (``e.check`` is that
    report).  Sizes of named dimensions are drawn again on a failure, so that a structurally
    singular draw (X' @ X with fewer rows than columns) is not taken for a wrong step; a step
    or a result failing every draw raises."""
    given = {name: np.asarray(v, dtype=float) for name, v in (at or {}).items()}
    bound = {}  # sizes the given values fix
    for name, v in variables(e.expr).items():
        if name in given and given[name].ndim == v.ndim:
            bound.update({d: n for d, n in zip(v.shape, given[name].shape) if isinstance(d, str)})
    if isinstance(wrt, (list, tuple)) and len(wrt) == 1:
        wrt = wrt[0]
    single = isinstance(wrt, (str, Expr))  # the backprop style may take several variables
    for k in range(attempts):
        values, dims = random_values(e.expr, seed=k, dims=bound)
        if k:
            dims = {d: 2 + k + (len(dims) - i) for i, d in enumerate(dims)} | bound
            values, dims = random_values(e.expr, seed=k, dims=dims)
        values.update(given)
        for s in e.steps:
            for side in (s.lhs, s.rhs):
                if side is not None:
                    more, dims = random_values(side, seed=k + len(values), dims=dims)
                    values.update({n: v for n, v in more.items() if n not in values})
        try:
            with np.errstate(all="ignore"):
                e.verify(lambda x, v: evaluate(x, v, dims), values)
                if single:
                    e.check = _check_orders(e, wrt, order, values, layout)
            return e
        except TensorCalcError:
            if k == attempts - 1:
                raise


def _check_orders(e: Explanation, wrt, order: int, values: dict, layout=None):
    """The result against finite differences, one order at a time as the steps derive it:
    order k (as ``tc.derivative`` returns it; the last is ``e.result``) against central
    differences of order k - 1 (first differences only, so a Hessian of a matrix stays quick;
    from f itself where that fails)."""
    x = wrt_variable(e.expr, wrt)
    prev = e.expr
    for k in range(1, order + 1):
        d = e.result if k == order else nth_order(e.expr, x, k)
        view = layout if k == order else None  # e.result is in the layout asked for
        report = check(prev, x, values, 1, derivative=d, layout=view)
        if not report and k > 1:  # order k - 1 may be rounding noise (d sum(softmax) = 0):
            report = check(e.expr, x, values, k, derivative=d, layout=view)  # from f (slower)
        if not report:
            raise TensorCalcError(f"the result does not verify:\n{report}")
        prev = d
    report.source = "as tc.derivative returns it"
    return report


def subs(e: Expr, mapping: dict, shapes=None) -> Expr:
    """Substitute variables (by name or ``Expr``) with expressions, strings or arrays.

    >>> import tensorcalc as tc
    >>> f = tc.parse("x1^2 + 2 * x2").subs({"x1": "sin(t)", "x2": "cos(t)"})
    >>> print(tc.derivative(f, "t"))
    2 * sin(t) * (cos(t) - 1)
    """
    found = variables(e)
    known = {name: v.shape for name, v in found.items()}
    table = {}
    for key, value in normal_keys(mapping, "subs").items():
        old = key if isinstance(key, Expr) else found.get(key)
        if old is None:
            raise DifferentiationError(f"the expression has no variable {key!r} to substitute")
        if isinstance(value, str):
            new = parse(value, shapes, known=known)
        elif isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value):
            new = b.array(value)  # numbers for a parameter: an array constant
        else:
            new = b.to_expr(value)
        table[old] = b.broadcast(new, old.shape, "subs") if new.shape == () else new
    return b.substitute(e, table)


METHODS.update(str=to_text, latex=to_latex, evaluate=evaluate, subs=subs, where=where)
