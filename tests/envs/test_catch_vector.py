"""CatchVectorEnv: it reproduces N seeded scalar envs exactly, in every autoreset mode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.catch import MAX_NUM_ENVS, CatchVectorEnv, follow_fruit


def _pair(num_envs: int, autoreset_mode=AutoresetMode.NEXT_STEP, **kwargs):
    """Our batched vector env and Gymnasium's SyncVectorEnv over scalar envs, made alike."""
    ours = gym.make_vec(
        "Catch-v0",
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=autoreset_mode,
        **kwargs,
    )
    reference = gym.make_vec(
        "Catch-v0",
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": autoreset_mode},
        **kwargs,
    )
    return ours, reference


def _assert_same_steps(ours, reference, actions: np.ndarray, seed) -> None:
    np.testing.assert_array_equal(ours.reset(seed=seed)[0], reference.reset(seed=seed)[0])
    for step_actions in actions:
        got, want = ours.step(step_actions), reference.step(step_actions)
        for name, a, b in zip(
            ("obs", "reward", "terminated", "truncated"), got[:4], want[:4], strict=True
        ):
            np.testing.assert_array_equal(a, b, err_msg=name)
        got_info, want_info = got[4], want[4]
        assert got_info.keys() == want_info.keys()
        if "final_obs" in want_info:
            np.testing.assert_array_equal(got_info["_final_obs"], want_info["_final_obs"])
            for a, b in zip(got_info["final_obs"], want_info["final_obs"], strict=True):
                np.testing.assert_array_equal(a, b)


def test_make_vec_uses_the_batched_env():
    envs = gym.make_vec("Catch-v0", num_envs=8)
    assert isinstance(envs.unwrapped, CatchVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.observation_space.shape == (8, 10, 10)


@pytest.mark.parametrize(
    "mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=lambda m: m.value
)
@pytest.mark.parametrize("obs_type", ["grid", "pixels"])
def test_reproduces_scalar_envs_exactly(mode, obs_type):
    num_envs = 16 if obs_type == "grid" else 4
    ours, reference = _pair(num_envs, mode, obs_type=obs_type)
    assert ours.metadata["autoreset_mode"] == mode
    # 600 steps is over 60 episodes per sub-env; the 256-start blocks get refilled on the way.
    steps = 600 if obs_type == "grid" else 60
    actions = np.random.default_rng(1).integers(0, 3, size=(steps, num_envs))
    _assert_same_steps(ours, reference, actions, seed=42)


def test_long_run_crosses_start_blocks():
    ours, reference = _pair(3)
    actions = np.random.default_rng(2).integers(0, 3, size=(3_000, 3))
    _assert_same_steps(ours, reference, actions, seed=7)


@pytest.mark.parametrize("limit", [4, 6, 7])
def test_list_seeds_and_time_limit_match_too(limit):
    # Grid 7: an episode is 6 steps, so a limit of 6 truncates on its terminating step, which
    # TimeLimit reports as both.
    ours, reference = _pair(4, grid_size=7, max_episode_steps=limit)
    actions = np.random.default_rng(3).integers(0, 3, size=(100, 4))
    _assert_same_steps(ours, reference, actions, seed=[5, 0, 99, 5])
    assert ours.unwrapped.max_episode_steps == limit


def test_reset_mask_resets_only_those_envs():
    envs = CatchVectorEnv(num_envs=4)
    envs.reset(seed=0)
    for _ in range(3):
        obs, *_ = envs.step(np.ones(4, dtype=np.int64))
    mask = np.array([True, False, True, False])
    new_obs, _ = envs.reset(options={"reset_mask": mask})
    fruit_rows = new_obs[:, :-1].max(axis=2).argmax(axis=1)
    np.testing.assert_array_equal(fruit_rows, [0, 3, 0, 3])
    np.testing.assert_array_equal(new_obs[~mask], obs[~mask])


def test_disabled_autoreset_needs_a_masked_reset():
    envs = CatchVectorEnv(num_envs=2, autoreset_mode="Disabled")
    envs.reset(seed=0)
    for _ in range(9):
        _, _, terminated, _, _ = envs.step(np.ones(2, dtype=np.int64))
    assert terminated.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.ones(2, dtype=np.int64))
    obs, _ = envs.reset(options={"reset_mask": np.array([True, True])})
    assert obs[:, 0].sum() == 2  # both fruits back on the top row
    envs.step(np.ones(2, dtype=np.int64))


