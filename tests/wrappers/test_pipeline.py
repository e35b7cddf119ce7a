"""The DQN pipeline: one (4, 84, 84) uint8 contract for ALE and our pixel games, no double frame
skip, specs that rebuild the env, life-loss and reset semantics, clear errors."""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np
import pytest
from ale_py.vector_env import AtariVectorEnv
from gymnasium.envs.registration import EnvSpec

from envs.catch import CatchVectorEnv
from envs.kaboom import FIRE, NOOP
from wrappers import (
    EpisodicLife,
    FireReset,
    NoopReset,
    dqn_wrapper_plan,
    make_dqn_env,
    make_dqn_vector_env,
    pipeline_frameskip,
)

PIXEL_IDS = ["ALE/Pong-v5", "PongNoFrameskip-v4", "DQN/Catch-v0"]


class ActionLog(gym.Wrapper):
    """Records every action that reaches the env beneath."""

    def __init__(self, env):
        super().__init__(env)
        self.actions = []

    def step(self, action):
        self.actions.append(int(action))
        return self.env.step(action)

    def reset(self, **kwargs):
        self.actions.clear()
        return self.env.reset(**kwargs)


def _frame_number(env) -> int:
    return env.unwrapped.ale.getEpisodeFrameNumber()


@pytest.mark.parametrize("env_id", PIXEL_IDS)
def test_pixel_envs_give_uint8_channel_first_stacks(env_id):
    env = make_dqn_env(env_id)
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    env.close()


def test_catch_pixels_through_make_dqn_env_match_the_registered_id():
    env = make_dqn_env("Catch-v0", env_kwargs={"obs_type": "pixels"})
    registered = gym.make("DQN/Catch-v0")
    names = [type(w).__name__ for w in _wrapper_stack(env)]
    assert names == [type(w).__name__ for w in _wrapper_stack(registered)]
    np.testing.assert_array_equal(env.reset(seed=4)[0], registered.reset(seed=4)[0])
    for action in (0, 2, 2, 1):
        np.testing.assert_array_equal(env.step(action)[0], registered.step(action)[0])


def test_options_given_with_a_preprocessed_id_build_its_pipeline_again_with_them():
    names = [type(w).__name__ for w in _wrapper_stack(gym.make("DQN/Kaboom-v0"))]
    assert "EpisodicLife" in names and "ClipReward" in names
    env = make_dqn_env("DQN/Kaboom-v0", clip_rewards=False, terminal_on_life_loss=False)
    assert [type(w).__name__ for w in _wrapper_stack(env)] == [
        name for name in names if name not in ("EpisodicLife", "ClipReward")
    ]
    assert env.spec.kwargs["frameskip"] == 1 and env.unwrapped.obs_type == "grayscale"
    envs = make_dqn_vector_env("DQN/Catch-v0", 2, frame_stack=2)
    assert envs.single_observation_space.shape == (2, 84, 84)
    envs.close()


def _wrapper_stack(env) -> list[gym.Wrapper]:
    stack = []
    while isinstance(env, gym.Wrapper):
        stack.append(env)
        env = env.env
    return stack


def test_vector_observations_pass_through_but_for_dtype():
    env = make_dqn_env("Catch-v0")
    raw = gym.make("Catch-v0")
    obs, _ = env.reset(seed=2)
    assert obs.dtype == np.float32 and obs.shape == (10, 10)
    np.testing.assert_array_equal(obs, raw.reset(seed=2)[0])
    obs, *_ = env.step(1)
    np.testing.assert_array_equal(obs, raw.step(1)[0])
    assert [type(w).__name__ for w in _wrapper_stack(env)] == ["DtypeObservation"] + [
        type(w).__name__ for w in _wrapper_stack(raw)
    ]


def test_an_obs_type_given_at_registration_is_kept(request):
    """Kaboom is made in ALE's grayscale for the pipeline, but not over an id's own obs_type: one
    registered with its state vector gets the vector pipeline, as env_kwargs would give it."""
    gym.register("test/KaboomState-v0", entry_point="envs.kaboom:KaboomEnv",
                 kwargs={"obs_type": "state"})  # fmt: skip
    request.addfinalizer(lambda: gym.registry.pop("test/KaboomState-v0"))
    for env in (
        make_dqn_env("test/KaboomState-v0"),
        make_dqn_env("Kaboom-v0", env_kwargs={"obs_type": "state"}),
    ):
        obs, _ = env.reset(seed=0)
        assert obs.dtype == np.float32 and obs.shape == (33,)
    assert make_dqn_vector_env("test/KaboomState-v0", 2).single_observation_space.shape == (33,)
    assert make_dqn_env("Kaboom-v0").observation_space.shape == (4, 84, 84)


