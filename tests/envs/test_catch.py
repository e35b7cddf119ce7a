"""Catch-v0, the scalar env: API conformance, the rules, errors, rendering and determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.catch import MAX_GRID_SIZE, PIXELS_PER_CELL, CatchEnv, follow_fruit


def _state(env: CatchEnv) -> tuple[int, int, int]:
    return env._fruit_row, env._fruit_col, env._basket


def _play(env: CatchEnv, policy, seed: int) -> tuple[list[float], int]:
    """One episode; returns the rewards and the number of steps."""
    obs, _ = env.reset(seed=seed)
    rewards, terminated = [], False
    while not terminated:
        obs, reward, terminated, truncated, _ = env.step(int(policy(obs)))
        assert not truncated
        rewards.append(reward)
    return rewards, len(rewards)


@pytest.mark.parametrize("obs_type", ["grid", "pixels"])
@pytest.mark.parametrize("render_mode", [None, "rgb_array", "human"])
def test_check_env(obs_type, render_mode):
    env = gym.make("Catch-v0", obs_type=obs_type, render_mode=render_mode)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("grid_size", [5, 10, 17])
def test_follower_always_catches_and_episodes_last_grid_size_minus_one(grid_size):
    env = CatchEnv(grid_size=grid_size)
    for seed in range(300):
        rewards, steps = _play(env, follow_fruit, seed)
        assert steps == grid_size - 1
        assert rewards == [0.0] * (grid_size - 2) + [1.0]


def test_walking_away_always_misses():
    env = CatchEnv()

    def walk_away(obs):
        fruit_col = obs[:-1].max(axis=0).argmax()
        return 0 if fruit_col >= 5 else 2

    for seed in range(300):
        rewards, _ = _play(env, walk_away, seed)
        # The fruit spawns at most 9 columns away; 8 steps of walking away always misses.
        assert rewards[-1] == -1.0


def test_catch_counts_every_basket_cell_and_nothing_beyond():
    env = CatchEnv()
    for offset in range(-3, 4):
        env.reset(seed=0)
        env._fruit_col, env._basket = 5 + offset, 5
        for _ in range(9):
            _, reward, terminated, _, _ = env.step(1)
        assert terminated
        assert reward == (1.0 if abs(offset) <= 1 else -1.0)


def test_basket_stays_whole_on_the_board():
    env = CatchEnv()
    rng = np.random.default_rng(0)
    for seed in range(200):
        obs, _ = env.reset(seed=seed)
        terminated = False
        while not terminated:
            basket_row = obs[-1]
            cells = np.flatnonzero(basket_row)
            # Three adjacent basket cells (four when the fruit has just landed beside them).
            assert 3 <= len(cells) <= 4
            assert 1 <= env._basket <= 8
            obs, _, terminated, _, _ = env.step(int(rng.choice([0, 2])))
    # Pushing into each wall: the centre stops at 1 and at grid_size - 2.
    env.reset(seed=0)
    for _ in range(8):
        env.step(0)
    assert env._basket == 1
    env.reset(seed=0)
    for _ in range(8):
        env.step(2)
    assert env._basket == 8


def test_starts_cover_every_column_and_every_whole_basket_position():
    env = CatchEnv()
    starts = set()
    for seed in range(2000):
        env.reset(seed=seed)
        starts.add(_state(env))
    assert {col for _, col, _ in starts} == set(range(10))  # the original never used column 9
    assert {centre for _, _, centre in starts} == set(range(1, 9))
    assert {row for row, _, _ in starts} == {0}


def test_observation_shows_the_fruit_and_the_basket():
    env = CatchEnv()
    obs, _ = env.reset(seed=3)
    row, col, centre = _state(env)
    expected = np.zeros((10, 10), dtype=np.uint8)
    expected[row, col] = 1
    expected[9, centre - 1 : centre + 2] = 1
    np.testing.assert_array_equal(obs, expected)
    assert obs.dtype == np.uint8


def test_observations_are_fresh_arrays():
    env = CatchEnv()
    first, _ = env.reset(seed=0)
    first[:] = 7  # a user scribbling on an old observation must not reach the env
    second, *_ = env.step(1)
    assert set(np.unique(second)) == {0, 1}


def test_pixels_draw_the_board():
    env = CatchEnv(obs_type="pixels")
    pixels, _ = env.reset(seed=5)
    assert pixels.shape == (80, 80, 3) and pixels.dtype == np.uint8
    assert env.observation_space.contains(pixels)
    row, col, centre = _state(env)
    p = PIXELS_PER_CELL
    fruit = pixels[row * p : (row + 1) * p, col * p : (col + 1) * p]
    basket = pixels[9 * p :, (centre - 1) * p : (centre + 2) * p]
    assert (fruit == fruit[0, 0]).all() and (basket == basket[0, 0]).all()
    background = pixels.sum(axis=-1) == 0
    assert background.sum() == 80 * 80 - 4 * p * p
    # Fruit and basket stay apart after grayscale conversion, as the DQN pipeline sees them.
    luma = np.array([0.299, 0.587, 0.114])
    assert abs(fruit[0, 0] @ luma - basket[0, 0] @ luma) > 50


def test_rgb_array_render_matches_the_state():
    env = CatchEnv(render_mode="rgb_array")
    env.reset(seed=1)
    frame = env.render()
    assert frame.shape == (320, 320, 3) and frame.dtype == np.uint8
    row, col, _ = _state(env)
    assert frame[row * 32 + 16, col * 32 + 16].tolist() == [230, 80, 60]


def test_human_render_opens_a_window_and_closes():
    env = gym.make("Catch-v0", render_mode="human")
    env.reset(seed=0)
    env.step(1)
    import pygame

    assert pygame.display.get_surface().get_size() == (320, 320)
    env.close()
    assert pygame.display.get_surface() is None


def test_pygame_is_imported_only_for_a_window():
    code = (
        "import sys, gymnasium as gym, registry\n"
        "env = gym.make('Catch-v0', obs_type='pixels', render_mode='rgb_array')\n"
        "env.reset(seed=0); env.step(1); env.render()\n"
        "assert 'pygame' not in sys.modules, 'pygame imported without a window'\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "action", [3, -1, 1.5, 1.0, "left", None, True, np.array([1, 2]), np.float32(1)]
)
def test_invalid_action_is_a_clear_error(action):
    env = CatchEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Catch actions are the integers 0 \(LEFT\)"):
        env.step(action)


@pytest.mark.parametrize("action", [np.int64(2), np.uint8(0), np.array(1), 2])
def test_numpy_integer_actions_are_accepted(action):
    env = CatchEnv()
    env.reset(seed=0)
    _, basket_before = _state(env)[1:]
    env.step(action)
    assert _state(env)[2] == int(np.clip(basket_before + int(action) - 1, 1, 8))


def test_step_outside_an_episode_is_refused():
    env = CatchEnv()
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(1)
    env.reset(seed=0)
    for _ in range(9):
        env.step(1)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(1)


@pytest.mark.parametrize("grid_size", [4, 0, -10, 10.0, "10", True, None, 129, 10**5])
def test_bad_grid_size_is_a_value_error(grid_size):
    with pytest.raises(ValueError, match="grid_size must be"):
        CatchEnv(grid_size=grid_size)


def test_grid_size_is_bounded_where_a_rendered_frame_stays_reasonable():
    """10**5 cells a side took the machine's memory; 128 is the largest board, 4096 pixels a
    side rendered, and the error says so."""
    with pytest.raises(ValueError, match=r"from 5 to 128 \(at 128 a rendered frame is 4096 pix"):
        gym.make("Catch-v0", grid_size=10**5)
    env = CatchEnv(grid_size=MAX_GRID_SIZE, obs_type="pixels", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (1024, 1024, 3) and env.render().shape == (4096, 4096, 3)
    rewards, steps = _play(CatchEnv(grid_size=MAX_GRID_SIZE), follow_fruit, seed=0)
    assert steps == MAX_GRID_SIZE - 1 and rewards[-1] == 1.0


def test_bad_obs_type_and_render_mode_are_value_errors():
    with pytest.raises(ValueError, match="obs_type must be one of"):
        CatchEnv(obs_type="rgb")
    with pytest.raises(ValueError, match="render_mode must be None or one of"):
        CatchEnv(render_mode="ansi")
    with pytest.raises(RuntimeError, match="without a render_mode"):
        CatchEnv().render()


def _trajectory(seed: int, actions: list[int], grid_size: int = 10, obs_type: str = "grid"):
    env = gym.make("Catch-v0", grid_size=grid_size, obs_type=obs_type)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        trace += [obs, reward, terminated, truncated]
        if terminated:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_seeded_runs_are_identical_over_ten_thousand_steps():
    actions = np.random.default_rng(0).integers(0, 3, size=10_000).tolist()
    first = _trajectory(123, actions)
    _assert_same(first, _trajectory(123, actions))
    other = _trajectory(124, actions)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=True))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    grid_size=st.integers(5, 16),
    actions=st.lists(st.integers(0, 2), min_size=1, max_size=60),
)
def test_fuzzed_games_keep_the_rules(seed, grid_size, actions):
    env = CatchEnv(grid_size=grid_size)
    obs, _ = env.reset(seed=seed)
    steps = 0
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        assert env.observation_space.contains(obs)
        assert not truncated
        assert 3 <= obs[-1].sum() <= 4 and obs[:-1].sum() == (0 if terminated else 1)
        assert terminated == (steps == grid_size - 1)
        assert reward == 0.0 if not terminated else reward in (-1.0, 1.0)
        if terminated:
            obs, _ = env.reset()
            steps = 0


def test_python_m_envs_demo_runs():
    result = run_python("-m", "envs", "--episodes", "200")
    assert result.returncode == 0, result.stderr
    assert "fruit-following policy   catch rate 100.0%" in result.stdout
    assert "reward at the last step: +1" in result.stdout