def test_follower_catches_everything_in_batch():
    envs = gym.make_vec("Catch-v0", num_envs=256)
    obs, _ = envs.reset(seed=0)
    total = np.zeros(256)
    for _ in range(9 * 5 + 4):  # five episodes each, plus the NEXT_STEP reset steps
        obs, rewards, *_ = envs.step(follow_fruit(obs))
        total += rewards
    np.testing.assert_array_equal(total, 5.0)


@pytest.mark.parametrize(
    "actions",
    [[0, 3], [-1, 1], [0.0, 1.0], [[0, 1]], [0, 1, 2], ["0", "1"]],
    ids=["too-big", "negative", "float", "wrong-shape", "too-many", "strings"],
)
def test_invalid_actions_are_a_clear_error(actions):
    envs = CatchVectorEnv(num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"integer array of shape \(2,\)"):
        envs.step(np.array(actions))


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="num_envs"):
        CatchVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode"):
        CatchVectorEnv(num_envs=2, autoreset_mode="later")
    with pytest.raises(ValueError, match="grid_size"):
        CatchVectorEnv(num_envs=2, grid_size=3)
    with pytest.raises(ValueError, match="max_episode_steps"):
        CatchVectorEnv(num_envs=2, max_episode_steps=0)
    envs = CatchVectorEnv(num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(np.ones(2, dtype=np.int64))
    with pytest.raises(ValueError, match="seeds"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": [True, False]})


def test_render_returns_one_frame_per_env():
    envs = CatchVectorEnv(num_envs=3, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == 3 and all(f.shape == (320, 320, 3) for f in frames)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    num_envs=st.integers(1, 6),
    grid_size=st.integers(5, 12),
    steps=st.integers(1, 80),
    action_seed=st.integers(0, 2**31),
)
def test_fuzzed_vector_runs_match_scalar_envs(seed, num_envs, grid_size, steps, action_seed):
    ours, reference = _pair(num_envs, grid_size=grid_size)
    actions = np.random.default_rng(action_seed).integers(0, 3, size=(steps, num_envs))
    _assert_same_steps(ours, reference, actions, seed=seed)


@pytest.mark.parametrize(
    "mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=lambda m: m.value
)
def test_a_saved_state_continues_exactly_in_a_new_env(mode):
    """get_state is plain data (a checkpoint keeps it); set_state continues the same games, their
    generators and the episode starts they drew ahead."""
    envs = CatchVectorEnv(5, autoreset_mode=mode, max_episode_steps=7)
    envs.reset(seed=3)
    actions = np.random.default_rng(4).integers(0, 3, size=(700, 5))  # past a 256-start block
    for step_actions in actions[:350]:
        envs.step(step_actions)
    state = envs.get_state()
    assert all(type(value) in (list, bool) for value in state.values())
    restored = CatchVectorEnv(5, autoreset_mode=mode, max_episode_steps=7)
    restored.set_state(state)
    for step_actions in actions[350:]:
        for a, b in zip(envs.step(step_actions)[:4], restored.step(step_actions)[:4], strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="of 5 sub-envs, and this env has 4"):
        CatchVectorEnv(4).set_state(state)


@pytest.mark.parametrize("num_envs", [0, MAX_NUM_ENVS + 1, 10**9, 4.0, True])
def test_num_envs_is_bounded(num_envs):
    with pytest.raises(ValueError, match="num_envs must be an int from 1 to 65536"):
        CatchVectorEnv(num_envs=num_envs)


def test_the_most_envs_are_made_and_stepped():
    envs = CatchVectorEnv(num_envs=MAX_NUM_ENVS)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (MAX_NUM_ENVS, 10, 10)
    assert envs.step(np.ones(MAX_NUM_ENVS, dtype=np.int64))[0].shape == obs.shape


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"num_envs": 4096, "grid_size": 128, "obs_type": "pixels"}, "observations"),
        ({"num_envs": 8192, "render_mode": "rgb_array"}, "observations and rendered frames"),
    ],
)
def test_a_batch_over_two_gib_is_a_value_error_saying_how_big(kwargs, what):
    with pytest.raises(ValueError, match=f"CatchVectorEnv's {what} for num_envs=.* GiB a batch"):
        CatchVectorEnv(**kwargs)
