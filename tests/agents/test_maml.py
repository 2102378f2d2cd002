"""MAML-PG's maths on tiny problems: the inner gradient, the meta-gradient, the Hessian-vector
products through the inner update, the baseline, and the batched per-task rollout."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.func import functional_call

from metarl.agents import MAML, preset, seeding
from metarl.agents.maml import Episodes
from metarl.agents.returns import discounted_returns
from metarl.config import PRESETS, ConfigError
from metarl.envs import family_tasks, make_vector_env

HORIZON = 6


def tiny_maml(**changes) -> MAML:
    small = dict(meta_batch=3, fast_batch=4, hidden_sizes=(5, 5), train_tasks=6, eval_tasks=2)
    config = dataclasses.replace(
        preset("maml", "nav"), env_kwargs={"horizon": HORIZON}, device="cpu", **{**small, **changes}
    )
    return MAML(config, family_tasks("nav", "train", 6, 0, horizon=HORIZON))


def batch(
    agent: MAML, seed: int = 1, double: bool = False, after: Episodes | None = None
) -> Episodes:
    """One batch of the agent's training env (its first meta-batch of tasks), with advantages;
    ``after``: acted by the policies adapted on that batch (as a post-update batch is)."""
    cfg = agent.config
    agent.env.set_tasks([t for t in agent._draw_tasks(0) for _ in range(cfg.fast_batch)])
    weights = agent.stacked({k: v.detach() for k, v in agent.weights().items()}, cfg.meta_batch)
    if after is not None:
        adapted = agent.adapt(agent.weights(), [after], create_graph=False)
        weights = {k: v.detach() for k, v in adapted.items()}
    gen = torch.Generator().manual_seed(seed)
    ep, _ = agent.with_advantages(agent.rollout(agent.env, weights, cfg.fast_batch, gen, seed))
    if double:
        ep = Episodes(*(x.double() if x.is_floating_point() else x for x in ep))
    return ep


def flat_function(agent: MAML, f):
    """``f(weights dict)`` as a function of one flat float64 vector of θ."""
    theta = agent.weights()
    names, shapes = list(theta), [v.shape for v in theta.values()]
    sizes = [v.numel() for v in theta.values()]

    def g(flat: torch.Tensor) -> torch.Tensor:
        parts = flat.split(sizes)
        return f({n: p.view(s) for n, p, s in zip(names, parts, shapes)})

    flat = torch.cat([v.detach().reshape(-1) for v in theta.values()])
    return g, flat


def test_inner_gradient_matches_finite_differences() -> None:
    agent = tiny_maml()
    ep = batch(agent, double=True)
    agent.policy.double()
    loss, flat = flat_function(agent, lambda w: agent.inner_loss(agent.stacked(w, 3), ep).sum())
    flat = flat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(flat), flat)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        v = torch.randn(flat.shape, generator=gen, dtype=torch.float64)
        eps = 1e-6
        with torch.no_grad():
            numeric = (loss(flat + eps * v) - loss(flat - eps * v)) / (2 * eps)
        assert float(grad @ v) == pytest.approx(float(numeric), rel=1e-5, abs=1e-8)


def _outer_loss(agent: MAML, inner: Episodes, post: Episodes, second_order: bool):
    def f(w):
        loss, _, _ = agent.outer_terms(w, [inner], post, create_graph=second_order)
        return loss

    return flat_function(agent, f)


def test_second_order_meta_gradient_passes_gradcheck_and_differs_from_first_order() -> None:
    agent = tiny_maml(inner_lr=0.5)
    inner, post = batch(agent, 1, double=True), batch(agent, 2, double=True)
    agent.policy.double()
    loss, flat = _outer_loss(agent, inner, post, second_order=True)
    flat = flat.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (flat,), eps=1e-6, atol=1e-5)
    (second,) = torch.autograd.grad(loss(flat), flat)
    first_loss, _ = _outer_loss(agent, inner, post, second_order=False)
    (first,) = torch.autograd.grad(first_loss(flat), flat)
    assert not torch.allclose(first, second, rtol=1e-3)
    assert torch.nn.functional.cosine_similarity(first, second, dim=0) > 0.5  # same direction


def test_hvp_through_the_inner_update_equals_the_full_double_backward() -> None:
    agent = tiny_maml(inner_lr=0.5)
    inner = batch(agent, 1)
    post = batch(agent, 2, double=True, after=inner)  # acted by the adapted policies: KL = 0
    inner = Episodes(*(x.double() if x.is_floating_point() else x for x in inner))
    agent.policy.double()
    theta = agent.weights()
    params = list(theta.values())
    adapted, chain = agent.adapt_with_chain(theta, [inner], second_order=True)
    _, kl, _ = agent.outer_terms_of(adapted, post)
    hvp = agent.hvp_factory(kl, adapted, chain, theta)
    # the reference: differentiate the KL's gradient through the whole graph
    _, kl_full, _ = agent.outer_terms(theta, [inner], post, create_graph=True)
    grads = torch.autograd.grad(kl_full, params, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        v = torch.randn(flat_grad.shape, generator=gen, dtype=torch.float64)
        full = torch.autograd.grad(flat_grad @ v, params, retain_graph=True)
        full = torch.cat([x.reshape(-1) for x in full])
        # equal up to the float32 rounding of the acting policy (KL ≈ 1e-15, not exactly 0)
        assert (hvp(v) - full).norm() < 1e-6 * full.norm()
    # and the first-order products (no inner Hessian) differ
    adapted_fo, chain_fo = agent.adapt_with_chain(theta, [inner], second_order=False)
    _, kl_fo, _ = agent.outer_terms_of(adapted_fo, post)
    assert not chain_fo
    first_order = agent.hvp_factory(kl_fo, adapted_fo, [], theta)(v)
    assert (first_order - full).norm() > 1e-3 * full.norm()


def test_linear_baseline_reduces_the_variance_of_the_inner_gradient() -> None:
    agent = tiny_maml(fast_batch=16, normalize_advantages=False)
    ep = batch(agent)
    t, m, b = ep.rewards.shape
    dones = torch.zeros(t, m * b, dtype=torch.bool)
    dones[-1] = True
    returns = discounted_returns(ep.rewards.reshape(t, -1), dones, agent.config.gamma)
    returns = returns.view(t, m, b) * ep.mask
    theta = agent.weights()

    def per_episode_grads(adv: torch.Tensor) -> torch.Tensor:
        rows = []
        for j in range(b):  # task 0, episode j alone
            one = ep._replace(**{k: getattr(ep, k)[:, :1, j : j + 1] for k in
                                 ("obs", "actions", "rewards", "mask", "log_probs", "params")},
                              advantages=adv[:, :1, j : j + 1])  # fmt: skip
            loss = agent.inner_loss(agent.stacked(theta, 1), one).sum()
            grads = torch.autograd.grad(loss, list(theta.values()))
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
        return torch.stack(rows)

    with_baseline = per_episode_grads(ep.advantages).var(0).sum()
    without = per_episode_grads(returns).var(0).sum()
    assert with_baseline < 0.5 * without


def test_batched_rollout_equals_a_loop_over_tasks_with_one_policy_each() -> None:
    agent = tiny_maml()
    m, b = 3, 4
    tasks = family_tasks("nav", "test", m, 0, horizon=HORIZON)
    gen = torch.Generator().manual_seed(0)
    theta = agent.weights()
    weights = {k: (v.detach() + 0.3 * torch.randn((m, *v.shape), generator=gen))
               for k, v in theta.items()}  # fmt: skip
    env = make_vector_env("nav", m * b, "cpu", horizon=HORIZON)
    env.set_tasks([t for t in tasks for _ in range(b)])
    batched = agent.rollout(env, weights, b, torch.Generator().manual_seed(7), seed=11)

    envs = [make_vector_env("nav", b, "cpu", horizon=HORIZON) for _ in tasks]
    obs = []
    for i, (e, t) in enumerate(zip(envs, tasks)):
        e.set_tasks([t] * b)
        obs.append(
            e.reset(seed=11 + i * b)[0]
        )  # sub-env i*b + j of the batch has seed 11 + i*b + j
    loop_gen = torch.Generator().manual_seed(7)
    for step in range(HORIZON):
        params = torch.stack([
            functional_call(agent.policy, {k: w[i] for k, w in weights.items()}, (obs[i],))
            for i in range(m)
        ])  # fmt: skip
        assert torch.allclose(params, batched.params[step], atol=1e-6)
        assert torch.equal(torch.stack(obs), batched.obs[step])
        # the same draws as the batched call; the per-task and batched matrix products may
        # differ in the last bit (BLAS picks kernels by shape), so the loop then steps with
        # the batched actions and the observations and rewards must match exactly
        action = agent.policy.sample(params, loop_gen)
        assert torch.allclose(action, batched.actions[step], atol=1e-5)
        for i, e in enumerate(envs):
            obs[i], reward, _, _, _ = e.step(agent.policy.to_env(batched.actions[step, i]))
            live = batched.mask[step, i]
            assert torch.equal(reward * live, batched.rewards[step, i])


ANT = {"horizon": 12, "healthy_z_range": (0.6, 1.0)}  # random actions end episodes early


def tiny_ant_maml() -> MAML:
    """MAML on an ant-dir whose episodes end at different steps (2 tasks × 3 episodes)."""
    config = dataclasses.replace(
        preset("maml", "ant-dir"), env_kwargs=ANT, device="cpu", meta_batch=2, fast_batch=3,
        hidden_sizes=(8,), train_tasks=4, eval_tasks=2,
    )  # fmt: skip
    return MAML(config, family_tasks("ant-dir", "train", 4, 0, **ANT))


def test_rollout_that_skips_ended_episodes_equals_one_that_steps_every_sub_env() -> None:
    """On ant-dir, whose episodes end at different steps, the native env simulates only the
    sub-envs still in their episode; the episodes equal those of Gymnasium's sync vector env
    (which steps every sub-env to the horizon) on every real step."""
    kwargs = ANT
    agent = tiny_ant_maml()
    tasks = [t for t in agent.train_tasks[:2] for _ in range(3)]
    weights = agent.stacked({k: v.detach() for k, v in agent.weights().items()}, 2)
    episodes = []
    for mode in ("native", "sync"):
        env = make_vector_env("ant-dir", 6, "cpu", mode=mode, **kwargs)
        env.set_tasks(tasks)
        episodes.append(agent.rollout(env, weights, 3, torch.Generator().manual_seed(2), 5))
        env.close()
    native, sync = episodes
    ends = native.mask.sum(dim=0).flatten()
    assert len(set(ends.tolist())) > 1 and ends.min() < kwargs["horizon"]  # ragged episodes
    assert torch.equal(native.mask, sync.mask) and torch.equal(native.rewards, sync.rewards)
    real = native.mask > 0
    for name in ("obs", "actions", "log_probs", "params"):
        assert torch.equal(getattr(native, name)[real], getattr(sync, name)[real]), name


def test_packed_episodes_give_the_same_losses_over_fewer_steps() -> None:
    agent = tiny_ant_maml()
    pre = batch(agent, seed=3)
    post = batch(agent, seed=4, double=True, after=pre)
    pre = Episodes(*(x.double() if x.is_floating_point() else x for x in pre))
    per_task = pre.mask.sum(dim=(0, 2))
    assert per_task.min() < per_task.max() < pre.mask.numel() / 2  # ragged, mostly padding
    packed_pre, packed_post = pre.packed(), post.packed()
    assert packed_pre.mask.shape == (int(per_task.max()), 2, 1)
    assert torch.equal(packed_pre.mask.sum(dim=(0, 2)), per_task)
    assert torch.equal(
        packed_pre.mask[:, 0, 0], (torch.arange(len(packed_pre.mask)) < per_task[0]).double()
    )  # real steps first
    agent.policy.double()
    theta = agent.weights()
    stacked = agent.stacked(theta, 2)
    assert torch.allclose(agent.inner_loss(stacked, pre), agent.inner_loss(stacked, packed_pre))
    full = agent.outer_terms(theta, [pre], post, create_graph=False)
    short = agent.outer_terms(theta, [packed_pre], packed_post, create_graph=False)
    assert torch.allclose(full[0], short[0]) and torch.allclose(full[1], short[1])
    whole = batch(tiny_maml())  # nav: no episode ends early, nothing to pack
    assert whole.packed() is whole


def test_deterministic_rollout_takes_the_mean_action() -> None:
    agent = tiny_maml()
    cfg = agent.config
    agent.env.set_tasks([t for t in agent._draw_tasks(0) for _ in range(cfg.fast_batch)])
    weights = agent.stacked({k: v.detach() for k, v in agent.weights().items()}, cfg.meta_batch)
    ep = agent.rollout(agent.env, weights, cfg.fast_batch, torch.Generator(), 3, True)
    mean, log_std = ep.params.chunk(2, dim=-1)
    assert torch.equal(ep.actions, mean) and bool((log_std.exp() > 0.5).all())  # std 1: noisy


def test_evaluation_steps_after_the_first_use_half_the_step_size() -> None:
    assert tiny_maml(eval_inner_lr=0.0).config.eval_step_size == pytest.approx(0.05)
    assert tiny_maml(eval_inner_lr=0.2).config.eval_step_size == pytest.approx(0.2)


def test_presets_keep_the_papers_adaptation_and_families_without_one_get_larger_steps() -> None:
    # the class defaults changed in issue 22 (inner step 0.5, 5 evaluation steps, later ones at
    # 0.1); every built-in preset keeps the paper's adaptation its results were measured with
    presets = [(agent, env) for agent, env in PRESETS if agent in ("maml", "pretrained")]
    assert {env for _, env in presets} == {"bandit", "tabular-mdp", "nav", "cheetah-vel",
                                           "cheetah-dir", "ant-dir", "ant-goal"}  # fmt: skip
    for agent, env in presets:
        config = preset(agent, env)
        assert (config.inner_lr, config.eval_inner_steps) == (0.1, 3), (agent, env)
        later = 0.02 if env == "nav" else 0.05  # nav's: chosen on training goals
        assert config.eval_step_size == pytest.approx(later), (agent, env)
        std = -1.0 if env == "ant-dir" else 0.0  # the paper's std 1 but where the ant falls
        assert config.init_log_std == std, (agent, env)
        assert config.inner_steps == 1, (agent, env)
    own = preset("maml", "examples.windy_line:WindyLine-v0")
    assert (own.inner_lr, own.eval_inner_steps, own.eval_step_size) == (0.5, 5, 0.1)
    assert own.init_log_std == -1.0  # as RL²'s class default


COMMITTED_LOCOMOTION_RUNS = {
    "maml-cheetah-vel": "cheetah-vel", "pretrained-cheetah-vel": "cheetah-vel",
    "maml-cheetah-dir": "cheetah-dir", "pretrained-cheetah-dir": "cheetah-dir",
    "maml-ant-dir-std-1": "ant-dir", "pretrained-ant-dir-std-1": "ant-dir",
}  # fmt: skip
"""The MAML/pretrained locomotion runs BENCHMARKS reports -> their family."""


@pytest.mark.parametrize("run", sorted(COMMITTED_LOCOMOTION_RUNS))
def test_the_locomotion_presets_are_the_committed_runs(preset_differences, run: str) -> None:
    """docs/results/<run> differs from the preset only in device, CPU threads and checkpoint
    cadence: how it ran, not what (the ant-dir presets start at std 0.37, as those runs did).
    Its budget is the preset's 100M env steps, though the pretrained runs were stopped before."""
    env = COMMITTED_LOCOMOTION_RUNS[run]
    config, differ = preset_differences(run, run.split("-")[0], env)
    assert set(differ) <= {"device", "threads", "checkpoint_every"}, differ
    assert config.steps == 100_000_000
    assert config.init_log_std == (-1.0 if env == "ant-dir" else 0.0)


