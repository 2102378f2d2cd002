"""Tests of the classic bandit and tabular-MDP algorithms (metarl.baselines.classic)."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.baselines import classic
from metarl.baselines.classic import (
    PSRL,
    UCB1,
    BanditStats,
    EpsilonGreedy,
    Gittins,
    Greedy,
    MDPGreedy,
    MDPPosterior,
    RandomBandit,
    RandomMDP,
    ThompsonSampling,
    evaluate_bandit,
    evaluate_mdp,
    gittins_index_table,
    value_iteration,
)
from metarl.envs import family_tasks, make_family
from metarl.envs.bandit import BanditTask
from metarl.envs.tabular_mdp import TabularMDPTask


def rng(i: int = 0) -> np.random.Generator:
    # three words, so never the stream of a task split (SeedSequence([seed, split]))
    return np.random.default_rng([12345, 678, i])


# --- helpers ----------------------------------------------------------------------------------


def test_argmax_random_ties_is_uniform_over_ties() -> None:
    values = np.tile([0.0, 1.0, 1.0, 0.5, 1.0], (6000, 1))
    picks = classic.argmax_random_ties(values, rng())
    assert set(np.unique(picks)) == {1, 2, 4}
    assert np.allclose(np.bincount(picks, minlength=5)[[1, 2, 4]] / 6000, 1 / 3, atol=0.03)
    inf = np.array([[np.inf, 0.0, np.inf]])
    assert classic.argmax_random_ties(inf, rng())[0] in (0, 2)


def test_mean_ci() -> None:
    m, h = classic.mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert m == 2.5
    assert h == pytest.approx(1.96 * np.std([1, 2, 3, 4], ddof=1) / 2)


# --- Gittins ----------------------------------------------------------------------------------


def test_gittins_last_pull_is_posterior_mean() -> None:
    table = gittins_index_table(6)
    s, f = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    ok = s + f <= 5
    assert np.allclose(table[1][ok], ((s + 1) / (s + f + 2))[ok])
    assert np.isnan(table[1][~ok]).all()


def test_gittins_two_pulls_analytic() -> None:
    # r=2, fresh arm: lam = 1/2 + 1/2 (2/3 - lam)  =>  lam = 5/9
    assert gittins_index_table(2)[2, 0, 0] == pytest.approx(5 / 9, abs=1e-12)
    # after one failure: p=1/3; success then p=1/2: lam = 1/3 + 1/3 (1/2 - lam) => lam = 3/8
    assert gittins_index_table(3)[2, 0, 1] == pytest.approx(3 / 8, abs=1e-12)


def test_gittins_monotone() -> None:
    table = gittins_index_table(20)
    for r in (2, 5, 10):
        m = 20 - r
        block = table[r, : m + 1, : m + 1]
        assert np.all(np.diff(block[:, 0]) > 0)  # more successes: higher
        assert np.all(np.diff(block[0, :]) < 0)  # more failures: lower
    # more pulls left: more worth exploring
    assert np.all(np.diff(table[1:, 0, 0]) > 0)
    # between the posterior mean and 1
    s, f = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
    mean = (s + 1) / (s + f + 2)
    for r in range(1, 21):
        ok = s + f <= 20 - r
        assert np.all(table[r][ok] >= mean[ok] - 1e-12)
        assert np.all(table[r][ok] < 1)


def test_gittins_discount_limits() -> None:
    zero = gittins_index_table(8, discount=0.0)
    s, f = np.meshgrid(np.arange(9), np.arange(9), indexing="ij")
    for r in range(1, 9):
        ok = s + f <= 8 - r
        assert np.allclose(zero[r][ok], ((s + 1) / (s + f + 2))[ok])
    small = gittins_index_table(8, discount=0.01)[8, 0, 0]
    assert 0.5 < small < 0.502
    # the classic discounted index, Beta(1, 1) prior, discount 0.9: 0.7029 (Gittins' tables)
    assert gittins_index_table(100, discount=0.9, grid=256)[100, 0, 0] == pytest.approx(
        0.7029, abs=2e-4
    )


def test_gittins_grid_converges() -> None:
    fine = gittins_index_table(15, grid=4096)
    coarse = gittins_index_table(15, grid=128)
    assert np.nanmax(np.abs(fine - coarse)) < 5e-3
    assert np.nanmax(coarse - fine) < 1e-4  # the Newton step never overshoots the index


# --- bandit policies --------------------------------------------------------------------------


def certain_arm_tasks(b: int = 64) -> list[BanditTask]:
    return [BanditTask(means=(0.2, 0.1, 1.0, 0.3))] * b


@pytest.mark.parametrize(
    ("policy", "pulls"),
    [(UCB1(), 300), (ThompsonSampling(), 60), (ThompsonSampling(True), 60), (Gittins(), 60)],
)
def test_converges_to_the_certain_arm(policy: classic.BanditPolicy, pulls: int) -> None:
    res = evaluate_bandit(policy, certain_arm_tasks(), pulls, rng(), seed=0)
    assert (res.actions[:, -pulls // 4 :] == 2).mean() > 0.95
    assert res.rewards.shape == res.actions.shape == (64, pulls)


def test_greedy_on_deterministic_arms_sticks_to_the_first_success() -> None:
    tasks = [BanditTask(means=(0.0, 1.0, 0.0, 0.0, 0.0))] * 50
    res = evaluate_bandit(Greedy(), tasks, 30, rng(), seed=0)
    for acts, rews in zip(res.actions, res.rewards):
        first = int(np.argmax(acts == 1))
        assert np.all(acts[first:] == 1)
        assert len(set(acts[:first].tolist())) == first  # never retries an arm that paid 0
        assert rews.sum() == 30 - first
    # epsilon = 1 is uniformly random
    res = evaluate_bandit(EpsilonGreedy(1.0), tasks, 200, rng(), seed=0)
    assert abs((res.actions == 1).mean() - 0.2) < 0.02


def test_random_matches_its_expectation() -> None:
    tasks = family_tasks("bandit", "test", 500, seed=3, num_arms=5)
    res = evaluate_bandit(RandomBandit(), tasks, 20, rng(), seed=1)
    expected = 20 * np.mean([np.mean(t.means) for t in tasks])
    m, h = classic.mean_ci(res.total)
    assert abs(m - expected) < 2 * h


def test_bandit_ordering_on_the_paper_protocol() -> None:
    tasks = family_tasks("bandit", "test", 400, seed=0, num_arms=5)
    totals = {
        name: evaluate_bandit(p, tasks, 30, rng(i), seed=0).total.mean()
        for i, (name, p) in enumerate(classic.BANDIT_POLICIES.items())
    }
    assert totals["random"] < 17
    for name in ("gittins", "ts", "ots", "ucb1", "greedy", "eps-greedy"):
        assert totals[name] > totals["random"] + 2.5
    assert totals["gittins"] >= max(totals.values()) - 0.3


def test_bandit_determinism() -> None:
    tasks = family_tasks("bandit", "test", 20, seed=1, num_arms=3)
    for policy in classic.BANDIT_POLICIES.values():
        a = evaluate_bandit(policy, tasks, 15, rng(5), seed=7)
        b = evaluate_bandit(policy, tasks, 15, rng(5), seed=7)
        assert np.array_equal(a.actions, b.actions)
        assert np.array_equal(a.rewards, b.rewards)
    c = evaluate_bandit(ThompsonSampling(), tasks, 15, rng(6), seed=7)
    assert not np.array_equal(a.actions, c.actions)


def test_bandit_rewards_follow_the_env() -> None:
    """Rewards are the native env's draws: the same env seed and arms give the same rewards."""
    tasks = family_tasks("bandit", "test", 30, seed=1, num_arms=4)
    a = evaluate_bandit(RandomBandit(), tasks, 25, rng(1), seed=11)
    b = evaluate_bandit(RandomBandit(), tasks, 25, rng(2), seed=11)
    same = a.actions == b.actions
    assert same.any() and np.array_equal(a.rewards[same], b.rewards[same])


