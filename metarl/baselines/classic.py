"""Classic bandit and tabular-MDP algorithms: the references the RL² paper compares against.

Everything runs batched over tasks (numpy arrays with a leading task axis ``B``); the only Python
loops are over pulls, steps and episodes. Every algorithm draws its randomness from a
``np.random.Generator`` passed in; the env's randomness comes from metarl's native vector envs,
seeded by ``seed`` (sub-env ``i`` gets ``seed + i``), so all algorithms evaluated with the same
``seed`` on the same tasks see the same counter-based reward/transition draws.

The task splits' generators are salted (``metarl.envs.family.split_rng``), so a policy's own
``np.random.default_rng(seed)`` never replays the stream that drew the tasks (before the salt,
random tie-breaking read the arm means and greedy scored 7.8 instead of 6.6 on n=10, k=5).

Bandits (Bernoulli arms, Beta(1, 1) prior, which is the task distribution U[0, 1]):

- :class:`RandomBandit`: a uniformly random arm.
- :class:`EpsilonGreedy` (``epsilon=0`` is greedy): the arm with the highest posterior mean
  ``(1 + successes) / (2 + pulls)``, ties broken uniformly at random; with probability ``epsilon``
  a uniformly random arm instead.
- :class:`UCB1`: each arm once first (the unpulled arms, ties at random), then
  ``mean_i + c * sqrt(ln t / n_i)`` with the empirical mean, ``t`` = pulls so far and
  ``c = sqrt(2)`` (Auer et al. 2002).
- :class:`ThompsonSampling`: a draw from each arm's Beta posterior, the highest wins;
  ``optimistic=True`` is OTS (Chapelle & Li 2011): ``max(draw, posterior mean)``.
- :class:`Gittins`: the finite-horizon Gittins index of :func:`gittins_index_table`.
- :class:`BestArm`: the oracle that knows the arm means and always pulls the best arm.

Tabular MDPs (Dirichlet(1, ..., 1) prior on each ``P(.|s, a)``, ``N(mu0, sigma0²)`` prior on each
mean reward with known reward noise; the priors are the task distribution of the family):

- :class:`RandomMDP`: uniformly random actions.
- :class:`PSRL`: posterior sampling (Osband et al. 2013): at the start of each episode one MDP is
  drawn from the posterior and solved by finite-horizon value iteration; its greedy policy is
  followed for the episode.
- :class:`MDPGreedy` (``epsilon=0`` is greedy): acts greedily on the posterior-mean MDP, replanned
  by value iteration over the remaining steps of the episode before every step; with probability
  ``epsilon`` a uniformly random action instead. ``myopic=True`` looks no further than the mean
  reward of each action in the current state (no planning; on the RL² paper's MDPs it scores as
  well as the planner, docs/BENCHMARKS.md). ``estimate="empirical"`` acts on the empirical MDP
  (unvisited pairs pay 0) instead; ``bonus=β > 0`` is BEB (Kolter & Ng 2009), the reward of each
  pair plus ``β / (1 + n(s, a))``.
- :class:`OptimisticPSRL` (OPSRL): ``samples`` MDPs drawn from the posterior per episode; each
  backup takes, per state and action, the best of the samples (Agrawal & Jia 2017).
- :class:`UCRL2` (Jaksch et al. 2010), episodic: per episode, finite-horizon extended value
  iteration on the empirical MDP, optimistic within confidence intervals on the rewards and an
  L1 ball on the transitions (:func:`optimistic_expectation`), both scaled by ``scale``.
- :class:`MDPOracle`: the optimal policy of the true MDP (finite-horizon value iteration).

Evaluation: :func:`evaluate_bandit` and :func:`evaluate_mdp` step the family's native vector env;
:func:`classic_curve` turns a run into an :class:`~metarl.evaluation.AdaptationCurve` paired with
RL²'s (x = episode of the trial, a bandit episode being one pull), for every algorithm of
:data:`CLASSIC_FAMILIES` by name.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch

from metarl.config import ConfigError
from metarl.envs import BUILTIN_FAMILIES, Task, make_family, make_vector_env, resolve_env_id
from metarl.envs.bandit import BanditTask
from metarl.envs.tabular_mdp import TabularMDPTask
from metarl.evaluation import AdaptationCurve, build_curve

# --------------------------------------------------------------------------------------------
# shared helpers


def argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index of the largest entry along the last axis, ties broken uniformly at random.

    ``values``: ``(..., n)``; returns int64 ``(...)``. Entries equal to the maximum (exactly, or
    both ``+inf``) are ties.
    """
    best = values.max(axis=-1, keepdims=True)
    ties = values >= best
    u = rng.random(values.shape)
    return np.where(ties, u, -1.0).argmax(axis=-1)


# --------------------------------------------------------------------------------------------
# bandits


class BanditStats(NamedTuple):
    """What a bandit algorithm knows after ``t`` of ``horizon`` pulls.

    ``successes``, ``failures``: float64 ``(B, k)`` counts of rewards 1 and 0 per arm.
    """

    successes: np.ndarray
    failures: np.ndarray
    t: int
    horizon: int

    @property
    def pulls(self) -> np.ndarray:
        """Pulls per arm, ``(B, k)``."""
        return self.successes + self.failures


