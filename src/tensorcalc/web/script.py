"""The page's NumPy export: a complete script around ``tc.codegen``'s module.

Like matrixcalculus.org's export, the script computes the value and the derivative, checks the
shapes, checks the derivative against central differences and runs on random test data when
executed (``python derivative.py``).  It is the fallback until ``tc.codegen(..., script=True)``
is available (``compute.FEATURES["script"]``).

The check differentiates numerically the output one order below (the function itself for a
first derivative) and compares with the derivative in Jacobian layout, which is added as an
output when the requested layout differs.  The random data respects the functions' domains as
``tc.check`` does (positive for ``log``, well-conditioned matrices for ``inv``/``det``).
"""

from __future__ import annotations

import tensorcalc as tc

from ..expr import variables
from ..numeric.check import _domains, random_values

TEMPLATE = '''

# ------------------------------------------------------------------------------------------
# Test data, shape checks and a derivative check (exported by `tensorcalc serve`).

DIMS = {dims}


def random_inputs(rng):
    """Random inputs with the sizes in DIMS (distinct sizes show transposition bugs)."""
    return {{
{inputs}
    }}


def numerical_derivative(inputs, output, h=1e-6):
    """Central differences of output number `output` of {name} with respect to {wrt}."""
    x0 = np.asarray(inputs["{wrt}"], dtype=float)
    base = np.asarray({name}(**inputs)[output])
    result = np.zeros(base.shape + x0.shape)
    for idx in np.ndindex(*x0.shape):
        step = np.zeros_like(x0)
        step[idx] = h
        plus = np.asarray({name}(**{{**inputs, "{wrt}": x0 + step}})[output])
        minus = np.asarray({name}(**{{**inputs, "{wrt}": x0 - step}})[output])
        result[(Ellipsis,) + idx] = (plus - minus) / (2 * h)
    return result


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    inputs = random_inputs(rng)
    outputs = {name}(**inputs)
    value, derivative = outputs[0], outputs[1]
    assert np.shape(value) == {value_shape}, np.shape(value)
    assert np.shape(derivative) == {derivative_shape}, np.shape(derivative)
    expected = numerical_derivative(inputs, {below})
    actual = np.asarray(outputs[{jacobian}])
    error = np.max(np.abs(actual - expected), initial=0.0)
    scale = max(1.0, np.max(np.abs(expected), initial=0.0))
    np.set_printoptions(precision=6, suppress=True)
    print("value =", value)
    print("{label} =", derivative)
    print(f"derivative check: max error {{error:.2e}} against central differences", end=" ")
    print("(ok)" if error <= 1e-5 * scale else "(FAILED)")
    assert error <= 1e-5 * scale
'''


def _sizes(shape, dims) -> str:
    parts = [repr(d) if isinstance(d, int) else f'DIMS["{d}"]' for d in shape]
    return "()" if not parts else "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _draw(name: str, shape, kind, dims) -> str:
    size = _sizes(shape, dims)
    if kind == "spd" and len(shape) == 2:
        n = _sizes(shape[:1], dims)[1:-2]
        return f'"{name}": (lambda a: a @ a.T / {n} + np.eye({n}))(rng.standard_normal({size})),'
    if kind == "positive":
        return f'"{name}": rng.uniform(0.5, 2.0, size={size}),'
    if kind == "unit":
        return f'"{name}": rng.uniform(-0.8, 0.8, size={size}),'
    return f'"{name}": rng.standard_normal({size}),'


def numpy_script(f, wrt: str, order: int = 1, layout: str = "jacobian", name: str = "fun") -> str:
    """A runnable NumPy script for ``f`` and its ``order``-th derivative by ``wrt``.

    >>> import tensorcalc as tc
    >>> src = numpy_script(tc.parse("x' @ A @ x", {"x": "n", "A": "n,n"}), "x")
    >>> "def fun(A, x)" in src and "derivative check" in src
    True
    """
    d = tc.derivative(f, wrt, order=order, layout=layout)
    jac = tc.derivative(f, wrt, order=order)
    below = f if order == 1 else tc.derivative(f, wrt, order=order - 1)
    outputs = [f, d]
    for extra in (below, jac):
        if not any(extra is o for o in outputs):
            outputs.append(extra)
    index = lambda e: next(i for i, o in enumerate(outputs) if o is e)  # noqa: E731
    _, dims = random_values(f, 0)
    domains = _domains(f)
    from_vars = {n: v.shape for n, v in variables(f).items()}
    inputs = "\n".join(
        "        " + _draw(n, shape, domains.get(n), dims) for n, shape in sorted(from_vars.items())
    )
    label = "derivative" if order == 1 else f"order-{order} derivative"
    return tc.codegen(outputs, backend="numpy", name=name) + TEMPLATE.format(
        dims=repr(dims),
        inputs=inputs,
        name=name,
        wrt=wrt,
        value_shape=_sizes(f.shape, dims),
        derivative_shape=_sizes(d.shape, dims),
        below=index(below),
        jacobian=index(jac),
        label=label,
    )
