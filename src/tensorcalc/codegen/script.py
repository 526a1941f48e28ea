"""Exported scripts: the generated module plus what matrixcalculus.org's export has.

``script(source, outputs, backend, name)`` appends to a generated module

* ``random_inputs(seed, sizes)``: float64 inputs in the domains of the ops they feed (positive
  for ``log``/``sqrt``/powers, in (-1, 1) for ``arcsin``/``arccos``, symmetric positive definite
  and well-conditioned for ``inv``/``det``/``logdet``/``solve``), as ``tc.check`` draws them;
* ``check_gradient(inputs)``: every output that is the derivative of an earlier output (the
  gradient of the value, the Hessian of the gradient) against central differences of it;
* a ``__main__`` demo that prints the outputs and exits 1 if the check fails.

The script needs only the array library and NumPy; which output differentiates which is found
here by differentiating as ``tc.derivative`` does and comparing the graphs, never by shape.
"""

from __future__ import annotations

from ..diff.order import one_order
from ..expr import Expr, postorder, variables
from ..ops import Op
from .backends import Backend

# op -> the domain its first argument needs, when that argument is a variable (or its transpose)
DOMAIN = {
    Op.LOG: "positive", Op.SQRT: "positive", Op.LOG1P: "positive", Op.POW: "positive",
    Op.ARCSIN: "unit", Op.ARCCOS: "unit",
    Op.INV: "spd", Op.DET: "spd", Op.LOGDET: "spd",
    Op.CHOLESKY: "spd", Op.EIGVALSH: "spd", Op.EIGVECSH: "spd",
}  # fmt: skip
if hasattr(Op, "SOLVE"):
    DOMAIN[Op.SOLVE] = "spd"

# domain -> the expression drawing a value of shape ``shape`` (rng and onp in scope)
DRAW = {
    "positive": "rng.uniform(0.5, 2.0, size={shape})",
    "unit": "rng.uniform(-0.8, 0.8, size={shape})",
    "spd": "_spd(rng, {shape})",
    None: "rng.normal(size={shape})",
}

_TEMPLATE = '''

# -- exported script: random inputs, a derivative check, a demo -------------------------------

SIZES = {sizes}  # sizes of the symbolic dimensions (distinct, so transposition bugs show)
DERIVATIVES = {pairs}  # (output k, output j, variable): output k = d(output j)/d(variable)


def _spd(rng, shape):
    a = rng.normal(size=shape)
    return a @ a.T / shape[0] + onp.eye(shape[0])


def random_inputs(seed=0, sizes=None):
    """Random float64 inputs in the domains of the functions they feed (positive for log,
    symmetric positive definite for inv)."""
    rng = onp.random.default_rng(seed)
    s = SIZES | dict(sizes or {{}})
    inputs = {{}}
{draws}
    return inputs


def to_numpy(x):
    """A NumPy array from this backend's array."""
    if hasattr(x, "asnumpy"):  # mxnet
        x = x.asnumpy()
    if hasattr(x, "compute"):  # dask
        x = x.compute()
    if hasattr(x, "detach"):  # torch
        x = x.detach().cpu()
    return onp.asarray(x, dtype=float)


def outputs(inputs):
    """All outputs of {name} as NumPy arrays."""
    res = {name}({args})
    return [to_numpy(r) for r in (res if isinstance(res, tuple) else (res,))]


def check_gradient(inputs=None, eps=1e-6, rtol=1e-5, atol=1e-6):
    """Compare each derivative output with central differences of the output it
    differentiates; prints one line per check and returns True when all agree."""
{setup}    inputs = random_inputs() if inputs is None else inputs
    ok = True
    for k, j, name in DERIVATIVES:
        exact = outputs(inputs)[k]
        x = onp.array(inputs[name], dtype=float)
        numeric = onp.zeros(exact.shape)
        for idx in onp.ndindex(x.shape):
            step = onp.zeros(x.shape)
            step[idx] = eps
            plus = outputs(inputs | {{name: x + step}})[j]
            minus = outputs(inputs | {{name: x - step}})[j]
            numeric[(Ellipsis,) + idx] = (plus - minus) / (2 * eps)
        err = float(onp.max(onp.abs(exact - numeric), initial=0.0))
        good = bool(onp.allclose(exact, numeric, rtol=rtol, atol=atol))
        ok = ok and good
        print(f"output {{k}} = d(output {{j}})/d{{name}}: max error {{err:.2e}}", "ok" if good else "FAILED")
    if not DERIVATIVES:
        print("no output is the derivative of another: nothing to check")
    return ok


if __name__ == "__main__":
{setup}    inputs = random_inputs()
    for k, out in enumerate(outputs(inputs)):
        print(f"output {{k}} (shape {{out.shape}}):")
        print(out)
    raise SystemExit(0 if check_gradient(inputs) else 1)
'''

