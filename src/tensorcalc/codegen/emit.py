"""Turn expressions into a small, readable Python module for one backend.

The pipeline: ``binarize`` (contraction order) → count uses over all outputs, so shared
subexpressions (value, gradient and Hessian share work) are named once as ``t0``, ``t1``, … →
rebuild each named node's matrix-notation print tree (the printer's ``node_tree``) with the
shared nodes as leaves → render the tree with the backend's table.  Rendering never
materialises ``diag``: ``diag(v) @ X`` becomes ``v[:, None] * X`` and ``X @ diag(v)`` becomes
``X * v``.  Identifiers are sanitised; nothing but our own IR reaches the source.

The jobs around the pipeline live next door: ``names`` (one namespace for every identifier of
the generated function), ``place`` (products with Kronecker deltas written as placements) and
``blocks`` (large results summed in place, block by block).
"""

from __future__ import annotations

import re
from collections import Counter
from string import ascii_letters

import numpy as np

from ..errors import TensorCalcError, format_shape
from ..expr import Expr, postorder, variables
from ..ops import Op
from ..printing.matrix import P, node_tree
from ..printing.text import nested, to_text
from ..simplify.finite import finite_form
from . import blocks
from .backends import Backend
from .names import check_function_name, dim_name, module_names, safe_name
from .paths import binarize
from .place import delta_product, has_map, product_tree

PREC = {
    "eq": 5,
    "add": 10,
    "mul": 20,
    "matmul": 20,
    "div": 20,
    "neg": 30,
    "pow": 40,
    "T": 50,
    "index": 50,
}


