"""The recurrent actor-critic: sequence mode equals step mode; action heads are consistent."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from metarl.agents.networks import ActionHead, RecurrentActorCritic, _Segments


@pytest.mark.parametrize(
    ("transition_input", "head_hidden", "critic_gru"),
    [(False, 0, False), (True, 0, False), (True, 8, False), (False, 0, True), (True, 8, True)],
)
def test_sequence_equals_step_loop_with_resets(
    transition_input: bool, head_hidden: int, critic_gru: bool
) -> None:
    torch.manual_seed(0)
    net = RecurrentActorCritic(
        6, spaces.Discrete(3), 16, transition_input, head_hidden, critic_gru=critic_gru
    )
    obs = torch.randn(9, 4, 6)
    resets = torch.zeros(9, 4, dtype=torch.bool)
    resets[0, :2] = True  # sub-envs 2 and 3 continue from h0 (and its previous obs)
    resets[4, 1] = resets[6, 3] = True
    h0 = torch.randn(4, net.state_size)
    seq = net.sequence(obs, h0, resets)
    h, outs = h0, []
    for t in range(9):
        f, h = net.step(obs[t], h, resets[t])
        outs.append(f)
    assert torch.allclose(seq, torch.stack(outs), atol=1e-6)


def test_segments_of_mixed_lengths_equal_the_step_loop_and_pad_little() -> None:
    """A nav-like rollout: one row never resets (a goal not found), one resets at every step,
    the rest at random. Segments are batched by length, so the padding stays under twice the
    steps (one batch padded to the longest would be 40 x 54 here, over 9x the 240 steps)."""
    torch.manual_seed(1)
    net = RecurrentActorCritic(3, spaces.Discrete(2), 8, transition_input=True)
    steps, batch = 40, 6
    resets = torch.rand(steps, batch) < 0.2
    resets[:, 0] = False
    resets[:, 1] = True
    h0 = torch.randn(batch, net.state_size)
    obs = torch.randn(steps, batch, 3)
    seq = net.sequence(obs, h0, resets)
    h, outs = h0, []
    for t in range(steps):
        f, h = net.step(obs[t], h, resets[t])
        outs.append(f)
    assert torch.allclose(seq, torch.stack(outs), atol=1e-6)
    segments = _Segments(resets)
    assert len(segments.buckets) >= 4
    assert sum(c * n for c, n in segments.buckets) <= 2 * steps * batch


@pytest.mark.parametrize(("transition_input", "critic_gru"), [(False, False), (True, True)])
def test_unsegmented_sequence_equals_segmented(transition_input: bool, critic_gru: bool) -> None:
    """Without resets after step 0 the one-call GRU path gives the padded-segment path's result."""
    torch.manual_seed(0)
    net = RecurrentActorCritic(5, spaces.Discrete(2), 12, transition_input, critic_gru=critic_gru)
    obs = torch.randn(7, 6, 5)
    resets = torch.zeros(7, 6, dtype=torch.bool)
    resets[0, ::2] = True
    h0 = torch.randn(6, net.state_size)
    fast = net.sequence(obs, h0, resets, segmented=False)
    assert torch.allclose(fast, net.sequence(obs, h0, resets), atol=1e-6)


@pytest.mark.parametrize(("transition_input", "critic_gru"), [(True, False), (False, True)])
@pytest.mark.parametrize("segmented", [False, True])
def test_every_gru_call_gets_a_contiguous_initial_state(
    transition_input: bool, critic_gru: bool, segmented: bool
) -> None:
    """cuDNN refuses a non-contiguous initial state ("rnn: hx is not contiguous"), which CPU
    kernels accept: with a carried state wider than one GRU's, a slice of it must be copied."""
    net = RecurrentActorCritic(4, spaces.Discrete(2), 8, transition_input, critic_gru=critic_gru)
    seen: list[bool] = []
    for _, gru in net._cores():
        gru.register_forward_pre_hook(lambda _m, args: seen.append(args[1].is_contiguous()))
    resets = torch.zeros(5, 3, dtype=torch.bool)
    net.sequence(torch.randn(5, 3, 4), torch.randn(3, net.state_size), resets, segmented)
    assert seen == [True] * len(net._cores())


def untouched(p: torch.nn.Parameter) -> bool:
    """No gradient reached ``p`` (none at all, or zeros through a slice)."""
    return p.grad is None or not p.grad.any()


