"""RL² (Duan et al. 2016): a recurrent policy meta-trained with PPO across multi-episode trials.

The GRU reads ``(obs, previous action, previous reward, done)`` from
:class:`~metarl.envs.trials.TrialVectorEnv`; its hidden state persists across the episodes of a
trial and is reset between trials, so it can learn to explore in early episodes and exploit later.
PPO trains on whole sequences: GAE runs across episode boundaries and stops at trial boundaries.

Every iteration starts fresh trials, seeded from ``(seed, iteration)``
(:mod:`metarl.agents.seeding`), so an iteration is a pure function of the weights, the optimizer
state and the iteration number: a resumed run reproduces an uninterrupted one exactly on CPU. The
rollout loop is all device tensors (no host sync); metrics are read back once per iteration.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from metarl.agents import seeding
from metarl.agents.base import TrainingError
from metarl.agents.networks import RecurrentActorCritic, RunningNorm
from metarl.agents.returns import gae
from metarl.agents.reward_norm import ReturnScale
from metarl.config import RL2Config
from metarl.envs import make_vector_env, resolve_env_id
from metarl.envs.family import Task
from metarl.envs.trials import TrialVectorEnv
from metarl.envs.vector import TaskVectorEnv, resolve_device
from metarl.evaluation import AdaptationCurve, build_curve


class Rollout(NamedTuple):
    """One rollout, time-major: ``(T, N, ...)`` tensors on the device."""

    obs: torch.Tensor  # (T, N, D) float32, normalized trial observations fed to the network
    resets: torch.Tensor  # (T, N) bool, a new trial starts at step t (hidden state zeroed)
    actions: torch.Tensor  # (T, N) int64 or (T, N, A) float32, unit-scale policy actions
    log_probs: torch.Tensor  # (T, N)
    values: torch.Tensor  # (T, N)
    rewards: torch.Tensor  # (T, N), times reward_scale, then over the return std (reward_norm)
    dones: torch.Tensor  # (T, N) bool, step t ended a trial
    last_value: torch.Tensor  # (N,) value after the last step


class RL2:
    """The RL² meta-learner (implements :class:`~metarl.agents.base.MetaLearner`)."""

    name = "rl2"
    progress_metrics = ("trial_return",)
    budget_unit = "episodes"

    def __init__(self, config: RL2Config, train_tasks: Sequence[Task]) -> None:
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        self.env_id = resolve_env_id(config.env)
        env = make_vector_env(
            config.env, config.num_envs, self.device, validate_actions=False, **config.env_kwargs
        )
        self.trials = self.trial_env(env, config.episodes_per_trial, train_tasks)
        self.horizon = env.horizon
        self.rollout_steps = config.rollout_steps or config.episodes_per_trial * env.horizon
        obs_dim = self.trials.single_observation_space.shape[0]
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG state left as it was
            torch.manual_seed(config.seed)
            self.net = RecurrentActorCritic(
                obs_dim,
                env.single_action_space,
                config.hidden_size,
                config.transition_input,
                config.head_hidden,
                config.episodes_per_trial * env.horizon if config.chrono_init else 0,
                config.critic_gru,
                config.init_log_std,
            )
        self.net.to(self.device)
        self.obs_norm = RunningNorm(obs_dim).to(self.device)
        self.return_scale = ReturnScale(config.gamma).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr, eps=1e-5)
        self.iteration = 0
        self.env_steps = 0

    def trial_env(
        self, env: TaskVectorEnv, episodes: int, tasks: Sequence[Task], seed: int | None = None
    ) -> TrialVectorEnv:
        """Trials of ``episodes`` episodes over ``env`` with the inputs this agent reads (the
        config's ``time_input``, episodes counted in shares of the trained trial length);
        ``seed`` defaults to the config's."""
        cfg = self.config
        seed = cfg.seed if seed is None else seed
        return TrialVectorEnv(
            env, episodes, tasks, seed, cfg.time_input, episode_scale=cfg.episodes_per_trial
        )

    # --- acting --------------------------------------------------------------------------------
    def _normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return self.obs_norm(obs) if self.config.normalize_obs else obs

    @torch.no_grad()
    def _act(
        self,
        obs: torch.Tensor,
        h: torch.Tensor,
        reset: torch.Tensor,
        gen: torch.Generator,
        deterministic: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        feats, h = self.net.step(obs, h, reset)
        params = self.net.policy_params(feats)
        policy = self.net.policy
        action = policy.mode(params) if deterministic else policy.sample(params, gen)
        logp = policy.log_prob(params, action)
        return action, logp, self.net.value(feats), h

    @torch.no_grad()
    def act(
        self,
        obs: torch.Tensor,
        state: torch.Tensor,
        reset: torch.Tensor,
        gen: torch.Generator,
        deterministic: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample env actions for trial observations (``deterministic``: the most likely ones);
        the policy's step outside training.

        ``obs``: ``(B, D)`` raw trial observations (as :class:`TrialVectorEnv` returns them; the
        agent normalizes them itself); ``state``: ``(B, S)`` carried state, from
        ``self.net.initial_state(B, device)`` at the start; ``reset``: ``(B,)`` bool, true where
        a new trial starts. Returns ``(env actions, new state)``: actions as the env takes them,
        ``(B,)`` int64 or ``(B, A)`` float32 in the action bounds.
        """
        action, _, _, state = self._act(self._normalize(obs), state, reset, gen, deterministic)
        return self.net.policy.to_env(action), state

    @torch.no_grad()
    def collect(self, gen: torch.Generator, env_seed: int) -> tuple[Rollout, dict[str, Any]]:
        """Run ``rollout_steps`` steps of fresh trials; returns the rollout and device stats."""
        steps, n, dev = self.rollout_steps, self.config.num_envs, self.device
        raw, _ = self.trials.reset(seed=env_seed)
        obs_buf = torch.zeros(steps, n, raw.shape[1], device=dev)
        buf = {k: torch.zeros(steps, n, device=dev) for k in ("logp", "value", "reward")}
        resets = torch.zeros(steps, n, dtype=torch.bool, device=dev)
        dones = torch.zeros(steps, n, dtype=torch.bool, device=dev)
        actions: torch.Tensor | None = None
        h = self.net.initial_state(n, dev)
        reset = torch.ones(n, dtype=torch.bool, device=dev)
        trial_ret = torch.zeros(n, device=dev)
        stats = {
            "trial_return_sum": torch.zeros((), device=dev),
            "trials": torch.zeros((), device=dev),
        }
        for t in range(steps):
            obs = self._normalize(raw)
            action, logp, value, h = self._act(obs, h, reset, gen)
            if actions is None:
                actions = torch.zeros(steps, *action.shape, dtype=action.dtype, device=dev)
            raw, reward, _, _, info = self.trials.step(self.net.policy.to_env(action))
            obs_buf[t], resets[t], actions[t] = obs, reset, action
            buf["logp"][t], buf["value"][t] = logp, value
            buf["reward"][t] = reward * self.config.reward_scale
            reset = dones[t] = info["trial_done"]
            trial_ret = trial_ret + reward
            stats["trial_return_sum"] += (trial_ret * reset).sum()
            stats["trials"] += reset.sum()
            trial_ret = torch.where(reset, 0.0, trial_ret)
        if self.config.normalize_obs:
            self.obs_norm.update(obs_buf)
        if self.config.reward_norm:
            # The learning signal only: the policy's input (prev_reward in obs_buf) stays raw.
            buf["reward"] = self.return_scale(buf["reward"], dones)
        feats, _ = self.net.step(self._normalize(raw), h, reset)
        last_value = self.net.value(feats)
        assert actions is not None
        rollout = Rollout(
            obs_buf, resets, actions, buf["logp"], buf["value"], buf["reward"], dones, last_value
        )
        return rollout, stats

    # --- learning ------------------------------------------------------------------------------
    def update(self, ro: Rollout, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """PPO epochs over minibatches of whole sequences; returns mean losses (device scalars)."""
        cfg = self.config
        adv, ret = gae(ro.rewards, ro.values, ro.dones, ro.last_value, cfg.gamma, cfg.gae_lambda)
        n = cfg.num_envs
        h0 = self.net.initial_state(n, self.device)
        # One host sync per update: trials of fixed length never restart inside a rollout row.
        segmented = bool(ro.resets[1:].any())
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=gen, device=self.device)
            for mb in perm.chunk(cfg.minibatches):
                losses = self._minibatch_loss(ro, adv, ret, h0, mb, segmented)
                self.optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v.detach()
                count += 1
        return {k: v / count for k, v in sums.items()}

    def _minibatch_loss(
        self,
        ro: Rollout,
        adv: torch.Tensor,
        ret: torch.Tensor,
        h0: torch.Tensor,
        mb: torch.Tensor,
        segmented: bool,
    ) -> dict[str, torch.Tensor]:
        cfg = self.config
        feats = self.net.sequence(ro.obs[:, mb], h0[mb], ro.resets[:, mb], segmented)
        params = self.net.policy_params(feats)
        logp = self.net.policy.log_prob(params, ro.actions[:, mb])
        entropy = self.net.policy.entropy(params).mean()
        values = self.net.value(feats)
        a = adv[:, mb]
        a = (a - a.mean()) / (a.std() + 1e-8)
        log_ratio = logp - ro.log_probs[:, mb]
        ratio = log_ratio.exp()
        clipped = ratio.clamp(1 - cfg.clip, 1 + cfg.clip)
        policy_loss = -torch.min(ratio * a, clipped * a).mean()
        value_loss = 0.5 * (values - ret[:, mb]).pow(2).mean()
        loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clip_frac = ((ratio - 1).abs() > cfg.clip).float().mean()
        return {
            "loss": loss, "policy_loss": policy_loss, "value_loss": value_loss,
            "entropy": entropy, "approx_kl": approx_kl, "clip_frac": clip_frac,
        }  # fmt: skip

    def learning_rate(self) -> float:
        """This iteration's learning rate: --lr, or with --anneal-lr the share of --steps left."""
        cfg = self.config
        if not cfg.anneal_lr:
            return cfg.lr
        return cfg.lr * max(0.0, 1.0 - self.env_steps / cfg.steps)

    def train_iteration(self) -> dict[str, float]:
        """One rollout of fresh trials and one PPO update. Raises TrainingError on NaN/inf."""
        start = time.perf_counter()
        seed, it = self.config.seed, self.iteration
        gen = seeding.generator(seed, it, seeding.POLICY, self.device)
        self.trials.generator.manual_seed(seeding.stream_seed(seed, it, seeding.TASKS))
        env_seed = seeding.stream_seed(seed, it, seeding.ENV) % 2**31
        rollout, stats = self.collect(gen, env_seed=env_seed)
        lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        losses = self.update(rollout, gen)
        values = {k: float(v) for k, v in losses.items()}  # one host sync per iteration
        bad = [k for k, v in values.items() if not np.isfinite(v)]
        if bad:
            raise TrainingError(
                f"{', '.join(bad)} became NaN/inf at iteration {it}: training stopped; the last "
                "checkpoint is intact. Lower --lr or --reward-scale and start again or --resume"
            )
        steps = self.rollout_steps * self.config.num_envs
        self.iteration += 1
        self.env_steps += steps
        trials = float(stats["trials"])
        mean_trial = float(stats["trial_return_sum"]) / trials if trials else float("nan")
        elapsed = time.perf_counter() - start
        return {
            "iteration": self.iteration, "env_steps": self.env_steps,
            "trial_return": mean_trial, "trials": trials, **values, "lr": lr,
            **self._reward_metrics(), "sps": steps / elapsed,
        }  # fmt: skip

    def _reward_metrics(self) -> dict[str, float]:
        """With --reward-norm, the return std the rewards are divided by (for metrics.csv)."""
        return {"return_std": float(self.return_scale.std)} if self.config.reward_norm else {}

    # --- evaluation ----------------------------------------------------------------------------
    @property
    def default_budget(self) -> int:
        """Episodes per evaluation trial: as many as in training."""
        return self.config.episodes_per_trial

    @torch.no_grad()
    def adaptation_curve(
        self, tasks: Sequence[Task], budget: int | None = None, deterministic: bool = False
    ) -> AdaptationCurve:
        """Run one trial on each task; the return of episodes 1..N (N = ``budget`` or the config's).

        The policy samples its actions (exploration is part of what RL² learns), with a generator
        seeded from the config's seed, so the curve is reproducible; ``deterministic`` takes the
        most likely action at every step of the trial instead.
        """
        cfg = self.config
        episodes = budget or cfg.episodes_per_trial
        env = make_vector_env(
            cfg.env, len(tasks), self.device, validate_actions=False, **cfg.env_kwargs
        )
        trials = self.trial_env(env, episodes, tasks)
        returns, lengths = self._run_trials(trials, tasks, episodes, deterministic)
        curve = build_curve(
            agent=self.name,
            env=cfg.env,
            env_id=self.env_id,
            family=env.family,
            seed=cfg.seed,
            x_label="episode",
            x=np.arange(1, episodes + 1, dtype=np.float64),
            env_steps=np.cumsum(lengths, axis=1).mean(axis=0),
            returns=returns,
            tasks=tasks,
            meta={
                "train_env_steps": self.env_steps,
                "iterations": self.iteration,
                "deterministic": deterministic,
            },
        )
        env.close()
        return curve

    def _run_trials(
        self, trials: TrialVectorEnv, tasks: Sequence[Task], episodes: int, deterministic: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-task episode returns and lengths, both ``(len(tasks), episodes)`` float64."""
        n, dev = len(tasks), self.device
        gen = seeding.generator(self.config.seed, 0, seeding.EVALUATION, dev)
        raw, _ = trials.reset(seed=self.config.seed, options={"tasks": list(tasks)})
        h = self.net.initial_state(n, dev)
        reset = torch.ones(n, dtype=torch.bool, device=dev)
        returns = torch.zeros(n, episodes, device=dev)
        lengths = torch.zeros(n, episodes, device=dev)
        finished = torch.zeros(n, dtype=torch.bool, device=dev)
        rows = torch.arange(n, device=dev)
        for _ in range(episodes * self.horizon):
            action, h = self.act(raw, h, reset, gen, deterministic)
            raw, _, _, _, info = trials.step(action)
            live = ~finished
            idx = info["episode_index"].clamp(max=episodes - 1)
            lengths[rows, idx] += live.float()
            record = info["episode_done"] & live
            returns[rows, idx] = torch.where(record, info["episode_return"], returns[rows, idx])
            reset = info["trial_done"]
            finished |= reset
            if bool(finished.all()):
                break
        return returns.double().cpu().numpy(), lengths.double().cpu().numpy()

    # --- checkpoints ---------------------------------------------------------------------------
    @property
    def steps_per_iteration(self) -> int:
        """``rollout_steps × num_envs`` env steps per iteration."""
        return self.rollout_steps * self.config.num_envs

    def state_dict(self) -> dict[str, Any]:
        """Weights, optimizer, observation and return statistics, and counters."""
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "obs_norm": self.obs_norm.state_dict(),
            "return_scale": self.return_scale.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (checkpoints from before --reward-norm existed have
        no return statistics; their configs have it off, and the fresh statistics stay unused)."""
        self.load_weights(state)
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])

    def load_weights(self, state: dict[str, Any]) -> None:
        """The network and the observation and return statistics of :meth:`state_dict` output,
        without the optimizer and counters (``--init-from``)."""
        self.net.load_state_dict(state["net"])
        self.obs_norm.load_state_dict(state["obs_norm"])
        if "return_scale" in state:
            self.return_scale.load_state_dict(state["return_scale"])