@pytest.mark.parametrize("env_id", ["ALE/Pong-v5", "PongNoFrameskip-v4"])
def test_every_agent_step_is_four_emulator_frames(env_id):
    env = make_dqn_env(env_id, noop_max=0)
    env.reset(seed=0)
    start = _frame_number(env)
    for step in range(1, 51):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not (terminated or truncated)
        assert _frame_number(env) - start == 4 * step  # 16 would be a double skip
    env.close()


def test_frame_skip_twice_is_refused():
    with pytest.raises(ValueError, match="already skips 4 frames a step"):
        make_dqn_env("ALE/Pong-v5", frame_skip=4)
    # Asked for without skip inside the emulator, the pipeline does the skipping.
    env = make_dqn_env("ALE/Pong-v5", env_kwargs={"frameskip": 1}, noop_max=0)
    env.reset(seed=0)
    start = _frame_number(env)
    env.step(0)
    assert _frame_number(env) - start == 4


@pytest.mark.parametrize("env_id", [*PIXEL_IDS, "Catch-v0"])
def test_spec_round_trips_through_json_and_rebuilds_the_same_env(env_id):
    env = make_dqn_env(env_id)
    spec = EnvSpec.from_json(env.spec.to_json())
    for rebuilt in (gym.make(env.spec), gym.make(spec)):
        assert [type(w).__name__ for w in _wrapper_stack(rebuilt)] == [
            type(w).__name__ for w in _wrapper_stack(env)
        ]
        np.testing.assert_array_equal(rebuilt.reset(seed=9)[0], env.reset(seed=9)[0])
        for action in [0, 1, 2, 1, 0] * 4:
            a, b = rebuilt.step(action), env.step(action)
            np.testing.assert_array_equal(a[0], b[0])
            assert a[1:4] == b[1:4]
            if a[2]:  # Catch ends after 9 steps
                break


def test_no_fire_reset_where_the_game_has_no_fire():
    freeway = [w for w, _ in dqn_wrapper_plan(gym.make("ALE/Freeway-v5"))]
    assert FireReset not in freeway  # NOOP, UP, DOWN
    breakout = [w for w, _ in dqn_wrapper_plan(gym.make("ALE/Breakout-v5"))]
    assert FireReset in breakout and EpisodicLife in breakout
    catch = [w for w, _ in dqn_wrapper_plan(gym.make("Catch-v0", obs_type="pixels"))]
    assert FireReset not in catch and NoopReset not in catch  # LEFT, STAY, RIGHT


def test_fire_reset_presses_fire_once():
    log = ActionLog(gym.make("ALE/Breakout-v5"))
    FireReset(log).reset(seed=0)
    assert log.actions == [1]


def test_noop_reset_takes_a_seeded_random_number_of_noops():
    counts = set()
    for seed in range(12):
        log = ActionLog(gym.make("ALE/Pong-v5"))
        NoopReset(log, noop_max=30).reset(seed=seed)
        assert set(log.actions) == {0} and 1 <= len(log.actions) <= 30
        counts.add(len(log.actions))
        again = ActionLog(gym.make("ALE/Pong-v5"))
        NoopReset(again, noop_max=30).reset(seed=seed)
        assert len(again.actions) == len(log.actions)
    assert len(counts) > 3


def test_a_lost_life_ends_the_training_episode_but_not_the_game():
    env = make_dqn_env("ALE/Breakout-v5")
    _, info = env.reset(seed=0)
    assert info["lives"] == 5
    rng = np.random.default_rng(0)
    for lives_left in (4, 3, 2, 1):
        terminated, steps = False, 0
        while not terminated:
            _, _, terminated, truncated, info = env.step(int(rng.integers(0, 4)))
            assert not truncated
            steps += 1
        assert info["lives"] == lives_left  # one life lost, not the game
        assert not env.unwrapped.ale.game_over()
        frame_before = _frame_number(env)
        _, info = env.reset()
        assert info["lives"] == lives_left
        assert _frame_number(env) > frame_before  # the game went on: no real reset
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(int(rng.integers(0, 4)))
    assert env.unwrapped.ale.game_over()
    _, info = env.reset()
    assert info["lives"] == 5 and _frame_number(env) < 200  # the real reset, at game over


