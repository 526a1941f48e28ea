"""Numerically stable NumPy kernels shared by the reference evaluator and ``tensorcalc.numpy``."""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), written with tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x)))


def logsumexp(x):
    """log Σ exp(x) over all entries, shifted by the maximum."""
    x = np.asarray(x)
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def softmax(x):
    """exp(x) / Σ exp(x) over all entries, shifted by the maximum."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def logdet(x):
    """log |det x|."""
    return np.linalg.slogdet(x)[1]


def select(m, n, start, step):
    """The m×n matrix with ones at (i, start + i·step)."""
    out = np.zeros((m, n))
    out[np.arange(m), start + step * np.arange(m)] = 1.0
    return out


def softplus(x):
    """log(1 + eˣ) without overflow; analytic in x, so the complex step works through it."""
    x = np.asarray(x)
    if not np.iscomplexobj(x):
        return np.logaddexp(0.0, x)
    pos = x.real > 0
    safe_pos, safe_neg = np.where(pos, x, 0), np.where(pos, 0, x)
    return np.where(pos, x + np.log1p(np.exp(-safe_pos)), np.log1p(np.exp(safe_neg)))
