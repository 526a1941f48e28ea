"""Numerical tools: the reference NumPy evaluator of the IR (``evaluate``)."""
