"""Numerical tools: the reference evaluator (``evaluate``), finite differences (``fd``) and
derivative checking (``check``).

>>> from tensorcalc import numeric
>>> numeric.difference_quotient(lambda x: x**2, 2, 0.1)
4.1
"""

from .fd import METHODS, derivative, difference_quotient, gradient, hessian, jacobian

__all__ = ["METHODS", "derivative", "difference_quotient", "gradient", "hessian", "jacobian"]