@pytest.mark.parametrize("head_hidden", [0, 8])
def test_critic_gru_separates_the_value_gradient_from_the_policy(head_hidden: int) -> None:
    torch.manual_seed(0)
    net = RecurrentActorCritic(4, spaces.Discrete(3), 8, head_hidden=head_hidden, critic_gru=True)
    assert net.state_size == 16
    obs, resets = torch.randn(5, 3, 4), torch.zeros(5, 3, dtype=torch.bool)
    resets[0] = True
    feats = net.sequence(obs, net.initial_state(3, torch.device("cpu")), resets)
    net.value(feats).sum().backward()
    assert all(untouched(p) for p in [*net.gru.parameters(), *net.encoder.parameters()])
    assert all(untouched(p) for p in net.policy.parameters())
    assert net.critic_core.weight_hh_l0.grad.abs().sum() > 0
    net.zero_grad(set_to_none=True)
    feats = net.sequence(obs, net.initial_state(3, torch.device("cpu")), resets)
    net.policy_params(feats).sum().backward()
    assert all(untouched(p) for p in net.critic_core.parameters())
    assert net.gru.weight_hh_l0.grad.abs().sum() > 0


def test_transition_input_reads_the_previous_observation() -> None:
    torch.manual_seed(0)
    net = RecurrentActorCritic(2, spaces.Discrete(2), 8, transition_input=True)
    h = net.initial_state(1, torch.device("cpu"))
    assert h.shape == (1, 10)
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    _, after_x = net.step(x, h)
    assert torch.equal(after_x[:, 8:], x)
    # the same GRU memory with a different previous obs gives different features
    gru_only = after_x[:, :8]
    f_x, _ = net.step(x, torch.cat([gru_only, x], -1))
    f_y, _ = net.step(x, torch.cat([gru_only, y], -1))
    assert not torch.allclose(f_x, f_y)


def test_reset_zeroes_memory() -> None:
    net = RecurrentActorCritic(2, spaces.Discrete(2), hidden_size=8)
    x = torch.randn(1, 2)
    fresh, _ = net.step(x, net.initial_state(1, torch.device("cpu")))
    reset, _ = net.step(x, torch.randn(1, 8), torch.tensor([True]))
    assert torch.allclose(fresh, reset)


def test_discrete_head_log_prob_and_entropy() -> None:
    head = ActionHead(4, spaces.Discrete(3))
    logits = torch.tensor([[0.0, 0.0, 0.0]])
    assert head.entropy(logits).item() == pytest.approx(math.log(3))
    assert head.log_prob(logits, torch.tensor([1])).item() == pytest.approx(-math.log(3))
    g = torch.Generator().manual_seed(0)
    draws = head.sample(torch.tensor([[0.0, 10.0, 0.0]]).expand(1000, 3), g)
    assert (draws == 1).float().mean() > 0.99


def test_box_head_matches_torch_normal_and_scales_to_bounds() -> None:
    space = spaces.Box(
        np.array([-0.1, 0.0], dtype=np.float32), np.array([0.1, 2.0], dtype=np.float32)
    )
    head = ActionHead(4, space, init_log_std=-0.5)
    mean = torch.tensor([[0.3, -0.2]])
    a = torch.tensor([[0.1, 0.4]])
    ref = torch.distributions.Normal(mean, math.exp(-0.5)).log_prob(a).sum(-1)
    assert torch.allclose(head.log_prob(mean, a), ref)
    ent = torch.distributions.Normal(mean, math.exp(-0.5)).entropy().sum(-1)
    assert torch.allclose(head.entropy(mean), ent)
    env_a = head.to_env(torch.tensor([[1.0, -1.0], [5.0, 0.0]]))
    assert torch.allclose(env_a, torch.tensor([[0.1, 0.0], [0.1, 1.0]]))


def test_chrono_init_sets_only_the_update_gate_biases() -> None:
    torch.manual_seed(0)
    net = RecurrentActorCritic(4, spaces.Discrete(2), 32, chrono_horizon=100)
    reset_gate, update_gate, new_gate = net.gru.bias_hh_l0.detach().view(3, 32)
    assert torch.all(update_gate >= 0) and torch.all(update_gate <= math.log(99))
    assert update_gate.std() > 0.3  # a spread of timescales, not one value
    assert not reset_gate.any() and not new_gate.any() and not net.gru.bias_ih_l0.any()
    # an untrained unit with bias b keeps sigmoid(b) of its state: memory far beyond one step
    x, h = torch.zeros(1, 4), torch.ones(1, 32)
    _, kept = net.step(x, h)
    plain = RecurrentActorCritic(4, spaces.Discrete(2), 32)
    _, halved = plain.step(x, h)
    assert kept.mean() > halved.mean() + 0.2