def test_ucb1_pulls_every_arm_first() -> None:
    tasks = family_tasks("bandit", "test", 40, seed=2, num_arms=6)
    res = evaluate_bandit(UCB1(), tasks, 6, rng(), seed=0)
    assert all(sorted(row.tolist()) == list(range(6)) for row in res.actions)


def test_stats_pulls() -> None:
    stats = BanditStats(np.array([[1.0, 2.0]]), np.array([[3.0, 0.0]]), 6, 10)
    assert stats.pulls.tolist() == [[4.0, 2.0]]


# --- tabular MDPs -----------------------------------------------------------------------------


def chain_mdp(s: int = 4, a: int = 3) -> TabularMDPTask:
    """Deterministic: action 0 moves right (last state stays), others stay; only action 0 in the
    last state pays 3, everything else pays 0."""
    mu = np.zeros((s, a))
    mu[s - 1, 0] = 3.0
    p = np.zeros((s, a, s))
    for i in range(s):
        p[i, 0, min(i + 1, s - 1)] = 1.0
        p[i, 1:, i] = 1.0
    return TabularMDPTask(reward_means=classic_tuples(mu), transitions=classic_tuples(p))


def classic_tuples(x: np.ndarray) -> tuple:
    return tuple(classic_tuples(v) for v in x) if x.ndim > 1 else tuple(float(v) for v in x)


