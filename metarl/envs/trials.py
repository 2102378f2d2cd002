"""RL² trials: several episodes of one task per sub-env, with the last step's feedback in the obs.

:class:`TrialVectorEnv` wraps any :class:`~metarl.envs.vector.TaskVectorEnv` (native, or
Gymnasium's Sync/Async through the adapter). Each sub-env keeps its task for
``episodes_per_trial`` episodes, then draws the next task uniformly from a task pool (a split's
tasks) on the device, without a host round-trip for native envs.

The observation is ``concat(obs, prev_action, prev_reward, prev_done)`` (float32): the previous
action one-hot for discrete spaces or as is for boxes, its reward, and 1.0 when the previous step
ended an episode. All three are zero at the start of a trial. With ``time_features`` two more
entries follow: the step of the current episode over the env's horizon and the episode of the
trial over ``episode_scale`` (default ``episodes_per_trial``), both in [0, 1) (an agent could
count them; given, it need not learn to). An agent evaluated on longer trials than it was trained
on keeps its training trials' ``episode_scale``, so the feature passes 1 where training stopped.
``info`` tells the agent where the boundaries are (all tensors of shape ``(num_envs,)``):

- ``episode_done`` (bool): this step ended an episode (terminated or truncated);
- ``episode_index`` (int64): which episode of the trial this step belonged to (0-based);
- ``episode_return`` (float32): that episode's return, valid where ``episode_done``;
- ``trial_done`` (bool): this step ended the trial; the returned obs starts a new one;
- ``terminated``/``truncated`` are also returned as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from metarl.envs.family import Task, TaskError
from metarl.envs.vector import GymTaskVectorEnv, TaskVectorEnv


class TrialVectorEnv(gym.vector.VectorWrapper):
    """RL² trials over a task vector env (see the module doc for the observation and info)."""

    env: TaskVectorEnv

    def __init__(
        self,
        env: TaskVectorEnv,
        episodes_per_trial: int,
        tasks: Sequence[Task],
        seed: int = 0,
        time_features: bool = False,
        episode_scale: int | None = None,
    ) -> None:
        super().__init__(env)
        if not isinstance(episodes_per_trial, int) or episodes_per_trial < 1:
            raise TaskError(
                f"episodes_per_trial must be a positive integer, got {episodes_per_trial!r}"
            )
        self.episodes_per_trial = episodes_per_trial
        self.device = env.device
        self.pool = env.stack_tasks(tasks)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        act = env.single_action_space
        self.discrete = isinstance(act, spaces.Discrete)
        self.action_dim = int(act.n) if self.discrete else int(np.prod(act.shape))
        self.obs_dim = int(np.prod(env.single_observation_space.shape))
        self.time_features = time_features
        self.episode_scale = episode_scale or episodes_per_trial
        dim = self.obs_dim + self.action_dim + 2 + 2 * time_features
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, env.num_envs
        )
        n = env.num_envs
        self._episode = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._return = torch.zeros(n, dtype=torch.float32, device=self.device)
        self._t = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._host_masks = isinstance(env, GymTaskVectorEnv)

    def _draw(self) -> torch.Tensor:
        """A pool index per sub-env, int64 ``(num_envs,)``.

        Drawn at every step whether or not a trial ends, over every kind of vector env, so the
        generator (hence the task sequence) is the same over native and Sync/Async vector envs.
        """
        n = self.env.num_envs
        return torch.randint(len(self.pool), (n,), generator=self.generator, device=self.device)

    def _augment(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        done: torch.Tensor,
        keep: torch.Tensor,
    ) -> torch.Tensor:
        """``concat(obs, action, reward, done[, time features])``; action, reward and done all
        zero where ``keep`` is false."""
        n = self.env.num_envs
        if self.discrete:
            act = torch.nn.functional.one_hot(action.long().view(n), self.action_dim).float()
        else:
            act = action.float().view(n, self.action_dim)
        k = keep.view(n, 1).float()
        parts = [
            obs.view(n, -1),
            act * k,
            reward.view(n, 1).float() * k,
            done.view(n, 1).float() * k,
        ]
        if self.time_features:
            step = self._t.float() / self.env.horizon
            parts.append(torch.stack([step, self._episode.float() / self.episode_scale], 1))
        return torch.cat(parts, dim=1)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Start a trial in every sub-env: tasks from the pool, or ``options["tasks"]`` if given."""
        if options and "tasks" in options:
            self.env.set_tasks(options["tasks"])
        else:
            self.env.assign_tasks(self.pool, self._draw())
        obs, info = self.env.reset(seed=seed)
        n = self.env.num_envs
        self._episode.zero_()
        self._return.zero_()
        self._t.zero_()
        zeros = torch.zeros(n, device=self.device)
        action = (
            zeros.long() if self.discrete else torch.zeros(n, self.action_dim, device=self.device)
        )
        return self._augment(obs, action, zeros, zeros, keep=zeros.bool()), info

    def step(
        self, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """One step of every sub-env; a finished trial draws a new task and starts a new trial."""
        actions = torch.as_tensor(actions, device=self.device)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        ep_done = terminated | truncated
        episode_index = self._episode
        self._return = self._return + reward
        episode_return = self._return
        self._return = torch.where(ep_done, 0.0, self._return)
        self._episode = self._episode + ep_done.long()
        trial_done = self._episode >= self.episodes_per_trial
        index = self._draw()
        # Native envs take the masked update on the device with no sync; host envs skip the
        # (costly) per-env update when no trial ended.
        if not self._host_masks or bool(trial_done.any()):
            self.env.assign_tasks(self.pool, index, trial_done)
            obs = self._masked_reset(obs, trial_done)
        self._episode = torch.where(trial_done, 0, self._episode)
        self._t = torch.where(ep_done, 0, self._t + 1)
        aug = self._augment(obs, actions, reward, ep_done, keep=~trial_done)
        info = dict(info)
        info.update(
            episode_done=ep_done,
            episode_index=episode_index,
            episode_return=episode_return,
            trial_done=trial_done,
        )
        return aug, reward, terminated, truncated, info

    def _masked_reset(self, obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        new_obs, _ = self.env.reset(options={"reset_mask": mask})
        shape = (-1,) + (1,) * (obs.dim() - 1)
        return torch.where(mask.view(shape), new_obs, obs)
