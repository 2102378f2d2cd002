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
  well as the planner, docs/BENCHMARKS.md).

Evaluation: :func:`evaluate_bandit` and :func:`evaluate_mdp` step the family's native vector env.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import NamedTuple, Protocol

import numpy as np
import torch

from metarl.envs import make_vector_env
from metarl.envs.bandit import BanditTask
from metarl.envs.tabular_mdp import TabularMDPTask

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


def mean_ci(x: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Mean of ``x`` (shape ``(N,)``) and the half-width ``z * std / sqrt(N)`` of its 95% CI."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), float(z * x.std(ddof=1) / math.sqrt(x.size))


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


@functools.lru_cache(maxsize=16)
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


BANDIT_POLICIES: dict[str, BanditPolicy] = {
    "random": RandomBandit(),
    "gittins": Gittins(),
    "ts": ThompsonSampling(),
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
) -> BanditResult:
    """Run ``policy`` for ``num_pulls`` pulls on every bandit of ``tasks`` at once.

    The rewards come from metarl's native ``BanditVectorEnv`` reset with ``seed`` (sub-env ``i``
    draws from stream ``seed + i``); ``rng`` drives the policy's own randomness.
    """
    tasks = list(tasks)
    num_arms = len(tasks[0].means)
    env = make_vector_env("bandit", num_envs=len(tasks), num_arms=num_arms)
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


@dataclasses.dataclass(frozen=True)
class PSRL:
    """Posterior sampling for RL: one posterior MDP per episode, solved over the horizon."""

    def begin_episode(
        self, posterior: MDPPosterior, horizon: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Action values ``(B, horizon, S, A)`` of an MDP drawn from the posterior."""
        rewards, transitions = posterior.sample(rng)
        return value_iteration(rewards, transitions, horizon)

    def act(
        self,
        plan: np.ndarray | None,
        posterior: MDPPosterior,
        states: np.ndarray,
        step: int,
        horizon: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The sampled MDP's optimal action, ``(B,)``."""
        assert plan is not None
        q = plan[np.arange(states.shape[0]), step, states]
        return argmax_random_ties(q, rng)


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

    def __post_init__(self) -> None:
        if self.estimate not in MDP_ESTIMATES:
            raise ValueError(f"estimate must be one of {MDP_ESTIMATES}, got {self.estimate!r}")
        if self.replan not in MDP_REPLANS:
            raise ValueError(f"replan must be one of {MDP_REPLANS}, got {self.replan!r}")

    def rewards(self, posterior: MDPPosterior) -> np.ndarray:
        """The estimated mean rewards ``(B, S, A)``."""
        if self.estimate == "posterior":
            return posterior.mean_rewards()
        n = posterior.visits
        return np.where(n > 0, posterior.reward_sums / np.maximum(n, 1.0), 0.0)

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


MDP_ALGORITHMS: dict[str, MDPAlgorithm] = {
    "random": RandomMDP(),
    "psrl": PSRL(),
    "eps-greedy": MDPGreedy(epsilon=0.1),
    "greedy": MDPGreedy(),
    "eps-greedy-empirical": MDPGreedy(epsilon=0.1, estimate="empirical", replan="episode"),
    "greedy-empirical": MDPGreedy(estimate="empirical", replan="episode"),
    "greedy-myopic": MDPGreedy(myopic=True),
}
"""The tabular-MDP algorithms with their default settings. The ``-empirical`` variants plan once
per episode on the empirical MDP (unvisited pairs pay 0), which is what the RL² paper's greedy and
ε-greedy columns look like; ``greedy-myopic`` takes the action of the highest posterior-mean
reward in the current state, with no look-ahead; the others act on the posterior mean,
replanned every step."""


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
    **env_kwargs: float,
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
    env = make_vector_env("tabular-mdp", num_envs=b, num_states=s, num_actions=a, **env_kwargs)
    fam = env.family
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