class BanditPolicy(Protocol):
    """Chooses one arm per task from the statistics: returns int64 ``(B,)``."""

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class RandomBandit:
    """A uniformly random arm."""

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        b, k = stats.successes.shape
        return rng.integers(0, k, size=b)


@dataclasses.dataclass(frozen=True)
class EpsilonGreedy:
    """Highest posterior mean under a Beta(prior_a, prior_b) prior, ties at random; with
    probability ``epsilon`` a uniformly random arm. ``epsilon=0`` is the greedy policy."""

    epsilon: float = 0.1
    prior_a: float = 1.0
    prior_b: float = 1.0

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        mean = (stats.successes + self.prior_a) / (stats.pulls + self.prior_a + self.prior_b)
        greedy = argmax_random_ties(mean, rng)
        if self.epsilon <= 0:
            return greedy
        b, k = mean.shape
        explore = rng.random(b) < self.epsilon
        return np.where(explore, rng.integers(0, k, size=b), greedy)


def Greedy() -> EpsilonGreedy:
    """The greedy policy: :class:`EpsilonGreedy` with ``epsilon=0`` (Beta(1, 1) posterior mean)."""
    return EpsilonGreedy(epsilon=0.0)


@dataclasses.dataclass(frozen=True)
class UCB1:
    """UCB1 (Auer et al. 2002): unpulled arms first, then ``mean + c * sqrt(ln t / n_i)``."""

    c: float = math.sqrt(2.0)

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        n = stats.pulls
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = stats.successes / n
            bonus = self.c * np.sqrt(math.log(max(stats.t, 1)) / n)
        index = np.where(n > 0, mean + bonus, np.inf)
        return argmax_random_ties(index, rng)


@dataclasses.dataclass(frozen=True)
class ThompsonSampling:
    """Thompson sampling with a Beta(prior_a, prior_b) prior; ``optimistic=True`` uses
    ``max(draw, posterior mean)`` per arm (optimistic Thompson sampling, OTS)."""

    optimistic: bool = False
    prior_a: float = 1.0
    prior_b: float = 1.0

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        a = stats.successes + self.prior_a
        b = stats.failures + self.prior_b
        draw = rng.beta(a, b)
        if self.optimistic:
            draw = np.maximum(draw, a / (a + b))
        return argmax_random_ties(draw, rng)


@functools.lru_cache(maxsize=4)
def gittins_index_table(
    horizon: int, discount: float = 1.0, grid: int = 1024, chunk: int = 64
) -> np.ndarray:
    """Finite-horizon Gittins indices of a Bernoulli arm with a Beta(1, 1) prior.

    Entry ``[r, s, f]`` is the index of an arm seen ``s`` successes and ``f`` failures when ``r``
    pulls remain (``1 <= r <= horizon``, ``s + f <= horizon - r``; other entries are NaN). It is
    the retirement reward ``lam`` that makes playing the arm at least once and then stopping
    optimally within the remaining ``r`` pulls worth exactly as much as retiring::

        Q_r(s, f; lam) = p - lam + discount * (p V_{r-1}(s+1, f) + (1-p) V_{r-1}(s, f+1)) = 0,
        V_r = max(0, Q_r),  V_0 = 0,  p = (s + 1) / (s + f + 2).

    ``discount=1`` is the undiscounted finite-horizon Gittins index (Niño-Mora 2011; the
    "FH-Gittins" of Kaufmann 2018), the default for a trial of ``horizon`` pulls. ``discount < 1``
    with ``r`` large enough that ``discount**r`` is negligible gives the classic discounted
    infinite-horizon Gittins index; ``discount=0`` gives the posterior mean ``p``.

    Computed by backward dynamic programming over ``r`` on a grid of ``grid + 1`` values of
    ``lam`` in [0, 1] at once; for each state the largest grid value with ``Q >= 0`` is refined by
    one Newton step ``lam + Q / T`` (``T`` = expected discounted number of pulls of the optimal
    stopping rule, minus the slope of the piecewise-linear, convex ``Q``), which is exact unless
    the optimal stopping rule changes between that grid value and the index, and never above the
    true index. The table is cached per ``(horizon, discount, grid)``. Cost ~ grid * horizon³ / 3.

    Returns float64 ``(horizon + 1, horizon + 1, horizon + 1)``.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount must lie in [0, 1], got {discount}")
    n = int(horizon)
    table = np.full((n + 1, n + 1, n + 1), np.nan)
    lams = np.linspace(0.0, 1.0, grid + 1)
    counts = np.arange(n + 1, dtype=np.float64)
    p = (counts[:, None] + 1.0) / (counts[:, None] + counts[None, :] + 2.0)
    for start in range(0, grid + 1, chunk):
        lam = lams[start : start + chunk]
        est, found = _gittins_chunk(p, lam, discount, n)
        for r in range(1, n + 1):
            m = n - r + 1
            table[r, :m, :m] = np.where(found[r], est[r], table[r, :m, :m])
    s, f = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    for r in range(1, n + 1):
        table[r][s + f > n - r] = np.nan
    return table


def _gittins_chunk(
    p: np.ndarray, lam: np.ndarray, discount: float, n: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The DP of :func:`gittins_index_table` for the retirement rewards ``lam`` (``(L,)``).

    Returns, per ``r``, the Newton estimate from the largest ``lam`` with ``Q_r >= 0`` and whether
    there is one, both ``(n - r + 1, n - r + 1)``.
    """
    lam3 = lam[:, None, None]
    v = np.zeros((lam.size, n + 1, n + 1))  # V_{r-1} on states s, f <= n - r + 1
    t = np.zeros_like(v)
    est: list[np.ndarray] = [np.empty(0)]
    found: list[np.ndarray] = [np.empty(0, dtype=bool)]
    for r in range(1, n + 1):
        m = n - r + 1
        pp = p[:m, :m]
        q = pp - lam3 + discount * (pp * v[:, 1 : m + 1, :m] + (1 - pp) * v[:, :m, 1 : m + 1])
        tq = 1.0 + discount * (pp * t[:, 1 : m + 1, :m] + (1 - pp) * t[:, :m, 1 : m + 1])
        nonneg = q >= 0
        last = nonneg.sum(axis=0) - 1
        idx = np.maximum(last, 0)[None]
        q_at = np.take_along_axis(q, idx, axis=0)[0]
        t_at = np.take_along_axis(tq, idx, axis=0)[0]
        est.append(lam[idx[0]] + q_at / t_at)
        found.append(last >= 0)
        v = np.maximum(q, 0.0)
        t = np.where(q > 0, tq, 0.0)
    return est, found


