"""Conjugate gradient and the KL-bounded line search of the TRPO outer loop."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from metarl.agents.trpo import conjugate_gradient, line_search


@given(st.integers(2, 12), st.integers(0, 10_000))
def test_conjugate_gradient_solves_spd_systems(n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    spd = a @ a.T + n * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, generator=g, dtype=torch.float64)
    x = conjugate_gradient(lambda v: spd @ v, b, iters=2 * n, tol=1e-20)
    assert torch.allclose(spd @ x, b, atol=1e-8)


def test_conjugate_gradient_is_exact_in_n_steps_on_a_diagonal_system() -> None:
    d = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64)
    x = conjugate_gradient(lambda v: d * v, torch.ones(3, dtype=torch.float64), iters=3, tol=0)
    assert torch.allclose(x, 1 / d)


@given(
    st.lists(st.tuples(st.floats(-2, 2), st.floats(0, 0.05)), min_size=15, max_size=15),
    st.floats(-1, 1),
)
def test_line_search_never_accepts_a_worse_or_too_far_step(outcomes: list, before: float) -> None:
    seen: list[float] = []

    def evaluate(step: torch.Tensor) -> tuple[float, float]:
        seen.append(float(step[0]))
        return outcomes[len(seen) - 1]

    step = torch.ones(2, dtype=torch.float64)
    result = line_search(evaluate, step, before, max_kl=0.01, backtracks=15, ratio=0.8)
    if result.accepted:
        loss, kl = outcomes[result.shrinks]
        assert loss < before and kl <= 0.01
        assert (result.step == 0.8**result.shrinks).all() and result.loss == loss
        # every earlier, longer step was refused for a reason
        assert all(o[0] >= before or o[1] > 0.01 for o in outcomes[: result.shrinks])
    else:
        assert (result.step == 0).all() and result.loss == before
        assert all(o[0] >= before or o[1] > 0.01 for o in outcomes)
    assert seen == [0.8**k for k in range(len(seen))]  # steps shrink by the ratio
