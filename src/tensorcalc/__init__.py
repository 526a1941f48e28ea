"""tensorcalc: exact matrix and tensor calculus, printed in matrix notation.

>>> import tensorcalc as tc
>>> f = tc.parse("x' @ A @ x", shapes={"x": ("n",), "A": ("n", "n")})
>>> print(tc.derivative(f, "x"))
(A + A') @ x

Layers (lower never imports higher): IR (``ops``, ``shapes``, ``expr``, ``build``) → front ends
(``parse``, ``sugar``) → transformations (``diff``) → outputs (``printing``) → tools
(``numeric``) → interfaces (``api``, ``cli``).
"""

from . import numeric
from .api import Derivation, derivation, derivative, gradient, hessian, jacobian, subs
from .codegen import Compiled, codegen
from .codegen import compile as compile  # noqa: A004
from .errors import DifferentiationError, EvaluationError, ParseError, ShapeError, TensorCalcError
from .expr import Expr
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
    cos,
    det,
    diag,
    dot,
    exp,
    eye,
    inv,
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
    vector,
    zeros,
)  # fmt: skip
from .sugar import sum as sum  # noqa: A004

__version__ = "0.1.0"

__all__ = [
    "Compiled", "codegen", "compile", "CheckReport", "check", "check_grad", "check_hessian", "check_jacobian", "numeric",
    "Derivation", "DifferentiationError", "EvaluationError", "Expr", "ParseError", "ShapeError",
    "TensorCalcError", "abs_", "arccos", "arcsin", "arctan", "cos", "derivation", "derivative",
    "det", "diag", "dot", "evaluate", "exp", "eye", "gradient", "hessian", "inv", "jacobian",
    "latex", "log", "log1p", "logdet", "logsumexp", "matrix", "norm", "norm1", "ones", "outer",
    "parse", "relu", "scalar", "sigmoid", "sign", "sin", "softmax", "softplus", "sqrt", "step",
    "subs", "sum", "tan", "tanh", "tensor", "text", "tr", "trace", "transpose", "vector", "zeros",
]  # fmt: skip