def test_inner_steps_zero_picks_one_for_discrete_and_two_for_continuous_actions() -> None:
    assert preset("maml", "examples.windy_line:WindyLine-v0").inner_steps == 0  # the class's
    continuous = tiny_maml(inner_steps=0)  # nav: Box actions
    assert continuous.train_inner_steps == 2
    tasks = family_tasks("nav", "test", 2, 0, horizon=HORIZON)
    assert continuous.adaptation_curve(tasks, budget=1).meta["train_inner_steps"] == 2
    assert continuous.steps_per_iteration == 3 * 4 * HORIZON * 3  # two inner rollouts + post
    assert tiny_maml(inner_steps=3).train_inner_steps == 3
    config = dataclasses.replace(
        preset("maml", "bandit"), inner_steps=0, device="cpu", meta_batch=2, fast_batch=2,
        hidden_sizes=(4,), train_tasks=2, eval_tasks=1,
    )  # fmt: skip
    discrete = MAML(config, family_tasks("bandit", "train", 2, 0, num_arms=5))
    assert discrete.train_inner_steps == 1
    with pytest.raises(ConfigError, match="--inner-steps must be a whole number >= 0"):
        dataclasses.replace(config, inner_steps=-1).validate()


def test_iteration_draws_come_from_named_streams() -> None:
    seeds = {seeding.stream_seed(0, 3, s) for s in (seeding.POLICY, seeding.TASKS, seeding.ENV,
                                                    seeding.EVALUATION)}  # fmt: skip
    assert len(seeds) == 4
    assert seeding.stream_seed(0, 3, seeding.ENV) == seeding.stream_seed(0, 3, seeding.ENV)
