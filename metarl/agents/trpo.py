"""Trust-region pieces of MAML's outer loop: conjugate gradient and a KL-bounded line search.

Both work on flat parameter vectors and take the model as callables, so they are tested on small
analytic problems (tests/agents/test_trpo.py) and reused by any TRPO-style update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iters: int = 10,
    tol: float = 1e-10,
) -> torch.Tensor:
    """Approximately solve ``A x = b`` for a symmetric positive-definite ``A`` given as
    ``matvec(v) = A v`` (``b``, ``x``: flat ``(n,)``). Exact in ``n`` iterations for ``n``
    unknowns (in exact arithmetic); stops early when the squared residual drops below ``tol``.
    One host sync per iteration (the stopping test)."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(iters):
        if float(rr) < tol:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


class LineSearch(NamedTuple):
    """Result of :func:`line_search`: the accepted step (zeros when none was), its loss and KL,
    and how many shrinks it took (``backtracks`` when none was accepted)."""

    step: torch.Tensor
    loss: float
    kl: float
    shrinks: int
    accepted: bool


def line_search(
    evaluate: Callable[[torch.Tensor], tuple[float, float]],
    full_step: torch.Tensor,
    loss_before: float,
    max_kl: float,
    backtracks: int = 15,
    ratio: float = 0.8,
) -> LineSearch:
    """Backtrack along ``full_step``: try ``ratio**k * full_step`` for ``k = 0, 1, ...`` and take
    the first that lowers the loss below ``loss_before`` and keeps the KL within ``max_kl``.

    ``evaluate(step)`` returns ``(loss, kl)`` of the parameters moved by ``step``. When no step
    qualifies, the result has a zero step (the parameters stay where they were)."""
    for k in range(backtracks):
        step = full_step * ratio**k
        loss, kl = evaluate(step)
        if loss < loss_before and kl <= max_kl:
            return LineSearch(step, loss, kl, k, True)
    return LineSearch(torch.zeros_like(full_step), loss_before, 0.0, backtracks, False)