# backend -> a line run before the check and the demo (the differences need float64)
SETUP = {"jax": '    import jax\n\n    jax.config.update("jax_enable_x64", True)\n'}


def domains(outputs: list[Expr]) -> dict:
    """Variable name -> the domain the ops it feeds need (the first that asks)."""
    out = {}
    for n in postorder(outputs):
        if n.op in DOMAIN:
            a = n.args[0]
            while a.op is Op.EINSUM and len(a.args) == 1:
                a = a.args[0]
            if a.op is Op.VAR:
                out.setdefault(a.attrs[0], DOMAIN[n.op])
    return out


def _derivatives(f: Expr, x: Expr) -> tuple:
    """d f / d x as the rules give it and as ``tc.derivative`` returns it (simplified; on a
    symmetric matrix, projected)."""
    one = one_order(f, x)
    return one.raw, one.result


def derivative_pairs(outputs: list[Expr]) -> list[tuple]:
    """``(k, j, name)`` for each output k that is the derivative of output j in ``name``."""
    pairs = []
    for k, dk in enumerate(outputs):
        for j, fj in enumerate(outputs[:k]):
            for name, v in sorted(variables(fj).items()):
                if dk.shape == fj.shape + v.shape and dk in _derivatives(fj, v):
                    pairs.append((k, j, name))
    return pairs


def script(source: str, outputs: list[Expr], backend: Backend, params: dict, name: str) -> str:
    """``source`` (a generated module) with random inputs, a derivative check and a demo."""
    found = {}
    for o in outputs:
        found.update(variables(o))
    sizes = {}
    for n in postorder(outputs):
        sizes.update({d: 2 + len(sizes) for d in n.shape if isinstance(d, str) and d not in sizes})
    kinds = domains(outputs)
    draws = []
    for v in sorted(found):
        shape = found[v].shape
        dims = ", ".join(f"s[{d!r}]" if isinstance(d, str) else str(d) for d in shape)
        shown = "(" + dims + ("," if len(shape) == 1 else "") + ")"
        draws.append(f"    inputs[{v!r}] = " + DRAW[kinds.get(v)].format(shape=shown))
    args = [
        f"inputs[{v!r}]" if isinstance(v, str) else f"{p}=SIZES[{v[1]!r}]"
        for v, p in params.items()
    ]
    text = _TEMPLATE.format(
        sizes=repr(sizes),
        pairs=repr(derivative_pairs(outputs)),
        draws="\n".join(draws),
        name=name,
        args=", ".join(args),
        setup=SETUP.get(backend.name, ""),
    )
    if "\nimport numpy as np\n" in source:  # NumPy is already there as np
        return source + text.replace("onp.", "np.")
    if "\nimport numpy as onp\n" in source:
        return source + text
    lines = source.split("\n")
    at = next(k for k, line in enumerate(lines) if line.startswith(("import ", "from ")))
    while lines[at].startswith("import ") and lines[at].split()[1] < "numpy":
        at += 1  # isort's place for it
    return "\n".join(lines[:at] + ["import numpy as onp"] + lines[at:]) + text
