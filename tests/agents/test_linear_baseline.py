"""The linear feature baseline: features, a ridge fit that escalates on a singular design, errors."""

from __future__ import annotations

import pytest
import torch

from metarl.agents import linear_baseline as lb
from metarl.agents.base import TrainingError


def test_features_are_obs_squares_time_powers_and_one_with_padding_zeroed() -> None:
    obs = torch.arange(6.0).view(3, 1, 1, 2)  # (T=3, M=1, B=1, D=2)
    mask = torch.tensor([1.0, 1.0, 0.0]).view(3, 1, 1)
    feats = lb.features(obs, mask)
    assert feats.shape == (3, 1, 1, 8)
    t = 1 / lb.TIME_SCALE
    expected = torch.tensor([2.0, 3.0, 4.0, 9.0, t, t**2, t**3, 1.0])
    assert torch.allclose(feats[1, 0, 0], expected)
    assert (feats[2] == 0).all()  # a padded step adds nothing to the fit


def test_fit_recovers_exact_linear_targets_per_task() -> None:
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 50, 4, generator=g)
    true = torch.randn(3, 4, generator=g)
    targets = torch.einsum("mnf,mf->mn", feats, true)
    weights, ridge = lb.fit(feats, targets)
    assert ridge == pytest.approx(lb.RIDGE)
    assert torch.allclose(weights, true, atol=1e-3)


def test_ridge_escalation_recovers_from_a_singular_design() -> None:
    # Two equal columns of 64 over 256 rows: XᵀX = 2**20 [[1, 1], [1, 1]] is singular, and in
    # float32 a ridge below half a unit in the last place of 2**20 (0.0625) is lost entirely, so
    # the Cholesky solves with 1e-5 ... 1e-2 fail; the fourth raise, 0.1, succeeds.
    feats = torch.full((1, 256, 2), 64.0)
    targets = torch.full((1, 256), 192.0)
    weights, ridge = lb.fit(feats, targets)
    assert ridge == pytest.approx(0.1)
    assert torch.isfinite(weights).all()
    fitted = torch.einsum("mnf,mf->mn", feats, weights)
    assert torch.allclose(fitted, targets, rtol=1e-4)


def test_fit_that_cannot_succeed_raises_a_clear_error() -> None:
    feats = torch.ones(2, 10, 3)
    feats[1, 3, 0] = float("nan")
    with pytest.raises(TrainingError, match="linear baseline could not be fitted for 1 task"):
        lb.fit(feats, torch.ones(2, 10))
