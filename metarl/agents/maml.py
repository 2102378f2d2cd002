"""MAML with policy gradients (Finn et al. 2017) and its pretrained comparison.

An MLP policy (:class:`~metarl.agents.networks.MLPPolicy`) is called functionally on a dict of
weights. One meta-iteration:

1. draw ``meta_batch`` training tasks and run ``fast_batch`` episodes of each with the current
   weights θ, in **one** vector env of ``meta_batch × fast_batch`` sub-envs (sub-env ``i·B + b``
   holds task ``i``);
2. adapt: per task, one REINFORCE step on those episodes with a linear feature baseline,
   ``θ_i = θ - α ∇L_i(θ)``, for all tasks at once (the weights get a leading task axis and the
   policy runs under ``torch.func.vmap``); repeat for ``inner_steps``, each step on new episodes
   of the adapted policies;
3. run ``fast_batch`` episodes of each task with its adapted weights, and improve θ on them
   through the adaptation: TRPO (the paper: the mean KL of the adapted policies bounded by
   ``max_kl``, conjugate gradient on exact Hessian-vector products by double backward, and a
   backtracking line search), or a clipped PPO surrogate with Adam. ``first_order`` treats the
   inner gradients as constants (FOMAML).

Every episode of one batch runs in lockstep for the family's horizon; steps after a sub-env's
episode ended are padding, masked out of every loss and not counted as env steps (and not
simulated where the vector env can skip them: ``TaskVectorEnv.step_some``); adaptation and
the outer step run on :meth:`Episodes.packed` batches, without the padding. Each iteration's
draws come from ``(seed, iteration)`` streams (:mod:`metarl.agents.seeding`), so a resumed run
reproduces an uninterrupted one exactly on CPU.

:class:`Pretrained` trains the same network with the same outer optimizer on the pre-update
episodes only (no meta-objective, task-blind), and adapts exactly like MAML in evaluation.

Tensor layout: episodes are time-major with a task axis, ``(T, M, B, ...)`` for ``T`` steps,
``M`` tasks and ``B`` episodes per task; weights are dicts of ``(M, *shape)`` tensors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.func import functional_call, vmap

from metarl.agents import linear_baseline as lb
from metarl.agents import seeding
from metarl.agents.base import TrainingError
from metarl.agents.networks import MLPPolicy, RunningNorm
from metarl.agents.returns import discounted_returns, gae
from metarl.agents.trpo import conjugate_gradient, line_search
from metarl.config import MAMLConfig
from metarl.envs import make_vector_env, resolve_env_id
from metarl.envs.family import Task
from metarl.envs.vector import TaskVectorEnv, resolve_device
from metarl.evaluation import AdaptationCurve, build_curve

Weights = dict[str, torch.Tensor]

ACTIVATIONS: dict[str, type[torch.nn.Module]] = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}

EVAL_SUB_ENVS = 8192
"""Evaluation runs held-out tasks in chunks of at most this many sub-envs."""


class Episodes(NamedTuple):
    """One batch of ``B`` episodes of each of ``M`` tasks, time-major ``(T, M, B, ...)``."""

    obs: torch.Tensor  # (T, M, B, D) raw observations (the policy normalizes them if asked)
    actions: torch.Tensor  # (T, M, B) int64 or (T, M, B, A), unit scale
    rewards: torch.Tensor  # (T, M, B), zero on padding
    mask: torch.Tensor  # (T, M, B) float, 1 on real steps
    log_probs: torch.Tensor  # (T, M, B) under the policy that acted
    params: torch.Tensor  # (T, M, B, P) that policy's distribution parameters
    advantages: torch.Tensor  # (T, M, B), normalized per task if the config says so

    @property
    def steps(self) -> torch.Tensor:
        """(M,) real env steps per task."""
        return self.mask.sum(dim=(0, 2))

    @property
    def episode_returns(self) -> torch.Tensor:
        """(M,) mean undiscounted episode return per task."""
        return self.rewards.sum(dim=0).mean(dim=1)

    def packed(self) -> Episodes:
        """The same steps with each task's real ones first: every field ``(L, M, 1, ...)``, ``L``
        the most real steps of any task, the rest of a task's column padding (mask 0).

        The per-task masked means of the losses see the same terms, so they change only by
        rounding, and the outer step's products run over ``L·M`` steps instead of ``T·M·B``
        (far fewer where most episodes end long before the horizon, as on ant-dir). Episode
        structure is gone (``episode_returns`` is meaningless here): pack after the advantages.
        Returns ``self`` when no step is padding. One host sync (``L``).
        """
        t, m, b = self.mask.shape
        real = (self.mask > 0).permute(1, 2, 0).reshape(m, b * t)
        length = int(real.sum(dim=1).max())
        if length == b * t:
            return self
        order = torch.argsort((~real).to(torch.uint8), dim=1, stable=True)[:, :length]

        def pack(x: torch.Tensor) -> torch.Tensor:
            flat = x.permute(1, 2, 0, *range(3, x.dim())).reshape(m, b * t, *x.shape[3:])
            index = order.view(m, length, *([1] * (x.dim() - 3))).expand(m, length, *x.shape[3:])
            return flat.gather(1, index).transpose(0, 1).unsqueeze(2)

        return Episodes(*(pack(x) for x in self))


def _masked_task_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-task mean over real steps: ``(T, M, B)`` → ``(M,)``."""
    return (x * mask).sum(dim=(0, 2)) / mask.sum(dim=(0, 2)).clamp_min(1.0)


