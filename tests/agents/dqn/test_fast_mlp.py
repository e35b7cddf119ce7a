"""agents.dqn.fast_mlp against what torch computes, and against the plain learner step for step."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.common.networks import QNetwork
from agents.dqn.config import Args
from agents.dqn.fast_mlp import (
    FastMLPLearner,
    FlatAdam,
    FlatParameters,
    MLPGradient,
    make_learner,
    supports,
)
from agents.dqn.learner import Learner, td_targets

VECTOR = spaces.Box(0, 1, (6,), np.float32)
CPU = torch.device("cpu")


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


@pytest.mark.parametrize("max_norm", [1e-2, 1e3])  # clipped, left alone
def test_flat_adam_matches_torch_step_for_step_and_resumes_from_its_state(max_norm):
    network, reference = _network(), _network()
    flat = FlatParameters(network)
    ours = FlatAdam(flat, lr=1e-2, max_grad_norm=max_norm)
    theirs = torch.optim.Adam(reference.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    for step in range(30):
        if step == 15:  # a fresh Adam loaded from the state carries on the same
            state = copy.deepcopy(ours.state_dict())
            ours = FlatAdam(flat, lr=0.5, max_grad_norm=max_norm)
            ours.load_state_dict(state)
        obs = torch.rand(5, 6, generator=generator)
        flat.grad.zero_()
        theirs.zero_grad()
        network(obs).square().mean().backward()
        reference(obs).square().mean().backward()
        ours.step()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        theirs.step()
        torch.testing.assert_close(
            flat.grad, torch.cat([p.grad.flatten() for p in reference.parameters()])
        )
    torch.testing.assert_close(
        flat.data, torch.cat([p.detach().flatten() for p in reference.parameters()])
    )
    assert int(ours.step_count) == 30


def test_flat_adam_and_torch_adam_load_each_others_state():
    network, reference = _network(), _network()
    flat = FlatParameters(network)
    ours = FlatAdam(flat, lr=1e-2, max_grad_norm=10.0)
    theirs = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for _ in range(3):
        for module, optimizer in ((network, ours), (reference, theirs)):
            module(torch.ones(2, 6)).sum().backward()
            optimizer.step()
            flat.grad.zero_()
            theirs.zero_grad()
    fresh_torch = torch.optim.Adam(_network().parameters(), lr=1e-2)
    fresh_torch.load_state_dict(ours.state_dict())
    fresh_ours = FlatAdam(FlatParameters(_network()), lr=1e-2, max_grad_norm=10.0)
    fresh_ours.load_state_dict(theirs.state_dict())
    for loaded, source in ((fresh_torch.state_dict(), ours.state_dict()),
                           (fresh_ours.state_dict(), theirs.state_dict())):  # fmt: skip
        for index, moments in source["state"].items():
            for name in ("exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(loaded["state"][index][name], moments[name])
            assert float(loaded["state"][index]["step"]) == 3
    other = FlatAdam(FlatParameters(QNetwork(VECTOR, 3, mlp_hidden=(4,))), lr=1e-3, max_grad_norm=1)
    with pytest.raises(ValueError, match="other parameters"):
        ours.load_state_dict(other.state_dict())


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


def _with_torso_layer(index: int, layer: nn.Module) -> QNetwork:
    network = _network()
    network.torso[index] = layer
    return network


@pytest.mark.parametrize(
    ("network", "why"),
    [
        (_network(dueling=True), "a dueling head"),
        (QNetwork(spaces.Box(0, 255, (4, 84, 84), np.uint8), 3), "the Nature CNN"),
        (_with_torso_layer(2, nn.Tanh()), "another activation"),
        (_with_torso_layer(2, nn.LayerNorm(16)), "a LayerNorm in place of a ReLU"),
        (_with_torso_layer(1, nn.Linear(6, 16, bias=False)), "a layer without bias"),
    ],
)
def test_any_other_network_falls_back_to_the_plain_learner(network, why):
    assert supports(_network())
    assert not supports(network), why
    with pytest.raises(ValueError, match="QNetwork of Linear and ReLU"):
        MLPGradient(network)


def test_make_learner_picks_the_fast_path_only_where_it_is_exact():
    def kind(**overrides) -> type:
        args = Args(mlp_hidden=(16, 8), **overrides)
        return type(make_learner(args, VECTOR, 3, CPU))

    assert kind() is FastMLPLearner
    assert kind(fast_mlp=False) is Learner
    assert kind(dueling=True) is Learner
    image = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert type(make_learner(Args(), image, 3, CPU)) is Learner


def _replay_batch(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.random((rows, 6), dtype=np.float32),
        "actions": rng.integers(3, size=rows),
        "returns": rng.normal(size=rows).astype(np.float32) * 3,  # errors on both sides of 1
        "discounts": np.where(rng.random(rows) < 0.2, 0.0, 0.99).astype(np.float32),
        "next_obs": rng.random((rows, 6), dtype=np.float32),
    }


def _learner(args: Args, fast: bool) -> Learner:
    torch.manual_seed(0)
    return (FastMLPLearner if fast else Learner)(args, VECTOR, 3, CPU)


def _weights(learner: Learner) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in learner.q_network.parameters()])


def _target_weights(learner: Learner) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in learner.target_network.parameters()])


@pytest.mark.parametrize("double", [True, False])
def test_fast_and_plain_learners_give_the_same_parameters_step_for_step(double):
    args = Args(learning_rate=1e-2, mlp_hidden=(16, 8), double=double, max_grad_norm=0.5)
    fast, plain = _learner(args, fast=True), _learner(args, fast=False)
    torch.testing.assert_close(_weights(fast), _weights(plain))
    for step in range(6):
        batch = _replay_batch(32, seed=step)
        results = [learner.update(batch) for learner in (fast, plain)]
        torch.testing.assert_close(results[0], results[1])
        torch.testing.assert_close(_weights(fast), _weights(plain))
        if step == 2:
            for learner in (fast, plain):
                learner.update_target()
    torch.testing.assert_close(_target_weights(fast), _target_weights(plain))
    assert fast.gradient_steps == plain.gradient_steps == 6


def test_a_fast_run_resumes_with_the_plain_learner_and_back():
    args = Args(learning_rate=1e-2, mlp_hidden=(16, 8), max_grad_norm=0.5)
    fast, plain = _learner(args, fast=True), _learner(args, fast=False)
    for learner in (fast, plain):
        learner.update(_replay_batch(32))
    from_fast, from_plain = _learner(args, fast=False), _learner(args, fast=True)
    from_fast.load_state_dict(copy.deepcopy(fast.state_dict()))
    from_plain.load_state_dict(copy.deepcopy(plain.state_dict()))
    for learner in (fast, plain, from_fast, from_plain):
        learner.update(_replay_batch(32, seed=1))
    for learner in (plain, from_fast, from_plain):
        torch.testing.assert_close(_weights(learner), _weights(fast))


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("fast", [True, False])
def test_updates_are_torchs_clipped_adam_steps_on_the_huber_loss(double, fast):
    args = Args(learning_rate=1e-2, mlp_hidden=(16, 8), double=double, max_grad_norm=0.05)
    learner = _learner(args, fast)
    reference = copy.deepcopy(learner.q_network).requires_grad_(True)
    reference_target = copy.deepcopy(learner.target_network)
    adam = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for step in range(4):
        batch = _replay_batch(32, seed=step)
        loss, _ = learner.update(batch)
        q_taken, targets = _q_and_targets(reference, reference_target, batch, double)
        adam.zero_grad()
        expected_loss = F.smooth_l1_loss(q_taken, targets)
        expected_loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), args.max_grad_norm)
        assert norm > args.max_grad_norm  # clipped
        adam.step()
        torch.testing.assert_close(loss, expected_loss.detach())
        torch.testing.assert_close(
            _weights(learner), torch.cat([p.detach().flatten() for p in reference.parameters()])
        )


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("fast", [True, False])
def test_steps_in_one_call_are_the_steps_on_each_slice_in_turn(double, fast):
    args = Args(learning_rate=0.1, mlp_hidden=(16, 8), double=double, max_grad_norm=0.05)
    together, one_by_one = _learner(args, fast), _learner(args, fast)
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
    torch.testing.assert_close(_weights(together), _weights(one_by_one))
    torch.testing.assert_close(loss, sum(result[0] for result in results) / 4)
    torch.testing.assert_close(q_mean, sum(result[1] for result in results) / 4)
    assert together.gradient_steps == one_by_one.gradient_steps == 5
    with pytest.raises(ValueError, match="does not split into 3 steps"):
        together.update(batch, steps=3)


def _q_and_targets(network, target_network, batch, double: bool):
    """Q-values of the actions taken, with autograd, and the TD targets, without."""
    obs, next_obs = torch.from_numpy(batch["obs"]), torch.from_numpy(batch["next_obs"])
    actions = torch.from_numpy(batch["actions"])
    with torch.no_grad():
        targets = td_targets(
            torch.from_numpy(batch["returns"]),
            torch.from_numpy(batch["discounts"]),
            target_network(next_obs),
            network(next_obs) if double else None,
        )
    return network(obs).gather(1, actions[:, None]).squeeze(1), targets