@dataclasses.dataclass(frozen=True)
class Gittins:
    """The arm with the highest finite-horizon Gittins index (:func:`gittins_index_table`) for the
    pulls that remain in the trial, ties at random. ``discount=1`` (default): undiscounted."""

    discount: float = 1.0
    grid: int = 1024

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        table = gittins_index_table(stats.horizon, self.discount, self.grid)
        r = stats.horizon - stats.t
        index = table[r, stats.successes.astype(np.int64), stats.failures.astype(np.int64)]
        return argmax_random_ties(index, rng)


@dataclasses.dataclass(frozen=True, eq=False)
class BestArm:
    """The oracle that knows the task: always the arm of the highest mean. ``arms``: int64
    ``(B,)``, one per task."""

    arms: np.ndarray

    def __call__(self, stats: BanditStats, rng: np.random.Generator) -> np.ndarray:
        return self.arms


BANDIT_POLICIES: dict[str, BanditPolicy] = {
    "random": RandomBandit(),
    "gittins": Gittins(),
    "thompson": ThompsonSampling(),
    "ots": ThompsonSampling(optimistic=True),
    "ucb1": UCB1(),
    "eps-greedy": EpsilonGreedy(epsilon=0.1),
    "greedy": Greedy(),
}
"""The bandit algorithms with their default settings, in the column order of the RL² paper."""


