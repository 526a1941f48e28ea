"""The error hierarchy: every failure caused by user input is a ``TensorCalcError``.

``TensorCalcError`` subclasses ``ValueError`` so that callers that already catch
``ValueError`` keep working.  Each subclass carries what a user needs to fix the input:
parse errors the position and a caret line, shape errors the op and the operand shapes.
"""

from __future__ import annotations


class TensorCalcError(ValueError):
    """Base class of all tensorcalc errors caused by bad input.

    >>> import tensorcalc as tc
    >>> try:
    ...     tc.parse("x +* 2")
    ... except tc.TensorCalcError as err:   # every error caused by bad input
    ...     print(type(err).__name__, isinstance(err, ValueError))
    ParseError True
    """


class ParseError(TensorCalcError):
    """An expression string could not be parsed.

    ``position`` is the 0-based offset into ``text``; ``str(err)`` shows the text with a caret.

    >>> import tensorcalc as tc
    >>> try:
    ...     tc.parse("x +* 2")
    ... except tc.ParseError as err:
    ...     print(err.position)
    3
    """

    def __init__(self, message: str, text: str, position: int):
        self.message = message
        self.text = text
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {text}\n  {caret}")


class ShapeError(TensorCalcError):
    """Operand shapes do not fit an operation (names the op and the operand shapes).

    >>> import tensorcalc as tc
    >>> try:
    ...     tc.parse("A @ x", shapes={"A": (2, 3), "x": (2,)})
    ... except tc.ShapeError as err:
    ...     print(str(err).splitlines()[0])
    shape error in @: operand shapes (2, 3), (2,): inner dimensions 3 and 2 differ
    """

    def __init__(self, op: str, shapes, detail: str = ""):
        self.op = op
        self.shapes = tuple(shapes)
        shown = ", ".join(format_shape(s) for s in self.shapes)
        msg = f"shape error in {op}: operand shapes {shown}" if self.shapes else f"error in {op}"
        self.detail = detail
        self.position = None
        super().__init__(f"{msg}: {detail}" if detail else msg)

    def at(self, text: str, position: int, hint: str = "") -> ShapeError:
        """The same error located in ``text`` with a caret line (and an optional hint)."""
        err = ShapeError(self.op, self.shapes, self.detail)
        err.position = position
        extra = f"\n  {text}\n  {' ' * position}^"
        err.args = (str(self) + extra + (f"\n{hint}" if hint else ""),)
        return err


class NumericError(TensorCalcError):
    """A constant in an expression is not a finite number (folding overflowed float64).

    >>> import tensorcalc as tc
    >>> try:
    ...     tc.ones((2,)) * 1e308 * 10.0
    ... except tc.NumericError as err:
    ...     print(err)
    a constant is inf (it overflowed float64 or is undefined); rescale the expression or use a variable
    """


class DifferentiationError(TensorCalcError):
    """A derivative was requested that cannot be computed (bad variable, order, layout).

    >>> import tensorcalc as tc
    >>> try:
    ...     tc.derivative("sin(x)", "x", order=10**18)
    ... except tc.DifferentiationError as err:
    ...     print(type(err).__name__)
    DifferentiationError
    """


class TracingError(TensorCalcError):
    """A Python function did something with a traced value that cannot be traced.

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> def f(x):
    ...     return x if x > 0 else -x       # branches on a traced value
    >>> try:
    ...     tc.grad(f)(1.0)
    ... except tc.TracingError as err:
    ...     print(type(err).__name__)
    TracingError
    """


class EvaluationError(TensorCalcError):
    """Values given to ``evaluate`` are missing or do not match the declared shapes.

    >>> import numpy as np
    >>> import tensorcalc as tc
    >>> try:
    ...     tc.parse("inv(X)", shapes={"X": (2, 2)}).evaluate({"X": np.zeros((2, 2))})
    ... except tc.EvaluationError as err:
    ...     print(type(err).__name__)
    EvaluationError
    """


def format_shape(shape) -> str:
    """Format a shape tuple as ``(n, 3)``; ``()`` for scalars."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"