class MAML:
    """MAML-PG meta-learner (implements :class:`~metarl.agents.base.MetaLearner`)."""

    name = "maml"
    progress_metrics = ("pre_return", "post_return")
    budget_unit = "steps"
    meta_objective = True

    def __init__(self, config: MAMLConfig, train_tasks: Sequence[Task]) -> None:
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        self.env_id = resolve_env_id(config.env)
        self.train_tasks = list(train_tasks)
        self.env = self._vector_env(config.meta_batch * config.fast_batch)
        self.horizon = self.env.horizon
        obs_dim = int(np.prod(self.env.single_observation_space.shape))
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG state left as it was
            torch.manual_seed(config.seed)
            self.policy = MLPPolicy(
                obs_dim,
                self.env.single_action_space,
                config.hidden_sizes,
                config.init_log_std,
                ACTIVATIONS[config.activation],
            )
        self.policy.to(self.device)
        self.obs_norm = RunningNorm(obs_dim).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.ppo_lr)
        self.iteration = 0
        self.env_steps = 0

    def _vector_env(self, num_envs: int) -> TaskVectorEnv:
        cfg = self.config
        return make_vector_env(
            cfg.env, num_envs, self.device, validate_actions=False, **cfg.env_kwargs
        )

    @property
    def steps_per_iteration(self) -> int:
        """At most ``meta_batch × fast_batch × horizon`` env steps per rollout, one rollout per
        inner step plus the one after adaptation."""
        cfg = self.config
        return cfg.meta_batch * cfg.fast_batch * self.horizon * (self.train_inner_steps + 1)

    @property
    def train_inner_steps(self) -> int:
        """Inner steps inside a training iteration: the config's, or where it says 0, 1 for
        discrete actions and 2 for continuous ones (0 for the task-blind pretrained policy)."""
        if not self.meta_objective:
            return 0
        return self.config.inner_steps or (1 if self.policy.discrete else 2)

    # --- the policy, per task -------------------------------------------------------------------
    def weights(self) -> Weights:
        """θ: the policy's own parameters (leaves that require grad), by name."""
        return dict(self.policy.named_parameters())

    def stacked(self, weights: Weights, tasks: int) -> Weights:
        """``weights`` with a leading task axis of ``tasks`` (a view: gradients per task)."""
        return {k: v.unsqueeze(0).expand(tasks, *v.shape) for k, v in weights.items()}

    def forward(self, weights: Weights, obs: torch.Tensor) -> torch.Tensor:
        """Distribution parameters ``(T, M, B, P)`` of per-task weights ``(M, ...)`` on raw
        observations ``(T, M, B, D)`` (or ``(M, B, D)`` → ``(M, B, P)``), normalized first with
        the running statistics if the config asks."""
        obs = self._normalize(obs)
        axis = obs.dim() - 3  # the task axis: 1 for (T, M, B, D), 0 for (M, B, D)

        def call(w: Weights, o: torch.Tensor) -> torch.Tensor:
            return functional_call(self.policy, w, (o,))

        return vmap(call, in_dims=(0, axis), out_dims=axis)(weights, obs)

    def _normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return self.obs_norm(obs) if self.config.normalize_obs else obs

    # --- episodes -------------------------------------------------------------------------------
    @torch.no_grad()
    def rollout(
        self,
        env: TaskVectorEnv,
        weights: Weights,
        per_task: int,
        gen: torch.Generator,
        seed: int,
        deterministic: bool = False,
    ) -> Episodes:
        """One episode in every sub-env of ``env`` (``M × per_task`` of them, tasks already set),
        sub-env ``i·per_task + b`` acting with ``weights[·][i]`` (sampled actions, or with
        ``deterministic`` the most likely ones). Advantages are left zero (:meth:`with_advantages`
        fills them)."""
        n, horizon = env.num_envs, self.horizon
        m = n // per_task
        raw, _ = env.reset(seed=seed)
        alive = torch.ones(n, device=self.device)
        steps: list[tuple[torch.Tensor, ...]] = []
        for t in range(horizon):
            obs = raw.view(m, per_task, -1)
            params = self.forward(weights, obs)
            action = self.policy.mode(params) if deterministic else self.policy.sample(params, gen)
            logp = self.policy.log_prob(params, action)
            env_action = self.policy.to_env(action).reshape(n, *action.shape[2:])
            raw, reward, terminated, truncated, _ = env.step_some(env_action, alive > 0)
            steps.append((obs, action, reward.view(m, per_task) * alive.view(m, per_task),
                          alive.view(m, per_task), logp, params))  # fmt: skip
            alive = alive * ~(terminated | truncated)
            if t % 10 == 9 and not bool(alive.any()):  # every episode ended: stop early
                break
        obs, actions, rewards, mask, logps, params = (torch.stack(x) for x in zip(*steps))
        return Episodes(obs, actions, rewards, mask, logps, params, torch.zeros_like(rewards))

    def with_advantages(self, ep: Episodes) -> tuple[Episodes, float]:
        """``ep`` with advantages from a linear baseline fitted per task to its own returns
        (GAE with the config's λ; λ = 1 is return minus baseline); also the ridge it needed."""
        cfg = self.config
        t, m, b = ep.rewards.shape
        dones = torch.zeros(t, m, b, dtype=torch.bool, device=self.device)
        dones[-1] = True
        dones[:-1] |= (ep.mask[:-1] > 0) & (ep.mask[1:] == 0)  # the last real step of each episode
        zeros = torch.zeros_like(ep.rewards)
        returns = discounted_returns(ep.rewards.view(t, -1), dones.view(t, -1), cfg.gamma)
        feats = lb.features(self._normalize(ep.obs), ep.mask)
        flat = feats.permute(1, 0, 2, 3).reshape(m, t * b, -1)
        targets = (returns.view(t, m, b) * ep.mask).permute(1, 0, 2).reshape(m, t * b)
        weights, ridge = lb.fit(flat, targets)
        values = (lb.predict(feats, weights) * ep.mask).contiguous()
        adv, _ = gae(ep.rewards.view(t, -1), values.view(t, -1), dones.view(t, -1),
                     zeros[0].view(-1), cfg.gamma, cfg.gae_lambda)  # fmt: skip
        adv = adv.view(t, m, b) * ep.mask
        if cfg.normalize_advantages:
            mean = _masked_task_mean(adv, ep.mask).view(1, m, 1)
            var = _masked_task_mean((adv - mean) ** 2, ep.mask).view(1, m, 1)
            adv = (adv - mean) / (var.sqrt() + 1e-8) * ep.mask
        return ep._replace(advantages=adv), ridge

    # --- adaptation -----------------------------------------------------------------------------
    def inner_loss(self, weights: Weights, ep: Episodes) -> torch.Tensor:
        """(M,) REINFORCE loss of each task's weights on its episodes: minus the mean over real
        steps of log π(a|s) × advantage."""
        logp = self.policy.log_prob(self.forward(weights, ep.obs), ep.actions)
        return -_masked_task_mean(logp * ep.advantages, ep.mask)

    def inner_grads(
        self, weights: Weights, ep: Episodes, create_graph: bool
    ) -> tuple[torch.Tensor, ...]:
        """Each task's gradient of its inner loss, in the order of ``weights`` (``(M, ...)``
        each); with ``create_graph`` they stay differentiable (second-order MAML)."""
        loss = self.inner_loss(weights, ep).sum()  # task i's loss depends on w_i only
        return torch.autograd.grad(loss, list(weights.values()), create_graph=create_graph)

    def inner_step(self, weights: Weights, ep: Episodes, lr: float, create_graph: bool) -> Weights:
        """One policy-gradient step per task: ``w_i - lr ∇ inner_loss_i(w_i)``."""
        grads = self.inner_grads(weights, ep, create_graph)
        return {k: w - lr * g for (k, w), g in zip(weights.items(), grads)}

    def adapt(self, theta: Weights, batches: Sequence[Episodes], create_graph: bool) -> Weights:
        """Per-task weights after one inner step on each of ``batches`` in turn (training's
        step size), from θ (``(M, ...)`` stacked); no batches: θ stacked."""
        return self.adapt_with_chain(theta, batches, create_graph)[0]

    # --- the outer objective --------------------------------------------------------------------
    def outer_terms(
        self, theta: Weights, inner: Sequence[Episodes], post: Episodes, create_graph: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(surrogate loss, mean KL, log-ratio)`` of θ on the adapted policies' episodes
        (:meth:`outer_terms_of` the weights that θ adapts to)."""
        return self.outer_terms_of(self.adapt(theta, inner, create_graph), post)

    def outer_terms_of(
        self, weights: Weights, post: Episodes
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(surrogate loss, mean KL, log-ratio)`` of per-task ``weights`` on ``post``: the
        loss is minus the mean over tasks of the importance-weighted advantage, the KL is
        KL(acting policy ‖ ``weights``) averaged over real steps and tasks."""
        params = self.forward(weights, post.obs)
        log_ratio = self.policy.log_prob(params, post.actions) - post.log_probs
        loss = -_masked_task_mean(log_ratio.exp() * post.advantages, post.mask).mean()
        kl = _masked_task_mean(self.policy.kl(post.params, params), post.mask).mean()
        return loss, kl, log_ratio

    def adapt_with_chain(
        self, theta: Weights, inner: Sequence[Episodes], second_order: bool
    ) -> tuple[Weights, list[tuple[Weights, tuple[torch.Tensor, ...]]]]:
        """:meth:`adapt`, also returning each inner step's ``(weights, gradients)`` with their
        graphs (second order; empty for first order), for :meth:`hvp_factory`."""
        m = inner[0].rewards.shape[1] if inner else self.config.meta_batch
        weights, chain = self.stacked(theta, m), []
        for ep in inner:
            grads = self.inner_grads(weights, ep, create_graph=second_order)
            if second_order:
                chain.append((weights, grads))
            lr = self.config.inner_lr
            weights = {k: w - lr * g for (k, w), g in zip(weights.items(), grads)}
        return weights, chain

    def hvp_factory(
        self,
        kl: torch.Tensor,
        adapted: Weights,
        chain: list[tuple[Weights, tuple[torch.Tensor, ...]]],
        theta: Weights,
    ) -> Any:
        """``v ↦ ∇²_θ KL · v`` for flat ``v``, through the inner update, by double backward.

        θ_i' = θ - α g_i(θ) gives ``∇²_θ KL = Σ_i J_iᵀ F_i J_i + Σ_i (∂J_i/∂θ)ᵀ ∇_{θ_i'} KL``,
        with ``J_i = I - α H_i`` (``H_i`` the Hessian of task i's inner loss) and ``F_i`` the
        Hessian of the KL in θ_i'. TRPO takes the products at the acting weights, where the
        KL is at its minimum 0 and ``∇_{θ_i'} KL = 0``: the second sum vanishes exactly, and
        ``J_iᵀ F_i J_i v`` costs two inner Hessian-vector products and one of the KL, each a
        double backward over one batch, instead of a double backward through the whole
        three-level graph (the same numbers for about half the work; tests/agents/test_maml.py
        checks them against the full double backward). Several inner steps chain their ``J``s.
        """
        names = list(adapted)
        kl_grads = torch.autograd.grad(kl, [adapted[k] for k in names], create_graph=True)
        shapes = [theta[k].shape for k in names]
        sizes = [theta[k].numel() for k in names]
        m = next(iter(adapted.values())).shape[0]
        lr = self.config.inner_lr

        def inner_hvp(weights: Weights, grads: tuple[torch.Tensor, ...], u: list) -> list:
            dot = sum((g * x).sum() for g, x in zip(grads, u))
            hu = torch.autograd.grad(dot, [weights[k] for k in names], retain_graph=True)
            return [x - lr * h for x, h in zip(u, hu)]

        def hvp(v: torch.Tensor) -> torch.Tensor:
            parts = [p.view(s) for p, s in zip(v.split(sizes), shapes)]
            u = [p.unsqueeze(0).expand(m, *p.shape) for p in parts]
            for weights, grads in chain:  # J v, innermost step first
                u = inner_hvp(weights, grads, u)
            dot = sum((g * x).sum() for g, x in zip(kl_grads, u))
            w = list(torch.autograd.grad(dot, [adapted[k] for k in names], retain_graph=True))
            for weights, grads in reversed(chain):  # Jᵀ (F J v); each J is symmetric
                w = inner_hvp(weights, grads, w)
            return torch.cat([x.sum(0).reshape(-1) for x in w]).detach()

        return hvp

    def trpo_step(self, inner: Sequence[Episodes], post: Episodes) -> dict[str, float]:
        """One TRPO step of θ through the adaptation (conjugate gradient + line search)."""
        cfg = self.config
        theta = self.weights()
        params = list(theta.values())
        adapted, chain = self.adapt_with_chain(theta, inner, second_order=not cfg.first_order)
        loss, kl, _ = self.outer_terms_of(adapted, post)
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        g = torch.cat([x.reshape(-1) for x in grads]).detach()
        kl_hvp = self.hvp_factory(kl, adapted, chain, theta)

        def hvp(v: torch.Tensor) -> torch.Tensor:
            return kl_hvp(v) + cfg.cg_damping * v

        direction = conjugate_gradient(hvp, g, cfg.cg_iters)
        shs = 0.5 * direction @ hvp(direction)
        scale = torch.sqrt(shs.clamp_min(1e-12) / cfg.max_kl)
        full_step = direction / scale
        flat = torch.nn.utils.parameters_to_vector(params).detach()

        def evaluate(step: torch.Tensor) -> tuple[float, float]:
            moved = self._unflatten(flat - step, theta)
            loss_k, kl_k, _ = self.outer_terms(moved, inner, post, create_graph=False)
            return float(loss_k.detach()), float(kl_k.detach())

        result = line_search(evaluate, full_step, float(loss.detach()), cfg.max_kl,
                             cfg.ls_backtracks, cfg.ls_ratio)  # fmt: skip
        torch.nn.utils.vector_to_parameters(flat - result.step, params)
        return {"surrogate": result.loss, "kl": result.kl, "backtracks": float(result.shrinks),
                "accepted": float(result.accepted)}  # fmt: skip

    def _unflatten(self, flat: torch.Tensor, like: Weights) -> Weights:
        """A weights dict shaped like ``like`` from a flat vector (leaves that require grad, so
        the inner step can differentiate them)."""
        out, i = {}, 0
        for k, v in like.items():
            out[k] = flat[i : i + v.numel()].view_as(v).detach().requires_grad_(True)
            i += v.numel()
        return out

    def ppo_step(self, inner: Sequence[Episodes], post: Episodes) -> dict[str, float]:
        """``ppo_epochs`` Adam steps on the clipped surrogate of the adapted policies."""
        cfg = self.config
        create_graph = not cfg.first_order
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.ppo_lr
        for _ in range(cfg.ppo_epochs):
            weights = self.adapt(self.weights(), inner, create_graph)
            params = self.forward(weights, post.obs)
            ratio = (self.policy.log_prob(params, post.actions) - post.log_probs).exp()
            clipped = ratio.clamp(1 - cfg.ppo_clip, 1 + cfg.ppo_clip)
            adv = post.advantages
            loss = -_masked_task_mean(torch.min(ratio * adv, clipped * adv), post.mask).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        with torch.no_grad():
            kl = _masked_task_mean(self.policy.kl(post.params, params), post.mask).mean()
        return {"surrogate": float(loss.detach()), "kl": float(kl)}

    # --- one meta-iteration ---------------------------------------------------------------------
    def _draw_tasks(self, it: int) -> list[Task]:
        rng = seeding.numpy_rng(self.config.seed, it, seeding.TASKS)
        m, pool = self.config.meta_batch, len(self.train_tasks)
        index = rng.choice(pool, size=m, replace=pool < m)
        return [self.train_tasks[i] for i in index]

    def train_iteration(self) -> dict[str, float]:
        """Sample, adapt, sample again and update θ once. Raises TrainingError on NaN/inf."""
        start = time.perf_counter()
        cfg, it = self.config, self.iteration
        tasks = self._draw_tasks(it)
        self.env.set_tasks([t for t in tasks for _ in range(cfg.fast_batch)])
        gen = seeding.generator(cfg.seed, it, seeding.POLICY, self.device)
        env_seed = seeding.stream_seed(cfg.seed, it, seeding.ENV) % 2**30
        theta = self.weights()
        batches, packed, ridges = [], [], []
        with torch.no_grad():
            weights = self.stacked(theta, cfg.meta_batch)
        for k in range(self.train_inner_steps + 1):
            seed = env_seed + k * self.env.num_envs
            ep = self.rollout(self.env, weights, cfg.fast_batch, gen, seed)
            ep, ridge = self.with_advantages(ep)
            batches.append(ep)
            packed.append(ep.packed())
            ridges.append(ridge)
            if k < self.train_inner_steps:
                weights = {k2: v.detach() for k2, v in
                           self.adapt(theta, packed, create_graph=False).items()}  # fmt: skip
        inner, post = packed[:-1], packed[-1]
        collected = time.perf_counter()
        update = self.trpo_step(inner, post) if cfg.outer == "trpo" else self.ppo_step(inner, post)
        update["collect_s"], update["update_s"] = collected - start, time.perf_counter() - collected
        if cfg.normalize_obs:
            for ep in batches:  # the statistics move after the update, never inside an iteration
                self.obs_norm.update(ep.obs[ep.mask > 0])
        return self._metrics(it, batches, update, max(ridges), start)

    def _metrics(
        self, it: int, batches: list[Episodes], update: dict[str, float], ridge: float, start: float
    ) -> dict[str, float]:
        bad = [k for k, v in update.items() if not np.isfinite(v)]
        weights_ok = all(bool(torch.isfinite(p).all()) for p in self.policy.parameters())
        if bad or not weights_ok:
            raise TrainingError(
                f"{', '.join(bad) or 'the policy weights'} became NaN/inf at iteration {it}: "
                "training stopped; the last checkpoint is intact. Lower --inner-lr or --max-kl "
                "and start again or --resume"
            )
        steps = int(sum(float(ep.steps.sum()) for ep in batches))
        self.iteration += 1
        self.env_steps += steps
        returns = {"pre_return": float(batches[0].episode_returns.mean()),
                   "post_return": float(batches[-1].episode_returns.mean())}  # fmt: skip
        if not self.meta_objective:
            returns = {"return": returns["pre_return"]}
        return {
            "iteration": self.iteration, "env_steps": self.env_steps, **returns, **update,
            "baseline_ridge": ridge, "sps": steps / (time.perf_counter() - start),
        }  # fmt: skip

    # --- evaluation -----------------------------------------------------------------------------
    @property
    def default_budget(self) -> int:
        """Gradient steps on each held-out task: ``eval_inner_steps``."""
        return self.config.eval_inner_steps

    def adaptation_curve(
        self, tasks: Sequence[Task], budget: int | None = None, deterministic: bool = False
    ) -> AdaptationCurve:
        """Return on each task after 0, 1, ..., ``budget`` gradient steps (default
        ``eval_inner_steps``), each point measured on ``eval_fast_batch`` episodes that are also
        the data of the next step; ``env_steps`` counts every episode run on the task up to and
        including the point's own.

        ``deterministic`` scores each point on ``eval_fast_batch`` more episodes in which the
        adapted policy takes its mean (or most likely) action; the adaptation, and so
        ``env_steps``, are exactly those of the sampled curve, and the scoring episodes are not
        counted (as the baselines' evaluation episodes are not)."""
        cfg = self.config
        steps = cfg.eval_inner_steps if budget is None else budget
        per_chunk = max(1, EVAL_SUB_ENVS // cfg.eval_fast_batch)
        gen = seeding.generator(cfg.seed, 0, seeding.EVALUATION, self.device)
        returns, lengths = [], []
        for first in range(0, len(tasks), per_chunk):
            chunk = list(tasks[first : first + per_chunk])
            seed = cfg.seed + first * cfg.eval_fast_batch
            r, n = self.adapt_to(chunk, steps, gen, seed, deterministic)
            returns.append(r)
            lengths.append(n)
        meta = {
            "train_env_steps": self.env_steps, "iterations": self.iteration,
            "eval_fast_batch": cfg.eval_fast_batch, "inner_lr": cfg.inner_lr,
            "eval_inner_lr": cfg.eval_step_size, "deterministic": deterministic,
            "train_inner_steps": self.train_inner_steps,
        }  # fmt: skip
        return build_curve(
            agent=self.name,
            env=cfg.env,
            env_id=self.env_id,
            family=self.env.family,
            seed=cfg.seed,
            x_label="gradient step",
            x=np.arange(steps + 1, dtype=np.float64),
            env_steps=np.cumsum(np.concatenate(lengths), axis=1).mean(axis=0),
            returns=np.concatenate(returns),
            tasks=tasks,
            meta=meta,
        )

    def adapt_to(
        self,
        tasks: Sequence[Task],
        steps: int,
        gen: torch.Generator,
        seed: int,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Adapt to each of ``tasks`` with ``steps`` gradient steps; per-task mean episode
        returns and env steps at each point 0..steps, both ``(len(tasks), steps + 1)``. With
        ``deterministic`` the returns are those of extra episodes with the most likely actions
        (see :meth:`adaptation_curve`)."""
        cfg, b = self.config, self.config.eval_fast_batch
        env = self._vector_env(len(tasks) * b)
        env.set_tasks([t for t in tasks for _ in range(b)])
        weights = {k: v.detach() for k, v in self.stacked(self.weights(), len(tasks)).items()}
        returns, lengths = [], []
        for k in range(steps + 1):
            ep = self.rollout(env, weights, b, gen, seed + k * env.num_envs)
            scored = ep
            if deterministic:  # the scoring episodes' seeds follow those of all adaptation's
                scoring_seed = seed + (steps + 1 + k) * env.num_envs
                scored = self.rollout(env, weights, b, gen, scoring_seed, deterministic=True)
            returns.append(scored.episode_returns)
            lengths.append(ep.steps)
            if k < steps:
                ep = self.with_advantages(ep)[0].packed()
                lr = cfg.inner_lr if k == 0 else cfg.eval_step_size
                leaves = {n: v.requires_grad_(True) for n, v in weights.items()}
                weights = {n: v.detach() for n, v in self.inner_step(leaves, ep, lr, False).items()}
        env.close()
        as_array = lambda xs: torch.stack(xs, 1).double().cpu().numpy()  # noqa: E731
        return as_array(returns), as_array(lengths)

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Weights, the PPO optimizer, observation statistics and counters."""
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "obs_norm": self.obs_norm.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        self.load_weights(state)
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])

    def load_weights(self, state: dict[str, Any]) -> None:
        """The policy and the observation statistics of :meth:`state_dict` output, without the
        optimizer and counters (``--init-from``)."""
        self.policy.load_state_dict(state["policy"])
        self.obs_norm.load_state_dict(state["obs_norm"])


class Pretrained(MAML):
    """The MAML paper's pretrained comparison: MAML's network and outer optimizer trained on the
    pre-update episodes of all training tasks (no adaptation inside training, so task-blind),
    evaluated with exactly MAML's inner step."""

    name = "pretrained"
    progress_metrics = ("return",)
    meta_objective = False
