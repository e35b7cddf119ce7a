"""--precision: bf16 compute with fp32 master weights agrees with fp32 within a stated tolerance,
the fp32 path is the plain one bit for bit, and auto picks bf16 only on bf16 hardware and only for
the Nature CNN."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from agents.common import precision
from agents.common.precision import pick_precision
from agents.dqn.config import Args
from agents.dqn.fast_mlp import FastMLPLearner, make_learner
from agents.dqn.learner import Learner, td_targets

FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
BF16_Q_TOLERANCE = 0.02
"""bf16 keeps 8 bits of mantissa: Q-values of the Nature CNN stay within 2% of their fp32 scale."""


def _batch(seed: int, rows: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.integers(0, 256, (rows, 4, 84, 84), dtype=np.uint8),
        "actions": rng.integers(3, size=rows),
        "returns": rng.normal(size=rows).astype(np.float32),
        "discounts": np.full(rows, 0.99, np.float32),
        "next_obs": rng.integers(0, 256, (rows, 4, 84, 84), dtype=np.uint8),
    }


def _learners() -> tuple[Learner, Learner]:
    torch.manual_seed(0)
    fp32 = Learner(Args(precision="fp32", learning_rate=1e-3), FRAMES, 3, torch.device("cpu"))
    torch.manual_seed(0)
    bf16 = Learner(Args(precision="bf16", learning_rate=1e-3), FRAMES, 3, torch.device("cpu"))
    return fp32, bf16


def _q(learner: Learner, obs: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return learner.forward(learner.to_device(obs)).float()


def test_bf16_q_values_agree_with_fp32_within_the_tolerance_before_and_after_training():
    fp32, bf16 = _learners()
    assert bf16.bf16.module.head.weight.dtype == torch.bfloat16
    assert bf16.q_network.head.weight.dtype == torch.float32  # the master weights
    obs = _batch(99, rows=16)["obs"]
    for step in range(4):
        # The same weights, computed in bf16 and in fp32.
        q16 = _q(bf16, obs)
        with torch.no_grad():
            q32 = bf16.q_network(torch.from_numpy(obs))
        error, scale = (q16 - q32).abs().max(), q32.abs().max()
        assert error <= BF16_Q_TOLERANCE * scale, (step, float(error), float(scale))
        for learner in (fp32, bf16):
            learner.update(_batch(step))
    # Trained alike, the two stay close (bf16's rounding moves each step a little).
    q32, q16 = _q(fp32, obs), _q(bf16, obs)
    assert (q16 - q32).abs().max() <= 2 * BF16_Q_TOLERANCE * q32.abs().max()
    # Adam's state stays fp32, on the master weights.
    state = bf16.optimizer.state[bf16.q_network.head.weight]
    assert state["exp_avg"].dtype == torch.float32


def test_the_fp32_update_is_the_plain_torch_update_bit_for_bit():
    torch.manual_seed(0)
    learner = Learner(Args(precision="fp32", learning_rate=1e-3), FRAMES, 3, torch.device("cpu"))
    reference = copy.deepcopy(learner.q_network)
    target = copy.deepcopy(learner.target_network)
    adam = torch.optim.Adam(reference.parameters(), lr=1e-3, fused=True)
    for step in range(2):
        batch = {name: torch.from_numpy(values) for name, values in _batch(step).items()}
        learner.update(_batch(step))
        with torch.no_grad():
            next_obs = batch["next_obs"]
            targets = td_targets(
                batch["returns"], batch["discounts"], target(next_obs), reference(next_obs)
            )
        q = reference(batch["obs"]).gather(1, batch["actions"][:, None]).squeeze(1)
        adam.zero_grad()
        F.smooth_l1_loss(q, targets).backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 10.0)
        adam.step()
        for ours, theirs in zip(
            learner.q_network.parameters(), reference.parameters(), strict=True
        ):
            assert torch.equal(ours, theirs)


def test_a_checkpoint_loaded_into_a_bf16_learner_computes_with_its_weights():
    fp32, bf16 = _learners()
    fp32.update(_batch(0))
    bf16.load_state_dict(copy.deepcopy(fp32.state_dict()))
    obs = _batch(5)["obs"]
    q32, q16 = _q(fp32, obs), _q(bf16, obs)
    assert (q16 - q32).abs().max() <= BF16_Q_TOLERANCE * q32.abs().max()


@pytest.mark.parametrize(("flags", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_takes_bf16_only_on_a_cpu_that_has_it(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: flags)
    picked, why = pick_precision("auto", torch.device("cpu"), FRAMES)
    assert picked == expected and why.startswith("auto: this CPU has")
    assert pick_precision("fp32", torch.device("cpu"), FRAMES) == ("fp32", "--precision fp32")


@pytest.mark.parametrize("flags", [True, False])
def test_auto_keeps_an_mlp_in_fp32_even_where_bf16_is_fast(monkeypatch, flags):
    """A small MLP gains nothing from bf16 (and would lose the fast fp32 update), so `auto`
    takes fp32 for vector observations; asking for bf16 still gets it."""
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: flags)
    vector = spaces.Box(0.0, 1.0, (100,), np.float32)
    picked, why = pick_precision("auto", torch.device("cpu"), vector)
    assert (picked, why) == ("fp32", "auto: an MLP's small matrices gain nothing from bf16")
    assert pick_precision("bf16", torch.device("cpu"), vector)[0] == "bf16"
    args = Args(env="Catch-v0", learning_starts=10)
    assert type(make_learner(args, vector, 3, torch.device("cpu"))) is FastMLPLearner
