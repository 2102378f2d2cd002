"""The per-task linear feature baseline of MAML's policy gradients (as in rllab and its ports).

Each task's baseline is a linear function of the features ``(obs, obs², t, t², t³, 1)`` with
``t = step / 100`` (observations clipped to [-10, 10]), fitted by ridge least squares to the
discounted returns of that task's own trajectories. Padded steps (after an episode ended) have
all-zero features and zero targets, so they do not move the fit. The ridge coefficient starts at
``1e-5`` and is raised ×10 where a solve fails or is not finite, up to five times.
"""

from __future__ import annotations

import torch

from metarl.agents.base import TrainingError

RIDGE = 1e-5
RIDGE_RAISES = 5
TIME_SCALE = 100.0
OBS_CLIP = 10.0


def features(obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Baseline features of time-major steps: ``obs`` ``(T, ..., D)``, ``mask`` ``(T, ...)``
    (1 on real steps, 0 on padding) → ``(T, ..., 2D + 4)``, zero on padded steps."""
    o = obs.clamp(-OBS_CLIP, OBS_CLIP)
    shape = (obs.shape[0],) + (1,) * (obs.dim() - 1)
    t = (torch.arange(obs.shape[0], device=obs.device, dtype=obs.dtype) / TIME_SCALE).view(shape)
    t = t.expand(*obs.shape[:-1], 1)
    feats = torch.cat([o, o * o, t, t**2, t**3, torch.ones_like(t)], dim=-1)
    return feats * mask.unsqueeze(-1)


def fit(
    feats: torch.Tensor, targets: torch.Tensor, ridge: float = RIDGE
) -> tuple[torch.Tensor, float]:
    """Ridge weights per task: ``feats`` ``(M, N, F)``, ``targets`` ``(M, N)`` → ``(M, F)``, and
    the largest ridge coefficient any task needed.

    Solves ``(XᵀX + λI) w = Xᵀy`` by Cholesky for all tasks at once; tasks whose solve fails or
    is not finite get ``λ × 10`` and are solved again, up to :data:`RIDGE_RAISES` times. Raises
    :class:`TrainingError` when a task still fails (its data hold NaN/inf, or it is degenerate
    beyond repair). One host sync per attempt.
    """
    gram = feats.transpose(1, 2) @ feats  # (M, F, F)
    rhs = (feats.transpose(1, 2) @ targets.unsqueeze(-1)).squeeze(-1)  # (M, F)
    eye = torch.eye(gram.shape[-1], device=gram.device, dtype=gram.dtype)
    lam = torch.full(gram.shape[:1], ridge, device=gram.device, dtype=gram.dtype)
    weights = torch.zeros_like(rhs)
    todo = torch.ones(gram.shape[0], dtype=torch.bool, device=gram.device)
    for _ in range(RIDGE_RAISES + 1):
        chol, info = torch.linalg.cholesky_ex(gram + lam[:, None, None] * eye)
        w = torch.cholesky_solve(rhs.unsqueeze(-1), chol).squeeze(-1)
        ok = (info == 0) & torch.isfinite(w).all(-1)
        weights = torch.where((todo & ok)[:, None], w.nan_to_num(), weights).detach()
        todo = todo & ~ok
        if not bool(todo.any()):
            return weights, float(lam.max())
        lam = torch.where(todo, lam * 10, lam)
    raise TrainingError(
        f"the linear baseline could not be fitted for {int(todo.sum())} task(s) even with ridge "
        f"{float(lam.max() / 10):g} (NaN/inf in the observations or returns?): check the family's "
        "observations, or lower the learning rates"
    )


def predict(feats: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Baseline values: ``feats`` ``(T, M, B, F)`` and per-task ``weights`` ``(M, F)`` →
    ``(T, M, B)``."""
    return torch.einsum("tmbf,mf->tmb", feats, weights)