class BanditResult(NamedTuple):
    """Outcome of :func:`evaluate_bandit`: ``rewards`` float32 ``(B, n)`` (pull ``j`` of task
    ``i``) and ``actions`` int64 ``(B, n)``."""

    rewards: np.ndarray
    actions: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Total reward per task, ``(B,)``."""
        return self.rewards.sum(axis=1, dtype=np.float64)


def evaluate_bandit(
    policy: BanditPolicy,
    tasks: Sequence[BanditTask],
    num_pulls: int,
    rng: np.random.Generator,
    seed: int = 0,
    **env_kwargs: Any,
) -> BanditResult:
    """Run ``policy`` for ``num_pulls`` pulls on every bandit of ``tasks`` at once.

    The rewards come from metarl's native ``BanditVectorEnv`` (``env_kwargs`` are the family's
    parameters; ``num_arms`` defaults to the tasks' number of arms) reset with ``seed`` (sub-env
    ``i`` draws from stream ``seed + i``); ``rng`` drives the policy's own randomness.
    """
    tasks = list(tasks)
    kwargs = {"num_arms": len(tasks[0].means), **env_kwargs}
    num_arms = int(kwargs["num_arms"])
    env = make_vector_env("bandit", num_envs=len(tasks), **kwargs)
    env.reset(seed=seed, options={"tasks": tasks})
    shape = (len(tasks), num_arms)
    successes, failures = np.zeros(shape), np.zeros(shape)
    rewards = np.zeros((len(tasks), num_pulls), dtype=np.float32)
    actions = np.zeros((len(tasks), num_pulls), dtype=np.int64)
    rows = np.arange(len(tasks))
    for j in range(num_pulls):
        a = np.asarray(policy(BanditStats(successes, failures, j, num_pulls), rng), np.int64)
        _, reward, *_ = env.step(torch.from_numpy(a))
        r = reward.numpy()
        successes[rows, a] += r
        failures[rows, a] += 1.0 - r
        rewards[:, j], actions[:, j] = r, a
    env.close()
    return BanditResult(rewards, actions)


# --------------------------------------------------------------------------------------------
# tabular MDPs


@dataclasses.dataclass
class MDPPosterior:
    """Conjugate posterior over ``B`` tabular MDPs, updated in place by :meth:`update`.

    ``transition_counts``: ``(B, S, A, S)``; ``reward_sums``, ``visits``: ``(B, S, A)``. The prior
    is Dirichlet(``dirichlet_prior``, ...) on each ``P(.|s, a)`` and
    ``N(reward_prior_mean, reward_prior_std²)`` on each mean reward, with rewards
    ``~ N(mean, reward_noise²)`` (``reward_noise > 0``).
    """

    transition_counts: np.ndarray
    reward_sums: np.ndarray
    visits: np.ndarray
    reward_prior_mean: float = 1.0
    reward_prior_std: float = 1.0
    reward_noise: float = 1.0
    dirichlet_prior: float = 1.0

    @classmethod
    def empty(
        cls, num_tasks: int, num_states: int, num_actions: int, **prior: float
    ) -> MDPPosterior:
        """The prior (no data) for ``num_tasks`` MDPs."""
        b, s, a = num_tasks, num_states, num_actions
        return cls(np.zeros((b, s, a, s)), np.zeros((b, s, a)), np.zeros((b, s, a)), **prior)

    def update(
        self, states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_states: np.ndarray
    ) -> None:
        """Add one transition per task; all arguments ``(B,)``."""
        rows = np.arange(states.shape[0])
        self.transition_counts[rows, states, actions, next_states] += 1.0
        self.reward_sums[rows, states, actions] += rewards
        self.visits[rows, states, actions] += 1.0

    def _reward_precision(self) -> np.ndarray:
        return self.reward_prior_std**-2 + self.visits * self.reward_noise**-2

    def mean_rewards(self) -> np.ndarray:
        """Posterior mean of each mean reward, ``(B, S, A)``."""
        weighted = self.reward_prior_mean * self.reward_prior_std**-2
        return (weighted + self.reward_sums * self.reward_noise**-2) / self._reward_precision()

    def mean_transitions(self) -> np.ndarray:
        """Posterior mean of ``P(s'|s, a)``, ``(B, S, A, S)``."""
        alpha = self.transition_counts + self.dirichlet_prior
        return alpha / alpha.sum(axis=-1, keepdims=True)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One MDP per task from the posterior: rewards ``(B, S, A)``, transitions ``(B, S, A, S)``."""
        std = self._reward_precision() ** -0.5
        rewards = rng.normal(self.mean_rewards(), std)
        gammas = rng.standard_gamma(self.transition_counts + self.dirichlet_prior)
        return rewards, gammas / gammas.sum(axis=-1, keepdims=True)


def value_iteration(rewards: np.ndarray, transitions: np.ndarray, steps: int) -> np.ndarray:
    """Finite-horizon action values of ``B`` MDPs.

    ``rewards``: ``(B, S, A)``; ``transitions``: ``(B, S, A, S)``. Returns ``(B, steps, S, A)``
    where ``[:, h]`` are the optimal action values with ``steps - h`` steps to go (undiscounted).
    """
    b, s, _ = rewards.shape
    v = np.zeros((b, s))
    qs = []
    for _ in range(steps):
        q = rewards + (transitions @ v[:, None, :, None])[..., 0]
        v = q.max(axis=-1)
        qs.append(q)
    return np.stack(qs[::-1], axis=1)


class MDPAlgorithm(Protocol):
    """A tabular-MDP learner: an optional per-episode plan, then one action per task and step."""

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Called at the start of each episode; returns a plan handed to :meth:`act`."""
        ...

    def act(
        self,
        plan: np.ndarray | None,
        posterior: MDPPosterior,
        states: np.ndarray,
        step: int,
        horizon: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Actions ``(B,)`` in ``states`` ``(B,)`` at step ``step`` of ``horizon``."""
        ...


@dataclasses.dataclass(frozen=True)
class RandomMDP:
    """Uniformly random actions."""

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """No plan."""
        return None

    def act(
        self,
        plan: np.ndarray | None,
        posterior: MDPPosterior,
        states: np.ndarray,
        step: int,
        horizon: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """A uniformly random action per task, ``(B,)``."""
        return rng.integers(0, posterior.visits.shape[2], size=states.shape[0])


class FollowsPlan:
    """Shared :meth:`act` of the algorithms that plan once per episode: the plan's best action."""

    def act(
        self,
        plan: np.ndarray | None,
        posterior: MDPPosterior,
        states: np.ndarray,
        step: int,
        horizon: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The action of the highest planned value ``plan[:, step, state]``, ties at random,
        ``(B,)``."""
        assert plan is not None
        q = plan[np.arange(states.shape[0]), step, states]
        return argmax_random_ties(q, rng)


@dataclasses.dataclass(frozen=True)
class PSRL(FollowsPlan):
    """Posterior sampling for RL: one posterior MDP per episode, solved over the horizon."""

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Action values ``(B, horizon, S, A)`` of an MDP drawn from the posterior."""
        rewards, transitions = posterior.sample(rng)
        return value_iteration(rewards, transitions, horizon)


@dataclasses.dataclass(frozen=True, eq=False)
class MDPOracle(FollowsPlan):
    """The optimal policy of the true MDPs (it knows the task): finite-horizon value iteration
    on ``rewards`` ``(B, S, A)`` (the mean rewards) and ``transitions`` ``(B, S, A, S)``."""

    rewards: np.ndarray
    transitions: np.ndarray

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """The true MDPs' optimal action values ``(B, horizon, S, A)``."""
        return value_iteration(self.rewards, self.transitions, horizon)


MDP_ESTIMATES = ("posterior", "empirical")
MDP_REPLANS = ("step", "episode")


@dataclasses.dataclass(frozen=True)
class MDPGreedy:
    """Greedy on a point estimate of the MDP, ties at random; with probability ``epsilon`` per step
    a uniformly random action instead (``epsilon=0`` is greedy).

    ``estimate``: ``"posterior"``, the posterior-mean MDP (unvisited pairs: the prior mean reward
    and uniform transitions); or ``"empirical"``, the empirical means (unvisited pairs: reward 0 and
    uniform transitions). ``replan``: ``"step"``, value iteration over the remaining steps of the
    episode before every step; or ``"episode"``, once at the start of each episode. ``myopic``:
    no look-ahead at all, the action of the highest estimated mean reward in the current state
    (transitions ignored; ``replan`` is then moot).
    """

    epsilon: float = 0.0
    estimate: str = "posterior"
    replan: str = "step"
    myopic: bool = False
    bonus: float = 0.0

    def __post_init__(self) -> None:
        if self.bonus < 0:
            raise ValueError(f"bonus must be >= 0, got {self.bonus}")
        if self.estimate not in MDP_ESTIMATES:
            raise ValueError(f"estimate must be one of {MDP_ESTIMATES}, got {self.estimate!r}")
        if self.replan not in MDP_REPLANS:
            raise ValueError(f"replan must be one of {MDP_REPLANS}, got {self.replan!r}")

    def rewards(self, posterior: MDPPosterior) -> np.ndarray:
        """The estimated mean rewards plus the exploration bonus ``bonus / (1 + visits)``,
        ``(B, S, A)``."""
        n = posterior.visits
        if self.estimate == "posterior":
            mean = posterior.mean_rewards()
        else:
            mean = np.where(n > 0, posterior.reward_sums / np.maximum(n, 1.0), 0.0)
        return mean + self.bonus / (1.0 + n) if self.bonus > 0 else mean

    def model(self, posterior: MDPPosterior) -> tuple[np.ndarray, np.ndarray]:
        """The estimated rewards ``(B, S, A)`` and transitions ``(B, S, A, S)``."""
        if self.estimate == "posterior":
            return self.rewards(posterior), posterior.mean_transitions()
        n = posterior.visits
        counts = posterior.transition_counts
        uniform = np.full_like(counts, 1.0 / counts.shape[-1])
        transitions = np.where((n > 0)[..., None], counts / np.maximum(n, 1.0)[..., None], uniform)
        return self.rewards(posterior), transitions

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """With ``replan="episode"``: the estimate's action values ``(B, horizon, S, A)``."""
        if self.replan == "step" or self.myopic:
            return None
        return value_iteration(*self.model(posterior), horizon)

    def act(
        self,
        plan: np.ndarray | None,
        posterior: MDPPosterior,
        states: np.ndarray,
        step: int,
        horizon: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The estimate's optimal action over the remaining steps (or a random one), ``(B,)``."""
        b = states.shape[0]
        if self.myopic:
            q = self.rewards(posterior)[np.arange(b), states]
        elif plan is None:
            q = value_iteration(*self.model(posterior), horizon - step)[np.arange(b), 0, states]
        else:
            q = plan[np.arange(b), step, states]
        greedy = argmax_random_ties(q, rng)
        if self.epsilon <= 0:
            return greedy
        explore = rng.random(b) < self.epsilon
        return np.where(explore, rng.integers(0, q.shape[-1], size=b), greedy)


@dataclasses.dataclass(frozen=True)
class OptimisticPSRL(FollowsPlan):
    """OPSRL: ``samples`` posterior MDPs per episode; each backup takes, per state and action,
    the sample with the highest action value (Agrawal & Jia 2017). ``samples=1`` is PSRL."""

    samples: int = 5

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Optimistic action values ``(B, horizon, S, A)`` over the posterior samples."""
        draws = [posterior.sample(rng) for _ in range(self.samples)]
        rewards = np.stack([r for r, _ in draws])  # (K, B, S, A)
        transitions = np.stack([p for _, p in draws])  # (K, B, S, A, S)
        v = np.zeros(rewards.shape[1:3])
        qs = []
        for _ in range(horizon):
            q = (rewards + (transitions @ v[None, :, None, :, None])[..., 0]).max(axis=0)
            v = q.max(axis=-1)
            qs.append(q)
        return np.stack(qs[::-1], axis=1)


def optimistic_expectation(p_hat: np.ndarray, radius: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``max p·v`` over the distributions ``p`` within L1 distance ``radius`` of ``p_hat``.

    ``p_hat``: ``(B, S, A, S)``; ``radius``: ``(B, S, A)``; ``v``: ``(B, S)``. Returns
    ``(B, S, A)``. The maximizer moves ``min(radius / 2, 1 - p_hat[best])`` of mass onto the state
    of the highest value, taken from the states of the lowest values first (Jaksch et al. 2010,
    Fig. 2).
    """
    order = np.argsort(v, axis=1)  # ascending values
    vs = np.take_along_axis(v, order, axis=1)
    ps = np.take_along_axis(p_hat, order[:, None, None, :], axis=3).copy()
    add = np.minimum(radius / 2.0, 1.0 - ps[..., -1])
    ps[..., -1] += add
    lower = ps[..., :-1]
    before = np.cumsum(lower, axis=-1) - lower  # mass of the states of lower value
    ps[..., :-1] = lower - np.clip(add[..., None] - before, 0.0, lower)
    return (ps * vs[:, None, None, :]).sum(axis=-1)


@dataclasses.dataclass(frozen=True)
class UCRL2(FollowsPlan):
    """UCRL2 (Jaksch et al. 2010) planned at the start of each episode over its horizon.

    Confidence widths after ``t`` steps of the trial for a pair seen ``n`` times (``n`` counted
    as at least 1): rewards ``scale * sqrt(7 ln(2 S A t / delta) / (2 n))``, transitions (L1)
    ``scale * sqrt(14 S ln(2 A t / delta) / n)``; the plan is finite-horizon extended value
    iteration on the empirical MDP (unvisited pairs: reward 0, uniform transitions).
    ``scale=1`` is the paper's bound, made for rewards in [0, 1]; the tabular-MDP family's
    rewards are N(μ, 1), so the scale is a parameter (docs/BENCHMARKS.md tunes it).
    """

    scale: float = 1.0
    delta: float = 0.05

    def __post_init__(self) -> None:
        if self.scale < 0 or not 0 < self.delta < 1:
            raise ValueError(f"need scale >= 0 and 0 < delta < 1, got {self.scale}, {self.delta}")

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Optimistic action values ``(B, horizon, S, A)``."""
        b, s, a = posterior.visits.shape
        rewards, transitions = MDPGreedy(estimate="empirical").model(posterior)
        n = np.maximum(posterior.visits, 1.0)
        t = np.maximum(posterior.visits.sum(axis=(1, 2)), 1.0)[:, None, None]  # (B, 1, 1)
        d_r = self.scale * np.sqrt(7.0 * np.log(2.0 * s * a * t / self.delta) / (2.0 * n))
        d_p = self.scale * np.sqrt(14.0 * s * np.log(2.0 * a * t / self.delta) / n)
        optimistic = rewards + d_r
        v = np.zeros((b, s))
        qs = []
        for _ in range(horizon):
            q = optimistic + optimistic_expectation(transitions, d_p, v)
            v = q.max(axis=-1)
            qs.append(q)
        return np.stack(qs[::-1], axis=1)


MDP_ALGORITHMS: dict[str, MDPAlgorithm] = {
    "random": RandomMDP(),
    "psrl": PSRL(),
    "opsrl": OptimisticPSRL(),
    "ucrl2": UCRL2(),
    "beb": MDPGreedy(bonus=1.0),
    "eps-greedy": MDPGreedy(epsilon=0.1),
    "greedy": MDPGreedy(),
    "eps-greedy-empirical": MDPGreedy(epsilon=0.1, estimate="empirical", replan="episode"),
    "greedy-empirical": MDPGreedy(estimate="empirical", replan="episode"),
    "greedy-myopic": MDPGreedy(myopic=True),
}
"""The tabular-MDP algorithms with their default settings. The ``-empirical`` variants plan once
per episode on the empirical MDP (unvisited pairs pay 0), which is what the RL² paper's greedy and
ε-greedy columns look like; ``greedy-myopic`` takes the action of the highest posterior-mean
reward in the current state, with no look-ahead; the greedy ones and ``beb`` act on the
posterior mean (``beb`` with the bonus β / (1 + n)), replanned every step."""


class MDPResult(NamedTuple):
    """Outcome of :func:`evaluate_mdp`: ``episode_returns`` float64 ``(B, num_episodes)``."""

    episode_returns: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Total reward over all episodes per task, ``(B,)``."""
        return self.episode_returns.sum(axis=1)


def evaluate_mdp(
    algorithm: MDPAlgorithm,
    tasks: Sequence[TabularMDPTask],
    num_episodes: int,
    rng: np.random.Generator,
    seed: int = 0,
    **env_kwargs: Any,
) -> MDPResult:
    """Run ``algorithm`` for ``num_episodes`` episodes on every MDP of ``tasks`` at once.

    Steps metarl's native ``TabularMDPVectorEnv`` (``env_kwargs`` are the family's parameters,
    e.g. ``horizon``), reset with ``seed`` (sub-env ``i`` draws from stream ``seed + i``). The
    posterior's prior is the family's task distribution (its ``reward_mean_mu``,
    ``reward_mean_sigma`` and ``reward_noise``, flat Dirichlet transitions).
    """
    tasks = list(tasks)
    b = len(tasks)
    s, a = np.asarray(tasks[0].transitions).shape[:2]
    kwargs = {"num_states": s, "num_actions": a, **env_kwargs}
    env = make_vector_env("tabular-mdp", num_envs=b, **kwargs)
    fam = env.family
    s, a = fam.num_states, fam.num_actions
    posterior = MDPPosterior.empty(
        b, s, a, reward_prior_mean=fam.reward_mean_mu, reward_prior_std=fam.reward_mean_sigma,
        reward_noise=fam.reward_noise,
    )  # fmt: skip
    obs, _ = env.reset(seed=seed, options={"tasks": tasks})
    states = obs.argmax(dim=1).numpy()
    returns = np.zeros((b, num_episodes))
    for e in range(num_episodes):
        plan = algorithm.begin_episode(posterior, fam.horizon, rng)
        for h in range(fam.horizon):
            actions = np.asarray(algorithm.act(plan, posterior, states, h, fam.horizon, rng))
            obs, reward, _, _, info = env.step(torch.from_numpy(actions.astype(np.int64)))
            done = info["_final_obs"][:, None]
            next_states = torch.where(done, info["final_obs"], obs).argmax(dim=1).numpy()
            r = reward.numpy().astype(np.float64)
            posterior.update(states, actions, r, next_states)
            returns[:, e] += r
            states = obs.argmax(dim=1).numpy()
    env.close()
    return MDPResult(returns)


# --------------------------------------------------------------------------------------------
# adaptation curves

BANDIT = "bandit"
TABULAR_MDP = "tabular-mdp"
POLICY_STREAM = 0xC1A55  # first word of the policies' seed: never a task split's stream

CLASSIC_FAMILIES: dict[str, tuple[str, ...]] = {
    "random": (BANDIT, TABULAR_MDP),
    "greedy": (BANDIT, TABULAR_MDP),
    "eps-greedy": (BANDIT, TABULAR_MDP),
    "ucb1": (BANDIT,),
    "thompson": (BANDIT,),
    "ots": (BANDIT,),
    "gittins": (BANDIT,),
    "psrl": (TABULAR_MDP,),
    "opsrl": (TABULAR_MDP,),
    "ucrl2": (TABULAR_MDP,),
    "beb": (TABULAR_MDP,),
    "greedy-empirical": (TABULAR_MDP,),
    "eps-greedy-empirical": (TABULAR_MDP,),
    "greedy-myopic": (TABULAR_MDP,),
    "oracle": (BANDIT, TABULAR_MDP),
}
"""Every classic algorithm → the short names of the families it fits. On a bandit, ``greedy`` and
``eps-greedy`` act on the Beta(1, 1) posterior means; on a tabular MDP on the posterior-mean MDP
(the ``-empirical`` ones on the empirical MDP). ``oracle`` knows the task: the best arm, or the
true MDP's optimal policy (finite-horizon value iteration)."""


def algorithms_for(family: str) -> list[str]:
    """The names of the classic algorithms that fit ``family`` (``bandit`` or ``tabular-mdp``)."""
    return [name for name, fits in CLASSIC_FAMILIES.items() if family in fits]


def classic_family(env: str) -> str:
    """``bandit`` or ``tabular-mdp``: the family of ``env`` (a short name or a Gymnasium id).

    Raises :class:`~metarl.config.ConfigError` for any other family (the classic algorithms need
    Bernoulli arms or a tabular MDP) and :class:`~metarl.envs.family.TaskError` for an unknown env.
    """
    env_id = resolve_env_id(env)
    for family in (BANDIT, TABULAR_MDP):
        if BUILTIN_FAMILIES[family] == env_id:
            return family
    raise ConfigError(
        f"the classic algorithms run on the bandit and tabular-mdp families only, not {env} "
        f"({env_id}): use an RL baseline such as ppo there"
    )


def classic_algorithm(
    algo: str, family: str, tasks: Sequence[Task], params: Mapping[str, Any] | None = None
) -> BanditPolicy | MDPAlgorithm:
    """The algorithm ``algo`` for ``family`` with its defaults overridden by ``params``.

    ``oracle`` is built from ``tasks`` (it knows them). Raises
    :class:`~metarl.config.ConfigError` for an algorithm that does not fit the family, an unknown
    parameter or a bad value, in one line that says what fits.
    """
    fits = algorithms_for(family)
    if algo not in fits:
        what = "unknown classic algorithm" if algo not in CLASSIC_FAMILIES else "algorithm"
        raise ConfigError(
            f"{what} {algo!r} does not fit the {family} family: use one of {', '.join(fits)}"
        )
    params = dict(params or {})
    if algo == "oracle":
        if params:
            raise ConfigError(f"oracle has no parameters, got {', '.join(params)}")
        return _oracle(family, tasks)
    default = (BANDIT_POLICIES if family == BANDIT else MDP_ALGORITHMS)[algo]
    names = [f.name for f in dataclasses.fields(default)]  # type: ignore[arg-type]
    unknown = [k for k in params if k not in names]
    if unknown:
        have = ", ".join(names) if names else "none"
        raise ConfigError(f"{algo} has no parameter {unknown[0]!r}: its parameters are {have}")
    try:
        typed = {k: _typed(getattr(default, k), v) for k, v in params.items()}
        return dataclasses.replace(default, **typed)  # type: ignore[type-var]
    except (TypeError, ValueError) as e:
        raise ConfigError(f"bad parameter for {algo}: {e}") from None


def algorithm_params(algorithm: BanditPolicy | MDPAlgorithm) -> dict[str, Any]:
    """The settings of an algorithm as a JSON-ready dict (empty for the oracles)."""
    if isinstance(algorithm, BestArm | MDPOracle):
        return {}
    return dataclasses.asdict(algorithm)  # type: ignore[call-overload]


def classic_curve(
    algo: str,
    env: str,
    env_kwargs: Mapping[str, Any],
    tasks: Sequence[Task],
    episodes_per_trial: int,
    seed: int,
    *,
    params: Mapping[str, Any] | None = None,
) -> AdaptationCurve:
    """The adaptation curve of classic algorithm ``algo`` on held-out ``tasks`` of ``env``.

    One trial of ``episodes_per_trial`` episodes per task, as RL² is evaluated: x = episode
    1..N of the trial; ``env_steps`` = the cumulative env steps (a bandit episode is one pull,
    so a trial of n pulls is n episodes of 1 step; a tabular-MDP episode is ``horizon`` steps);
    ``returns`` ``(T, N)`` the return of each task in each episode, so
    :meth:`~metarl.evaluation.AdaptationCurve.total_return` is the RL² paper's total reward.
    ``env_kwargs`` are the family's parameters; ``params`` override the algorithm's defaults
    (e.g. ``{"c": 0.2}`` for ``ucb1``), and ``meta`` records them.

    Deterministic in ``seed``: the env is reset with ``seed`` (sub-env ``i`` reads stream
    ``seed + i``) and the algorithm's randomness comes from one generator seeded from ``seed``;
    both depend on the task's position in ``tasks``, so a subset of the tasks gives other draws.
    """
    family = classic_family(env)
    if not isinstance(episodes_per_trial, int) or episodes_per_trial < 1:
        raise ConfigError(
            f"episodes_per_trial must be a positive integer, got {episodes_per_trial}"
        )
    tasks = list(tasks)
    if not tasks:
        raise ConfigError("classic_curve needs at least one task")
    algorithm = classic_algorithm(algo, family, tasks, params)
    rng = np.random.default_rng([POLICY_STREAM, seed])
    fam = make_family(env, **env_kwargs)
    episodes = np.arange(1, episodes_per_trial + 1, dtype=np.float64)
    if family == BANDIT:
        res = evaluate_bandit(algorithm, tasks, episodes_per_trial, rng, seed, **env_kwargs)  # type: ignore[arg-type]
        returns = res.rewards.astype(np.float64)
        steps = episodes
    else:
        mdp = evaluate_mdp(algorithm, tasks, episodes_per_trial, rng, seed, **env_kwargs)  # type: ignore[arg-type]
        returns, steps = mdp.episode_returns, episodes * fam.horizon
    meta = {
        "algo": algo,
        "family": family,
        "params": algorithm_params(algorithm),
        "episodes_per_trial": episodes_per_trial,
        "env_kwargs": dict(env_kwargs),
    }
    curve = build_curve(
        agent=algo, env=env, env_id=resolve_env_id(env), family=fam, seed=seed,
        x_label="episode", x=episodes, env_steps=steps, returns=returns, tasks=tasks, meta=meta,
    )  # fmt: skip
    fam.close()
    return curve


def _oracle(family: str, tasks: Sequence[Task]) -> BanditPolicy | MDPAlgorithm:
    if family == BANDIT:
        means = np.array([t.means for t in tasks])  # type: ignore[attr-defined]
        return BestArm(arms=means.argmax(axis=1))
    rewards = np.array([t.reward_means for t in tasks])  # type: ignore[attr-defined]
    transitions = np.array([t.transitions for t in tasks])  # type: ignore[attr-defined]
    return MDPOracle(rewards=rewards, transitions=transitions)


def _typed(default: Any, value: Any) -> Any:
    """``value`` converted to the type of the parameter's default (strings from a CLI too)."""
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(default, int | float) and isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(default, int) and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an integer, got {value!r}")
    return type(default)(value)
