"""Discrete distributions of head counts: people who will need an agent, agents who will
be free — one row per horizon, all horizons in one numpy array.

Each unresolved call needs an agent with its own probability, so the number that do
is a Poisson-binomial; it is replaced here by the binomial of the same mean and
variance (exact for equal probabilities, and close in the tail for the mixes a
campaign has), which costs one vector instead of one convolution per call. Agents
freeing without any per-agent knowledge are a Poisson count. A decision works on a
few arrays of (horizons × a few hundred) numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.float64]

_log_factorials: Rows = np.zeros(1)
#: Probabilities are kept this far from 0 and 1 (logs stay finite; a count that is
#: certain comes out as a point mass to within this).
_EDGE = 1e-12


def _clip(values: npt.NDArray[Any], low: float, high: float) -> npt.NDArray[Any]:
    """``np.clip`` without its dispatch layers (a decision makes ~10 of these calls on
    small arrays, where the wrapper cost more than the arithmetic); same values."""
    return np.minimum(np.maximum(values, low), high)


def _log_factorial_table(n: int) -> Rows:
    """log(k!) for k = 0..n (grown on demand, kept for the process)."""
    global _log_factorials
    if len(_log_factorials) <= n:
        size = max(n + 1, 2 * len(_log_factorials))
        _log_factorials = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, size)))))
    return _log_factorials


def binomial_rows(n: npt.NDArray[np.int64], p: Rows) -> Rows:
    """Row u: P(X = k) for X ~ Binomial(n[u], p[u]), k = 0..max(n)."""
    width = int(n.max()) + 1 if len(n) else 1
    table = _log_factorial_table(width)
    k = np.arange(width)
    column_n = n[:, None]
    column_p = _clip(p, _EDGE, 1.0 - _EDGE)[:, None]
    rest = np.maximum(column_n - k, 0)
    log_pmf = (
        table[column_n] - table[k] - table[rest] + k * np.log(column_p) + rest * np.log1p(-column_p)
    )
    rows: Rows = np.where(k <= column_n, np.exp(log_pmf), 0.0)
    return rows


def bernoulli_sum_rows(mean: Rows, variance: Rows, events: int) -> Rows:
    """Row u: the count of ``events`` independent yes/no events whose probabilities
    sum to ``mean[u]`` with variances summing to ``variance[u]`` — the binomial of that
    mean and variance."""
    mean = np.maximum(mean, 0.0)
    success = _clip(1.0 - variance / np.maximum(mean, _EDGE), 1e-9, 1.0)
    n = _clip(np.rint(mean / success), 1, max(1, events)).astype(np.int64)
    return binomial_rows(n, np.minimum(1.0, mean / n))


def poisson_rows(mean: Rows) -> Rows:
    """Row u: P(X = k) for X ~ Poisson(mean[u]), up to where the rest is negligible."""
    mean = np.maximum(mean, 0.0)
    top = int(mean.max() + 10.0 * np.sqrt(mean.max()) + 10) if len(mean) else 0
    table = _log_factorial_table(top)
    k = np.arange(top + 1)
    column = np.maximum(mean, _EDGE)[:, None]
    rows: Rows = np.exp(k * np.log(column) - column - table[: top + 1])
    rows[mean <= _EDGE] = 0.0
    rows[mean <= _EDGE, 0] = 1.0
    return rows


class DifferenceTails:
    """``P(X_u - Y_u >= v)`` for pairs u of independent counts (rows of ``xs`` and
    ``ys``), tabulated once over a common range of v, then asked for
    ``P(X_u + B_u - Y_u >= d)`` where B_u is a binomial that changes from question to
    question (the calls about to be launched)."""

    def __init__(self, xs: Rows, ys: Rows) -> None:
        self.low = -(ys.shape[1] - 1)
        width = xs.shape[1] - self.low
        self.tails = np.zeros((len(xs), width))
        for u in range(len(xs)):
            difference = np.convolve(xs[u], ys[u, ::-1])  # values low .. len(x) - 1
            self.tails[u, : len(difference)] = np.cumsum(difference[::-1])[::-1]

    def prob_at_least(self, d: int, n: int, q: Rows) -> Rows:
        """Row u: P(X_u + B_u - Y_u >= d), B_u ~ Binomial(n, q[u])."""
        width = self.tails.shape[1]
        pmf = binomial_rows(np.full(len(q), n, dtype=np.int64), q)
        index = d - np.arange(n + 1) - self.low
        inside = self.tails[:, _clip(index, 0, width - 1)]
        values = np.where(index < 0, 1.0, np.where(index >= width, 0.0, inside))
        result: Rows = _clip((pmf * values).sum(axis=1), 0.0, 1.0)
        return result


__all__ = [
    "DifferenceTails",
    "Rows",
    "bernoulli_sum_rows",
    "binomial_rows",
    "poisson_rows",
]