def test_impossible_requests_are_clear_errors():
    with pytest.raises(ValueError, match=r"screen_size applies to image observations.*pixels"):
        make_dqn_env("Catch-v0", screen_size=84)
    with pytest.raises(ValueError, match="needs a Box observation space"):
        make_dqn_env("FrozenLake-v1")
    with pytest.raises(ValueError, match="action 0 to be NOOP"):
        NoopReset(gym.make("Catch-v0"))
    with pytest.raises(ValueError, match="action 1 to be FIRE"):
        FireReset(gym.make("ALE/Freeway-v5"))
    with pytest.raises(ValueError, match=r"Unknown DQN preprocessing options \['framestack'\]"):
        make_dqn_vector_env("ALE/Pong-v5", 2, framestack=2)
    with pytest.raises(ValueError, match=r"AtariVectorEnv cannot take env_kwargs \['obs_type'\]"):
        make_dqn_vector_env("ALE/Pong-v5", 2, env_kwargs={"obs_type": "rgb"})


def test_vector_versions_keep_the_contract():
    atari = make_dqn_vector_env("ALE/Pong-v5", 2)
    assert isinstance(atari, AtariVectorEnv)
    obs, _ = atari.reset(seed=0)
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    atari.step(np.zeros(2, dtype=np.int64))
    atari.close()

    grid = make_dqn_vector_env("Catch-v0", 8)
    assert isinstance(grid.unwrapped, CatchVectorEnv)
    obs, _ = grid.reset(seed=0)
    assert obs.shape == (8, 10, 10) and obs.dtype == np.float32

    for pixels in (
        make_dqn_vector_env("Catch-v0", 2, env_kwargs={"obs_type": "pixels"}),
        make_dqn_vector_env("DQN/Catch-v0", 2),
    ):
        obs, _ = pixels.reset(seed=0)
        assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
        obs, *_ = pixels.step(np.ones(2, dtype=np.int64))
        assert obs.shape == (2, 4, 84, 84)


def test_pipeline_frameskip_leaves_an_atari_games_skip_to_the_pipeline():
    for env_id in ("ALE/Pong-v5", "PongNoFrameskip-v4", "Kaboom-v0", "KaboomNoFrameskip-v0"):
        assert pipeline_frameskip(env_id) == {"frameskip": 1}
    # Not a game with ALE's interface, or registered with its pipeline already.
    for env_id in ("Catch-v0", "DQN/Catch-v0", "DQN/Kaboom-v0", "SuperMarioLand-v0"):
        assert pipeline_frameskip(env_id) == {}
    # ale-py's vector env takes it: it skips 4 frames with a max over the last two itself.
    envs = make_dqn_vector_env("ALE/Pong-v5", 1, env_kwargs=pipeline_frameskip("ALE/Pong-v5"))
    assert isinstance(envs, AtariVectorEnv)
    envs.close()
    with pytest.raises(ValueError, match="cannot take env_kwargs \\['frameskip'\\]"):
        make_dqn_vector_env("ALE/Pong-v5", 1, env_kwargs={"frameskip": 2})


@pytest.mark.parametrize("make", ["make_dqn_env", "registered"])
def test_kaboom_frames_are_the_max_of_the_last_two_of_each_skip_as_on_ale(make):
    """Each frame Kaboom-v0 gives through the pipeline made with `pipeline_frameskip` (and
    DQN/Kaboom-v0's) is the max of the last two of the step's 4 frames, resized: what ale-py's
    vector env gives for ALE/Kaboom-v5. The game's own skip shows the last frame alone, and agents
    trained on one lost most of their score on the other."""
    no_sticky = {"repeat_action_probability": 0.0}
    if make == "registered":
        env = gym.make("DQN/Kaboom-v0", **no_sticky)
    else:
        kwargs = {**pipeline_frameskip("Kaboom-v0"), **no_sticky}
        env = make_dqn_env("Kaboom-v0", env_kwargs=kwargs, clip_rewards=False)
    game = gym.make("Kaboom-v0", frameskip=1, obs_type="grayscale", **no_sticky)
    env.reset(seed=0)
    game.reset(seed=0)
    # The pipeline's reset: its seeded no-ops, then FIRE for a step of 4 frames.
    for _ in range(_frame_number(env) - 4):
        game.step(NOOP)
    for _ in range(4):
        game.step(FIRE)
    assert _frame_number(game) == _frame_number(env)
    moved = 0
    for action in np.random.default_rng(0).integers(0, 4, size=60):
        obs, *_ = env.step(action)
        frames = [game.step(action)[0] for _ in range(4)]
        pooled = np.maximum(frames[-2], frames[-1])
        resized = cv2.resize(pooled, (84, 84), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(obs[-1], resized)
        moved += int((pooled != frames[-1]).any())
    assert moved > 30  # the max shows what moved between the two: the last frame alone would not
    env.close()
    game.close()