class _Renderer:
    def __init__(self, backend: Backend, dim_names: dict, limit=None):
        self.b = backend
        self.dims = dim_names
        self.used_helpers = set()
        self.limit = limit  # the numbers a result may hold at once (memory_limit), or None

    def prec(self, p):
        if p.kind == "num" and p.value < 0:
            return PREC["neg"]
        if p.kind == "T" and p.rank < 2:
            return self.prec(p.children[0])
        if p.kind == "neg":  # -A @ x binds like its @: X * (-A @ x), never X * -A @ x
            c = self.prec(p.children[0])
            return c if PREC["mul"] <= c < PREC["neg"] else PREC["neg"]
        return PREC.get(p.kind, 60)

    def wrap(self, p, min_prec):
        s = self.render(p)
        return f"({s})" if self.prec(p) < min_prec else s

    def render(self, p: P) -> str:
        return getattr(self, "r_" + p.kind)(p)

    def r_var(self, p):
        return p.value

    def r_dim(self, p):
        return str(p.value) if isinstance(p.value, int) else self.dims[p.value]

    def r_num(self, p):
        return repr(float(p.value))

    def r_add(self, p):
        out = ("-" if p.value[0] else "") + self.wrap(p.children[0], 11 if not p.value[0] else 31)
        for neg, c in zip(p.value[1:], p.children[1:]):
            out += (" - " if neg else " + ") + self.wrap(c, 11)
        return out

    def r_neg(self, p):
        return "-" + self.wrap(p.children[0], 20)

    def r_mul(self, p):
        a, b = p.children
        return f"{self.wrap(a, 20)} * {self.wrap(b, 21)}"

    def r_div(self, p):
        v = _folded(p)  # constants as NumPy divides them: Python's 1.0 / 0.0 would raise
        if v is not None:
            return repr(float(v)) if np.isfinite(v) and v >= 0 else f'float("{float(v)!r}")'
        a, b = p.children
        return f"{self.wrap(a, 20)} / {self.wrap(b, 21)}"

    def r_pow(self, p):
        v = _folded(p)  # constants as NumPy powers them: Python's 3.0 ** 1e13 would raise
        if v is not None:
            return repr(float(v)) if np.isfinite(v) and v >= 0 else f'float("{float(v)!r}")'
        a, b = p.children
        return f"{self.wrap(a, 41)} ** {self.wrap(b, 40)}"

    def r_T(self, p):
        c = p.children[0]
        if p.rank == 2 and self.b.transpose:
            return self.b.transpose.format(self.render(c))
        return self.wrap(c, 50) + ".T" if p.rank == 2 else self.render(c)

    def r_index(self, p):
        if "index" in self.b.funcs and any(_backward(item) for item in p.value):
            items = ", ".join(_slice_expr(item) for item in p.value)
            return self.call_template("index", [self.render(p.children[0]), items])
        return self.wrap(p.children[0], 51) + "[" + ", ".join(p.value) + "]"

    def r_matmul(self, p):
        a, b = p.children
        gram = _gram_args(a, b)
        if gram is not None and gram[0].kind == "var":  # X' diag(d) X, symmetric
            limit = "" if self.limit is None else f", {self.limit}"
            return self.call_template("gram", [self.render(gram[0]), self.wrap(gram[1], 50), limit])
        da, db = _diag_arg(a), _diag_arg(b)
        if da is not None and b.rank == 2:  # diag(v) @ X = v[:, None] * X
            return f"{self.wrap(da, 50)}[:, None] * {self.wrap(b, 21)}"
        if db is not None and a.rank == 2:  # X @ diag(v) = X * v
            return f"{self.wrap(a, 20)} * {self.wrap(db, 21)}"
        if da is not None and b.rank == 1:
            return f"{self.wrap(da, 20)} * {self.wrap(b, 21)}"
        if p.rank == 2 and a.rank == 1 and b.rank == 1:  # u @ v' = outer product
            return self.b.outer.format(self.render(a), self.render(b))
        left = 20
        if a.kind == "T" and a.rank == 2 and b.rank == 1:  # A' @ v = v @ A, no transpose
            a, b, left = b, a.children[0], 21  # (u * v) @ A: the vector in parentheses
        if self.b.matmul:
            return self.call_template("matmul", [self.render(a), self.render(b)])
        return f"{self.wrap(a, left)} @ {self.wrap(b, 21)}"

    def r_array(self, p):
        return self.call_template("array", [nested(*p.value, fmt=lambda v: repr(float(v)))])

    def r_stack(self, p):
        return self.call_template(
            "stack", ["[" + ", ".join(self.render(c) for c in p.children) + "]"]
        )

    def r_call(self, p):
        name, extra = p.value
        args = [self.render(c) for c in p.children]
        if self.b.scalar and name not in ("ones", "zeros", "eye", "select", "commutation"):
            args = [
                self.b.scalar.format(a) if c.kind == "num" else a for a, c in zip(args, p.children)
            ]
        if name in ("ones", "zeros"):
            shape = ", ".join(args)
            key, args = name, ["(" + shape + ("," if len(args) == 1 else "") + ")"]
        elif name == "diag":
            key = "diag_vec" if p.children[0].rank == 1 else "diag_mat"
        elif name == "reshape":  # the sizes, names read from the inputs' shapes
            dims = [self.r_dim(P("dim", (), d)) for d in extra]
            key, args = name, args + ["(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"]
        elif name in ("sum", "softmax", "logsumexp") and extra:
            axes = str(extra[0]) if len(extra) == 1 else str(tuple(extra))
            key, args = name + "_axis", args + [axes]
        else:
            key = name
        return self.call_template(key, args)

    def call_template(self, key, args):
        template = self.b.matmul if key == "matmul" else self.b.funcs[key]
        self.used_helpers.update(h for h in self.b.helpers if h + "(" in template)
        return template.format(*args, args=", ".join(args))  # {args}: f(X, E1, ..., Ek)

    def r_einsum(self, p):
        args = ", ".join(self.render(c) for c in p.children)
        return self.b.einsum.format(spec=repr(p.value), args=args)

    def r_code(self, p):
        return p.value

    def deltas(self, e: Expr, core: list, rep: dict, sub) -> str:
        """``e``, a product with Kronecker deltas, as ``where(mask, core)``: the other factors
        (``core``, one index per group of indices the deltas tie, ``rep``) broadcast and placed
        where the deltas' indices are equal, zero elsewhere.  Nothing is multiplied by an
        identity, so an inf in the core stays inf on the diagonal and 0 off it, as in evaluate.
        """
        out = e.attrs[1]
        coef, arrays = 1.0, []
        for a, ls in core:
            if a.op is Op.CONST and not ls:
                coef *= a.attrs[0]
            else:
                arrays.append((a, ls))
        first = {}  # each group's first position in the output: where the core's axis goes
        for k, x in enumerate(out):
            first.setdefault(rep[x], k)
        carried = {x for _, ls in arrays for x in ls}
        keep = tuple(r for r in first if r in carried)
        if not arrays:
            body = self.render(P("call", (), ("ones", ()), 0))
        elif len(arrays) == 1 and arrays[0][1] == keep:
            body = self.wrap(sub(arrays[0][0], False), 51)
        elif len(arrays) == 1 and len(keep) == 2 and arrays[0][1] == keep[::-1]:
            body = self.wrap(P("T", (sub(arrays[0][0], False),), None, 2), 50)  # X.T[:, None]
        else:
            letter = {x: ascii_letters[k] for k, x in enumerate(dict.fromkeys(
                [x for _, ls in arrays for x in ls]))}  # fmt: skip
            spec = ",".join("".join(letter[x] for x in ls) for _, ls in arrays)
            spec += "->" + "".join(letter[x] for x in keep)
            args = ", ".join(self.render(sub(a, False)) for a, _ in arrays)
            body = self.b.einsum.format(spec=repr(spec), args=args)
        if coef != 1.0:
            body = f"({float(coef)!r} * {body})"
        index = ["None" if first[rep[x]] != k or rep[x] not in carried else ":" for k, x in
                 enumerate(out)]  # fmt: skip
        while index and index[0] == "None":  # broadcasting adds leading axes
            index.pop(0)
        if "None" in index:
            body += "[" + ", ".join(index) + "]"
        tests = []
        for r, k0 in first.items():
            for k in [k for k, x in enumerate(out) if rep[x] == r][1:]:
                tests.append(f"{self._positions(e, k0)} == {self._positions(e, k)}")
        mask = tests[0] if len(tests) == 1 else " & ".join(f"({t})" for t in tests)
        return self.call_template("where", [mask, body])

    def _positions(self, e, k):
        """``arange`` of axis ``k``'s length, shaped to broadcast along axis ``k`` of ``e``."""
        text = self.call_template("arange", [self.r_dim(P("dim", (), e.shape[k]))])
        trail = e.ndim - 1 - k
        return text + ("[:" + ", None" * trail + "]" if trail else "")