def test_value_iteration_matches_the_family_oracle() -> None:
    fam = make_family("tabular-mdp")
    tasks = family_tasks("tabular-mdp", "test", 5, seed=0)
    mu = np.array([t.reward_means for t in tasks])
    p = np.array([t.transitions for t in tasks])
    q = value_iteration(mu, p, 10)
    assert q.shape == (5, 10, 10, 5)
    oracle = q[:, 0].max(-1).mean(-1)
    assert np.allclose(oracle, [fam.oracle_return(t) for t in tasks])


def test_posterior_update_and_means() -> None:
    post = MDPPosterior.empty(2, 3, 2)
    assert np.allclose(post.mean_rewards(), 1.0)
    assert np.allclose(post.mean_transitions(), 1 / 3)
    post.update(np.array([0, 1]), np.array([1, 0]), np.array([3.0, -1.0]), np.array([2, 2]))
    assert post.mean_rewards()[0, 0, 1] == pytest.approx((1 + 3) / 2)
    assert post.mean_rewards()[1, 1, 0] == pytest.approx((1 - 1) / 2)
    assert post.mean_transitions()[0, 0, 1].tolist() == pytest.approx([0.25, 0.25, 0.5])
    rewards, transitions = post.sample(rng())
    assert rewards.shape == (2, 3, 2) and transitions.shape == (2, 3, 2, 3)
    assert np.allclose(transitions.sum(-1), 1)


def test_psrl_approaches_the_oracle_on_a_deterministic_mdp() -> None:
    task = chain_mdp()
    fam = make_family("tabular-mdp", num_states=4, num_actions=3, horizon=6)
    oracle = fam.oracle_return(task)
    res = evaluate_mdp(PSRL(), [task] * 32, 25, rng(), seed=0, horizon=6)
    late = res.episode_returns[:, -5:].mean()
    assert late > 0.9 * oracle
    assert res.episode_returns[:, 0].mean() < 0.8 * oracle
    assert res.episode_returns.shape == (32, 25)
    assert np.allclose(res.total, res.episode_returns.sum(1))


def test_random_mdp_matches_its_expectation() -> None:
    fam = make_family("tabular-mdp")
    tasks = family_tasks("tabular-mdp", "test", 300, seed=4)
    res = evaluate_mdp(RandomMDP(), tasks, 3, rng(), seed=0)
    expected = 3 * np.mean([fam.random_return(t) for t in tasks])
    m, h = classic.mean_ci(res.total)
    assert abs(m - expected) < 2 * h


def test_mdp_learners_beat_random_and_are_deterministic() -> None:
    tasks = family_tasks("tabular-mdp", "test", 100, seed=5)
    totals = {}
    for i, (name, alg) in enumerate(classic.MDP_ALGORITHMS.items()):
        a = evaluate_mdp(alg, tasks, 4, rng(i), seed=3)
        b = evaluate_mdp(alg, tasks, 4, rng(i), seed=3)
        assert np.array_equal(a.episode_returns, b.episode_returns)
        totals[name] = a.total.mean()
    for name in ("greedy", "eps-greedy", "greedy-empirical"):
        assert totals[name] > totals["random"] + 3


def test_mdp_greedy_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="estimate"):
        MDPGreedy(estimate="mle")
    with pytest.raises(ValueError, match="replan"):
        MDPGreedy(replan="never")


def test_myopic_greedy_takes_the_best_posterior_reward_and_ignores_transitions() -> None:
    # Two states, two actions. In state 0, action 0 has paid 2.0 once (posterior mean
    # (1 + 2) / 2 = 1.5) and leads to state 1, where both actions have paid -3.0 (mean -1.0);
    # action 1 has paid 1.5 once (mean 1.25) and stays in state 0. Transitions seen 50 times.
    post = MDPPosterior.empty(1, 2, 2)
    for s, a, r, s2 in [(0, 0, 2.0, 1), (0, 1, 1.5, 0), (1, 0, -3.0, 1), (1, 1, -3.0, 1)]:
        post.update(np.array([s]), np.array([a]), np.array([r]), np.array([s2]))
        post.transition_counts[0, s, a, s2] += 49.0
    state0 = np.array([0])
    myopic = MDPGreedy(myopic=True)
    assert myopic.begin_episode(post, 2, rng()) is None
    # Myopic: the higher mean reward now, action 0, whatever follows.
    assert myopic.act(None, post, state0, 0, 2, rng()).tolist() == [0]
    # Planning over the 2 steps left: action 0 gives 1.5 - 1.0, action 1 gives 1.25 + 1.5.
    assert MDPGreedy().act(None, post, state0, 0, 2, rng()).tolist() == [1]
    # With 1 step left both agree.
    assert MDPGreedy().act(None, post, state0, 1, 2, rng()).tolist() == [0]
