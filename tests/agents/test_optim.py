"""agents.optim and the hand-written MLP gradient against what torch computes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from agents import dqn
from agents.networks import MLPGradient, QNetwork
from agents.optim import Adam, FlatParameters

VECTOR = spaces.Box(0, 1, (6,), np.float32)


def _network(seed: int = 0, **kwargs) -> QNetwork:
    torch.manual_seed(seed)
    return QNetwork(VECTOR, 3, mlp_hidden=(16, 8), **kwargs)


def test_flat_parameters_alias_the_module_and_backward_fills_the_flat_gradient():
    network = _network()
    before = {name: value.clone() for name, value in network.state_dict().items()}
    flat = FlatParameters(network)
    for name, value in network.state_dict().items():  # the same values, now views of flat.data
        assert torch.equal(value, before[name])
    flat.data.zero_()
    assert all(not p.any() for p in network.parameters())

    reference = _network()
    obs = torch.rand(5, 6)
    flat.data.copy_(torch.cat([p.detach().flatten() for p in reference.parameters()]))
    for _ in range(2):  # accumulates in place, as autograd does into any .grad
        network(obs).square().sum().backward()
        reference(obs).square().sum().backward()
    expected = torch.cat([p.grad.flatten() for p in reference.parameters()])
    torch.testing.assert_close(flat.grad, expected)


@pytest.mark.parametrize("max_norm", [None, 1e-2, 1e3])  # not clipping, clipped, left alone
def test_adam_matches_torch_step_for_step_and_resumes_from_its_state(max_norm):
    network, reference = _network(), _network()
    flat = FlatParameters(network)
    ours = Adam(flat, lr=1e-2, max_grad_norm=max_norm)
    theirs = torch.optim.Adam(reference.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    for step in range(30):
        if step == 15:  # a fresh Adam loaded from the state carries on the same
            state = copy.deepcopy(ours.state_dict())
            ours = Adam(flat, lr=0.5, max_grad_norm=max_norm)
            ours.load_state_dict(state)
        obs = torch.rand(5, 6, generator=generator)
        flat.grad.zero_()
        theirs.zero_grad()
        network(obs).square().mean().backward()
        reference(obs).square().mean().backward()
        ours.step()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        theirs.step()
        torch.testing.assert_close(
            flat.grad, torch.cat([p.grad.flatten() for p in reference.parameters()])
        )
    torch.testing.assert_close(
        flat.data, torch.cat([p.detach().flatten() for p in reference.parameters()])
    )
    assert ours.steps == 30


def test_adam_refuses_a_state_of_another_size_or_kind():
    adam = Adam(FlatParameters(_network()), lr=1e-3)
    other = Adam(FlatParameters(QNetwork(VECTOR, 3, mlp_hidden=(4,))), lr=1e-3)
    with pytest.raises(ValueError, match="parameters"):
        adam.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="not one of this Adam's"):
        adam.load_state_dict({"state": {}, "param_groups": []})  # torch.optim's layout


def test_mlp_gradient_matches_autograd_on_the_first_rows():
    network, reference = _network(), _network()
    FlatParameters(network)
    obs = torch.rand(12, 6)
    grad_q = torch.randn(7, 3)  # a loss on the Q-values of the first 7 rows only
    mlp = MLPGradient(network)
    with torch.no_grad():
        q, inputs = mlp.forward(obs)  # already float rows
        mlp.backward(inputs, grad_q)
    reference_q = reference(obs)
    torch.testing.assert_close(q, reference_q.detach())
    (reference_q[:7] * grad_q).sum().backward()
    for ours, theirs in zip(network.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad)


def test_mlp_gradient_is_only_for_plain_mlps():
    assert not MLPGradient.supports(_network(dueling=True))
    image = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert not MLPGradient.supports(QNetwork(image, 3))
    with pytest.raises(ValueError, match="MLP"):
        MLPGradient(_network(dueling=True))


def _replay_batch(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.random((rows, 6), dtype=np.float32),
        "actions": rng.integers(3, size=rows),
        "returns": rng.normal(size=rows).astype(np.float32) * 3,  # errors on both sides of 1
        "discounts": np.where(rng.random(rows) < 0.2, 0.0, 0.99).astype(np.float32),
        "next_obs": rng.random((rows, 6), dtype=np.float32),
    }


def _learner(args: dqn.Args, by_hand: bool) -> dqn.Learner:
    torch.manual_seed(0)
    learner = dqn.Learner(args, VECTOR, 3, torch.device("cpu"))
    assert learner.mlp is not None
    if not by_hand:  # the autograd path every other network takes
        learner.mlp = None
        learner.q_network.requires_grad_(True)
    return learner


@pytest.mark.parametrize("double", [True, False])
def test_hand_written_and_autograd_updates_agree(double):
    batch = _replay_batch(32)
    args = dqn.Args(learning_rate=1e-2, mlp_hidden=(16, 8), double=double, max_grad_norm=0.5)
    by_hand, by_autograd = _learner(args, by_hand=True), _learner(args, by_hand=False)
    for step in range(5):
        results = [learner.update(batch) for learner in (by_hand, by_autograd)]
        torch.testing.assert_close(results[0], results[1])
        if step == 2:
            for learner in (by_hand, by_autograd):
                learner.update_target()
    torch.testing.assert_close(by_hand.weights.data, by_autograd.weights.data)
    torch.testing.assert_close(by_hand.target_weights.data, by_autograd.target_weights.data)
    # The update is the mean Huber loss's, as F.smooth_l1_loss defines it.
    loss, _ = by_hand.update(batch)
    q_taken, targets = _q_and_targets(
        by_autograd.q_network, by_autograd.target_network, batch, double
    )
    by_autograd.update(batch)
    torch.testing.assert_close(loss, F.smooth_l1_loss(q_taken.detach(), targets))


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("by_hand", [True, False])
def test_updates_are_torchs_clipped_adam_steps_on_the_huber_loss(double, by_hand):
    args = dqn.Args(learning_rate=1e-2, mlp_hidden=(16, 8), double=double, max_grad_norm=0.05)
    learner = _learner(args, by_hand)
    reference = copy.deepcopy(learner.q_network).requires_grad_(True)
    reference_target = copy.deepcopy(learner.target_network)
    adam = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for step in range(4):
        batch = _replay_batch(32, seed=step)
        learner.update(batch)
        q_taken, targets = _q_and_targets(reference, reference_target, batch, double)
        adam.zero_grad()
        F.smooth_l1_loss(q_taken, targets).backward()
        norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), args.max_grad_norm)
        assert norm > args.max_grad_norm  # clipped
        adam.step()
        torch.testing.assert_close(
            learner.weights.data, torch.cat([p.detach().flatten() for p in reference.parameters()])
        )


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("by_hand", [True, False])
def test_steps_in_one_call_are_the_steps_on_each_slice_in_turn(double, by_hand):
    args = dqn.Args(learning_rate=0.1, mlp_hidden=(16, 8), double=double, max_grad_norm=0.05)
    together, one_by_one = _learner(args, by_hand), _learner(args, by_hand)
    for learner in (together, one_by_one):
        learner.update(_replay_batch(8))  # online and target networks apart
    # A batch that lowers the values of the greedy actions at next_obs, so that Double DQN's
    # greedy actions change from step to step: each step must take its own.
    batch = _replay_batch(4 * 8, seed=1)
    next_obs = torch.from_numpy(batch["next_obs"])
    greedy_before = together.q_network(next_obs).argmax(dim=1)
    batch.update(obs=batch["next_obs"], actions=greedy_before.numpy(), returns=batch["returns"] - 3)
    loss, q_mean = together.update(batch, steps=4)
    assert not torch.equal(together.q_network(next_obs).argmax(dim=1), greedy_before)
    results = [
        one_by_one.update({name: values[i * 8 : (i + 1) * 8] for name, values in batch.items()})
        for i in range(4)
    ]
    torch.testing.assert_close(together.weights.data, one_by_one.weights.data)
    torch.testing.assert_close(loss, sum(result[0] for result in results) / 4)
    torch.testing.assert_close(q_mean, sum(result[1] for result in results) / 4)
    assert together.optimizer.steps == one_by_one.optimizer.steps == 5
    with pytest.raises(ValueError, match="does not split into 3 steps"):
        together.update(batch, steps=3)


def _q_and_targets(network, target_network, batch, double: bool):
    """Q-values of the actions taken, with autograd, and the TD targets, without."""
    obs, next_obs = torch.from_numpy(batch["obs"]), torch.from_numpy(batch["next_obs"])
    actions = torch.from_numpy(batch["actions"])
    with torch.no_grad():
        targets = dqn.td_targets(
            torch.from_numpy(batch["returns"]),
            torch.from_numpy(batch["discounts"]),
            target_network(next_obs),
            network(next_obs) if double else None,
        )
    return network(obs).gather(1, actions[:, None]).squeeze(1), targets


def test_flat_parameters_keep_channels_last_weights_and_their_gradients():
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(12, 2)
    )
    network.to(memory_format=torch.channels_last)
    reference = copy.deepcopy(network)
    flat = FlatParameters(network)
    weight = network[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert weight.grad.stride() == weight.stride()
    torch.testing.assert_close(weight, reference[0].weight)
    images = torch.rand(4, 2, 4, 4)
    network(images).sum().backward()
    reference(images).sum().backward()
    for ours, theirs in zip(network.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad)
    assert flat.grad.abs().sum() > 0