def _folded(p):
    """The value of a power of number literals, powered as ``evaluate`` powers them (NumPy:
    ``inf`` on overflow, ``nan`` out of domain), or ``None``."""
    if p.kind == "num":
        return np.float64(p.value)
    if p.kind not in ("pow", "div"):
        return None
    a, b = (_folded(c) for c in p.children)
    if a is None or b is None:
        return None
    with np.errstate(all="ignore"):
        return np.power(a, b) if p.kind == "pow" else np.divide(a, b)


def _backward(item: str) -> bool:
    """Whether an index item (``"1:4"``, ``"::-1"``, ``"0"``) is a slice with a negative step."""
    parts = item.split(":")
    return len(parts) == 3 and parts[2].strip().startswith("-")


def _slice_expr(item: str) -> str:
    """An index item as a Python expression: ``"::-1"`` → ``slice(None, None, -1)``."""
    if ":" not in item:
        return item
    parts = (item.split(":") + ["", ""])[:3]
    return "slice(" + ", ".join(x.strip() or "None" for x in parts) + ")"


def _gram_args(a, b):
    """(X, d) when a @ b reads X' @ diag(d) @ X in either association."""
    if a.kind == "T" and b.kind == "matmul" and _diag_arg(b.children[0]) is not None:
        x, d, y = a.children[0], _diag_arg(b.children[0]), b.children[1]
    elif a.kind == "matmul" and a.children[0].kind == "T" and _diag_arg(a.children[1]) is not None:
        x, d, y = a.children[0].children[0], _diag_arg(a.children[1]), b
    else:
        return None
    return (x, d) if x == y and x.rank == 2 else None


def _diag_arg(p):
    if p.kind == "call" and p.value[0] == "diag" and p.rank == 2 and p.children[0].rank == 1:
        return p.children[0]
    return None


