"""tensorcalc: exact matrix and tensor calculus, printed in matrix notation.

>>> import tensorcalc as tc
>>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
>>> print(tc.derivative(f, "x"))
(A + A') @ x

Layers (lower never imports higher): IR (``ops``, ``shapes``, ``expr``, ``build``) → front ends
(``parse``, ``sugar``) → transformations (``diff``) → outputs (``printing``) → tools
(``numeric``, ``analysis``) → interfaces (``api``, ``frameworks``, ``cli``).
"""

from . import analysis, numeric, transforms
from .analysis import (
    CriticalPoint,
    OptimizeResult,
    classify,
    critical_points,
    minimize,
    plot,
    solve_stationary,
    taylor,
)  # fmt: skip
from .api import (
    Derivation,
    derivation,
    derivative,
    explain,
    gradient,
    hvp,
    jvp_expr,
    subs,
    vjp_expr,
)
from .api import hessian as _sym_hessian
from .api import jacobian as _sym_jacobian
from .codegen import Compiled, codegen
from .codegen import compile as compile  # noqa: A004
from .diff.reverse import MAX_NODES, MAX_ORDER
from .errors import (
    DifferentiationError,
    EvaluationError,
    NumericError,
    ParseError,
    ShapeError,
    TensorCalcError,
    TracingError,
)  # fmt: skip
from .explain import Explanation
from .expr import Expr
from .frameworks import to_jax, to_tensorflow, to_torch
from .numeric.check import CheckReport, check, check_grad, check_hessian, check_jacobian
from .numeric.evaluate import evaluate
from .parse import parse
from .printing.latex import to_latex as latex
from .printing.text import to_text as text
from .sugar import (
    abs_,
    arccos,
    arcsin,
    arctan,
    commutation,
    cos,
    det,
    diag,
    dot,
    exp,
    eye,
    inv,
    kron,
    log,
    log1p,
    logdet,
    logsumexp,
    matrix,
    norm,
    norm1,
    ones,
    outer,
    relu,
    reshape,
    scalar,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sqrt,
    step,
    tan,
    tanh,
    tensor,
    tr,
    trace,
    transpose,
    vec,
    vector,
    zeros,
)  # fmt: skip
from .sugar import sum as sum  # noqa: A004
from .transforms import formula, grad, jvp, value_and_grad, vjp

__version__ = "0.1.0"


def jacobian(f, wrt=0, shapes=None, *, argnums=None):
    """Jacobian: of an expression (``tc.jacobian("A @ x", "x")``) or of a Python function
    (``tc.jacobian(f, argnums)``, JAX-style).

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> import tensorcalc.numpy as tnp
    >>> print(tc.jacobian("A @ x", "x"))
    A
    >>> tc.jacobian(lambda w: tnp.sin(w))(np.array([0.0, 0.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    if callable(f) and not isinstance(f, (str, Expr)):
        return transforms.jacobian(f, wrt if argnums is None else argnums)
    return _sym_jacobian(f, wrt, shapes)


def hessian(f, wrt=0, shapes=None, *, argnums=None):
    """Hessian: of an expression (``tc.hessian("x' @ A @ x", "x")``) or of a Python function
    (``tc.hessian(f, argnums)``, JAX-style).

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> import tensorcalc.numpy as tnp
    >>> print(tc.hessian("x' @ A @ x", "x"))
    A + A'
    >>> tc.hessian(lambda w: tnp.sum(w ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    if callable(f) and not isinstance(f, (str, Expr)):
        return transforms.hessian(f, wrt if argnums is None else argnums)
    return _sym_hessian(f, wrt, shapes)


__all__ = [
    "analysis", "CriticalPoint", "OptimizeResult", "classify", "critical_points", "minimize",
    "plot", "solve_stationary", "taylor",
    "formula", "grad", "jvp", "value_and_grad", "vjp", "transforms", "TracingError",
    "Compiled", "codegen", "compile", "CheckReport", "check", "check_grad", "check_hessian", "check_jacobian", "numeric",
    "Derivation", "DifferentiationError", "explain", "Explanation", "EvaluationError", "Expr", "NumericError", "ParseError", "ShapeError",
    "TensorCalcError", "abs_", "arccos", "arcsin", "arctan", "cos", "derivation", "derivative",
    "det", "diag", "dot", "evaluate", "exp", "eye", "gradient", "hessian", "inv", "jacobian",
    "latex", "log", "log1p", "logdet", "logsumexp", "matrix", "norm", "norm1", "ones", "outer",
    "parse", "relu", "scalar", "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt", "step",
    "subs", "sum", "tan", "tanh", "tensor", "text", "tr", "trace", "transpose", "vector", "zeros",
    "MAX_ORDER", "MAX_NODES", "to_jax", "to_tensorflow", "to_torch",
    "hvp", "jvp_expr", "vjp_expr",
    "reshape", "vec", "kron", "commutation",
]  # fmt: skip