def generate(
    outputs: list[Expr],
    backend: Backend,
    dims: dict | None = None,
    name: str = "f",
    doc=True,
    memory_limit: int | None = None,
    itemsize: int = 8,
):
    """Source of a module defining ``name(*params)``; returns ``(source, params)``.

    ``memory_limit``: the bytes each result may hold at once while it is computed, itself
    included, at ``itemsize`` bytes a number; by default ``blocks.bound``.

    ``doc=False`` leaves the formulas out of the docstring (printing a large derivative costs
    more than generating its code; ``tc.compile`` builds its functions so, for calling).

    ``params`` pairs each user variable name with its (sanitised) parameter name, and each
    dimension that the caller passes (no variable carries it) ``("dim", d)`` with its keyword.

    >>> import tensorcalc as tc
    >>> from tensorcalc.codegen.backends.numpy import BACKEND
    >>> src, params = generate([tc.parse("x' @ x", {"x": ("n",)})], BACKEND)
    >>> src.splitlines()[-1], params
    ('    return x @ x', {'x': 'x'})
    """
    check_function_name(name)
    shown, outputs = outputs, [finite_form(o) for o in outputs]  # limits at norm(x) = 0
    limit = None if memory_limit is None else memory_limit // itemsize
    for k, o in enumerate(outputs if limit is not None else ()):
        known = all(isinstance(d, int) or d in (dims or {}) for d in o.shape)
        if known and blocks.numel(o, dims) > limit:
            raise TensorCalcError(
                f"memory_limit={memory_limit} bytes is less than output {k} of shape "
                f"{format_shape(o.shape)} holds itself ({blocks.numel(o, dims) * itemsize} bytes)"
            )
    plans = blocks.plans(outputs, backend, dims, limit)
    parts = [o for k, o in enumerate(outputs) if k not in plans]
    extra = [x for plan in plans.values() for term in plan for x in term.needs]
    outs = binarize(parts + extra, dims, backend.fuses)
    built = dict(zip(parts + extra, outs))
    outs, forced = outs[: len(parts)], dict.fromkeys(outs[len(parts) :])  # ordered: stable names
    taken = {name, *module_names(backend)}
    found = {}
    for o in shown:
        found.update(variables(o))
    params = {v: safe_name(v, taken) for v in sorted(found)}
    dim_names, checks = _shape_checks(found, params, backend, taken)
    free_dims = []
    for n in postorder(outs + list(forced) + [outputs[k] for k in plans]):
        for d in (d for d in n.shape if isinstance(d, str)):
            if d not in dim_names:  # bound by no variable: the caller passes it
                dim_names[d] = dim_name(d, taken)
                free_dims.append(dim_names[d])
                params["dim", d] = dim_names[d]
    uses = Counter(a for n in postorder(outs + list(forced)) for a in n.args)
    uses.update(outs)
    uses.update(list(forced))
    named = {}
    renderer = _Renderer(backend, dim_names, limit)
    lines = []

    def sub(a, bcast_ok):
        if a.op is Op.VAR:
            return P("var", (), params[a.attrs[0]], a.ndim)
        if a in named:
            return P("var", (), named[a], a.ndim)
        return tree(a, bcast_ok)

    def tree(a, bcast_ok):
        if not has_map(a):
            return node_tree(a, bcast_ok, sub)
        placed = delta_product(a, uses) if backend.place_deltas else None
        if placed is not None:
            return P("code", (), renderer.deltas(a, *placed, sub), a.ndim)
        if a.ndim > 5 and not backend.place_deltas:  # beyond its broadcasting (MXNet)
            return node_tree(a, bcast_ok, sub)
        return product_tree(a, sub)

    for n in postorder(outs + list(forced)):
        if n.op in (Op.VAR, Op.CONST) or (uses[n] < 2 and n not in forced):
            continue  # an output used nowhere else is written in the return statement
        if n.op in (Op.EYE, Op.SELECT):  # placed, or written where a product needs it whole
            continue
        if n in forced and n.ndim == 0 and uses[n] < 2:
            continue  # a scalar factor is written where it is used
        code = renderer.render(tree(n, False))
        named[n] = safe_name(f"t{len(named)}", taken, internal=True)
        lines.append(f"    {named[n]} = {code}")
    results = []
    rendered = iter(
        (o, renderer.render(sub(o, False)) if o.op is not Op.CONST else _const(o, renderer))
        for o in outs
    )
    accumulated = {}  # a result summed in place once, however often it is asked for
    returned = set()  # the arrays returned so far (what each result may be a view of)
    for k in range(len(outputs)):
        if k not in plans:
            o, text = next(rendered)
            base = _viewed(o, dims or {})
        else:
            if outputs[k] not in accumulated:
                acc = safe_name(f"t{len(named) + k}", taken, internal=True)
                lines += blocks.accumulate(
                    acc, outputs[k], plans[k], renderer, built, sub, dims, taken, params
                )
                accumulated[outputs[k]] = acc
            text, base = accumulated[outputs[k]], ("accumulated", outputs[k])
        if base in returned or getattr(base, "op", None) is Op.VAR:
            text = renderer.call_template("copy", [text])  # never an input or another result
        if getattr(base, "op", None) not in (Op.CONST, Op.EYE, Op.SELECT):  # made at each use
            returned.add(base)
        results.append(text)
    body = "\n".join(checks + lines)
    ret = (
        results[0]
        if len(results) == 1
        else "(" + ", ".join(results) + ("," if len(results) == 1 else "") + ")"
    )
    sig = ", ".join(
        [p for k, p in params.items() if isinstance(k, str)]
        + (["*"] + free_dims if free_dims else [])
    )
    what = "the output" if len(outputs) == 1 else "the outputs"
    if doc:
        formulas = "\n".join(
            f"        {k}: {to_text(o)}  (shape {format_shape(o.shape)})"
            for k, o in enumerate(shown)
        )
        docstring = f'    """Compute {what}:\n\n{formulas}\n    """'
    else:
        docstring = f'    """Compute {what}."""'
    used = renderer.used_helpers
    used.update(h for h in backend.helpers if h + "(" in backend.asarray)
    while more := {  # helpers that the used helpers call (one level per pass)
        h for h in backend.helpers for u in used if h not in used and h + "(" in backend.helpers[u]
    }:
        used |= more
    helpers = [backend.helpers[h] for h in backend.helpers if h in used]
    text = "\n".join(checks + lines) + ret
    statements = "".join(x for x in backend.imports if not x.startswith(("import ", "from ")))
    imports = [x for x in backend.imports if _needed(x, text + "".join(helpers) + statements)]
    header = (
        '"""Generated by tensorcalc from its expression IR; runs without tensorcalc installed."""\n\n'
        + "\n".join(imports)
        + "\n"
    )
    parts = [header] + [h + "\n" for h in helpers]
    parts.append(f"def {name}({sig}):\n{docstring}\n{body}\n    return {ret}\n")
    return "\n\n".join(parts), params


def _viewed(e: Expr, dims: dict) -> Expr:
    """The node whose array ``e``'s array may be a view of (``e`` itself when it is computed
    afresh): through transposes, diagonals and selections, products of one array with 0/1
    matrices (``EYE``, ``SELECT``) that sum over none of its indices and have no more entries
    than it (a placement into zeros has more: it is a new array)."""
    while e.op is Op.EINSUM:
        ins, out = e.attrs
        main = [k for k, a in enumerate(e.args) if a.op not in (Op.EYE, Op.SELECT)]
        if len(main) != 1:
            return e
        (k,) = main
        others = {x for j, ls in enumerate(ins) if j != k for x in ls}
        if not set(ins[k]) <= set(out) | others:
            return e  # it sums over an index of the array
        if blocks.numel(e, dims) > blocks.numel(e.args[k], dims):
            return e  # a placement into zeros: a new array
        e = e.args[k]
    return e


def _needed(import_line, text):
    if not import_line.startswith(("import ", "from ")):
        return True  # a statement the library needs at import (mxnet.npx.set_np())
    mod = import_line.split()[-1]
    alias = mod if " as " not in import_line else import_line.split(" as ")[-1]
    if mod.count(".") >= 1 and " as " not in import_line:
        return mod + "." in text
    return re.search(rf"\b{re.escape(alias)}\.", text) is not None


def _const(o, renderer):
    v = o.attrs[0]
    if not o.shape:
        return repr(float(v))
    ones = renderer.render(
        P(
            "call",
            tuple(P("dim", (), d) for d in o.shape),
            ("ones" if v != 0 else "zeros", ()),
            o.ndim,
        )
    )
    return ones if v in (0.0, 1.0) else f"{float(v)!r} * {ones}"


def _shape_checks(found, params, backend, taken):
    lines = [f"    {p} = {backend.asarray.format(p)}" for p in params.values()]
    if backend.prologue and params:
        lines.append("    " + backend.prologue.format(first=next(iter(params.values()))))
    elif backend.bare_prologue:
        lines.append("    " + backend.bare_prologue)
    dim_names = {}
    for vname in sorted(found):
        shape = found[vname].shape
        p = params[vname]
        expected = []
        for k, d in enumerate(shape):
            if isinstance(d, str) and d not in dim_names:
                dim_names[d] = dim_name(d, taken)
                lines.append(f"    {dim_names[d]} = {p}.shape[{k}]")
            expected.append(str(d) if isinstance(d, int) else dim_names[d])
        want = "(" + ", ".join(expected) + ("," if len(expected) == 1 else "") + ")"
        shown = format_shape(shape)
        lines.append(f"    if {p}.shape != {want}:")
        lines.append(
            f'        raise ValueError(f"{vname}: expected shape {shown} = {{{want}}}, got {{tuple({p}.shape)}}")'
        )
    return dim_names, lines
