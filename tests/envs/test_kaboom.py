"""Kaboom-v0: API conformance, ALE's interface (`ale`, grayscale, the NoFrameskip id), the rules
one by one, the look of ALE's frames, drawing, sticky actions and frame caps, determinism,
fuzzing, and the DQN pipeline on it. SB3's and Gymnasium's Atari stacks: test_kaboom_stacks.py."""

from __future__ import annotations

import dataclasses
import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

from envs import kaboom
from envs._checks import MAX_FRAMESKIP
from envs.kaboom import (
    ATARI_FPS,
    BOMB_GROUND_TOP,
    BOMB_HAND_TOP,
    BOMB_HEIGHT,
    BOMBER_MAX_X,
    BOMBER_MIN_X,
    BOMBER_START_X,
    BUCKET_MAX_X,
    BUCKET_MIN_X,
    BUCKET_START_X,
    BUCKET_TOPS,
    EXPLODING,
    FIRE,
    GROUPS,
    LEFT,
    MAX_SCORE,
    NOOP,
    OBS_TYPES,
    PADDLE_BEYOND,
    PADDLE_SPEED,
    PLAYING,
    RIGHT,
    STATE_BOMB_SLOTS,
    STATE_FIELDS,
    SUBPIXELS,
    WAITING,
    KaboomEnv,
    _explosion_length,
    _Screen,
    bomber_column,
    chase_lowest_bomb,
    group_rules,
    opening_columns,
    read_frame,
    to_ale_grayscale,
)
from wrappers import make_dqn_env, make_dqn_vector_env, pipeline_frameskip

# The cartridge's table (its manual): points a bomb and bombs, groups 1 to 8.
REFERENCE_GROUPS = [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (6, 75), (7, 100), (8, 150)]


def _game(obs_type: str = "state", frameskip: int = 1, **fields) -> KaboomEnv:
    """A seeded game without sticky actions, playing group 1 with no bomb due, then `fields` set
    on its state (a `bucket_x` with the paddle there, so the buckets stay)."""
    env = KaboomEnv(frameskip=frameskip, repeat_action_probability=0.0, obs_type=obs_type)
    env.reset(seed=0)
    env.state.phase, env.state.drop_timer = PLAYING, 10_000
    if "bucket_x" in fields:
        fields.setdefault("paddle", fields["bucket_x"] * SUBPIXELS + SUBPIXELS // 2)
    for name, value in fields.items():
        setattr(env.state, name, value)
    return env


_PADDLE_START = BUCKET_START_X * SUBPIXELS + SUBPIXELS // 2


def _above_the_buckets(bucket_x: int = BUCKET_START_X) -> list[int]:
    """A bomb over the middle of the stack, one frame above the top bucket."""
    return [bucket_x + 4, (BUCKET_TOPS[0] - BOMB_HEIGHT) * SUBPIXELS]


def _landing(x: int = BUCKET_MAX_X + 10, rows_up: int = 0) -> list[int]:
    """A bomb at column `x` that reaches the ground on the next frame (or `rows_up` rows higher)."""
    return [x, (BOMB_GROUND_TOP - rows_up) * SUBPIXELS]


@pytest.mark.parametrize("obs_type", OBS_TYPES)
@pytest.mark.parametrize("render_mode", [None, "rgb_array", "human"])
def test_check_env(obs_type, render_mode):
    env = gym.make("Kaboom-v0", obs_type=obs_type, render_mode=render_mode)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_ale_interface():
    env = gym.make("Kaboom-v0")
    ale = gym.make("ALE/Kaboom-v5")
    assert env.action_space == ale.action_space == gym.spaces.Discrete(4)
    assert env.unwrapped.get_action_meanings() == ale.unwrapped.get_action_meanings()
    assert env.unwrapped.get_action_meanings() == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    assert env.observation_space == ale.observation_space
    assert env.unwrapped.frameskip == 4 and env.unwrapped.repeat_action_probability == 0.25
    assert env.spec.kwargs["max_num_frames_per_episode"] == 108_000
    assert env.spec.max_episode_steps == ale.spec.max_episode_steps  # None: the cap is in frames
    assert env.unwrapped.max_num_frames_per_episode == ale.spec.kwargs["max_num_frames_per_episode"]
    obs, info = env.reset(seed=0)
    assert obs.shape == (210, 160, 3) and obs.dtype == np.uint8
    assert info["lives"] == env.unwrapped.lives == 3
    _, _, _, _, info = env.step(FIRE)
    assert info["episode_frame_number"] == info["frame_number"] == 4
    assert set(info) >= set(ale.reset(seed=0)[1]) - {"seeds"}


@pytest.mark.parametrize("screen", ["getScreenRGB", "getScreenGrayscale"])
def test_the_frame_looks_like_ales(screen):
    """The first frame of either game, read through its `ale` in RGB or in grayscale, is the other
    one's pixel for pixel but where sprites stand at random places, and for ALE's logo."""
    their_env, our_env = gym.make("ALE/Kaboom-v5"), gym.make("Kaboom-v0")
    their_rgb, _ = their_env.reset(seed=0)
    our_rgb, _ = our_env.reset(seed=0)
    theirs = getattr(their_env.unwrapped.ale, screen)()
    ours = getattr(our_env.unwrapped.ale, screen)()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.uint8

    def left_column(frame):  # the bomber's left column, from his white stripes
        return int(np.flatnonzero((frame[35] == 214).all(axis=-1))[0])

    # The bomber with a bomb in his hand, the bucket stack and the score "0", pixel for pixel.
    ours_x, theirs_x = left_column(our_rgb), left_column(their_rgb)
    np.testing.assert_array_equal(
        ours[19:51, ours_x : ours_x + 7], theirs[19:51, theirs_x : theirs_x + 7]
    )
    ours_bucket = int(read_frame(our_rgb)[1] - 6.5)
    theirs_bucket = int(read_frame(their_rgb)[1] - 6.5)
    np.testing.assert_array_equal(
        ours[148:189, ours_bucket : ours_bucket + 14],
        theirs[148:189, theirs_bucket : theirs_bucket + 14],
    )
    np.testing.assert_array_equal(ours[:19], theirs[:19])  # border, wall and score
    # Everywhere else above the logo: the same wall, ground and black border.
    mask = np.ones((189, 160), dtype=bool)
    for x in (ours_x, theirs_x):
        mask[19:51, x : x + 7] = False
    for x in (ours_bucket, theirs_bucket):
        mask[148:189, x : x + 14] = False
    np.testing.assert_array_equal(ours[:189][mask], theirs[:189][mask])
    assert not ours[189:].any()  # ALE shows the Activision logo there


def test_ale_grayscale_is_the_formula_on_ales_own_frames():
    """`to_ale_grayscale` of ALE's RGB screen is ALE's grayscale screen, pixel for pixel, through
    play, misses, explosions and flashes (every colour ALE's Kaboom shows)."""
    env = gym.make("ALE/Kaboom-v5")
    env.reset(seed=0)
    ale = env.unwrapped.ale
    rng = np.random.default_rng(0)
    colours = set()
    for step in range(600):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, 4)))
        if step % 3 == 0:
            rgb = ale.getScreenRGB()
            np.testing.assert_array_equal(to_ale_grayscale(rgb), ale.getScreenGrayscale())
            colours |= set(np.unique(rgb.astype(np.int32) @ (1 << 16, 1 << 8, 1)).tolist())
        if terminated or truncated:
            env.reset()
    assert len(colours) > 20  # not a few colours of one quiet screen


def test_grayscale_is_the_rgb_frame_in_ales_grayscale_however_often_it_is_read():
    rgb_env = KaboomEnv(repeat_action_probability=0.25)
    gray_env = KaboomEnv(repeat_action_probability=0.25, obs_type="grayscale")
    assert gray_env.observation_space == gym.spaces.Box(0, 255, (210, 160), np.uint8)
    rng = np.random.default_rng(0)
    phases = set()
    for seed in range(3):
        frame, _ = rgb_env.reset(seed=seed)
        gray, _ = gray_env.reset(seed=seed)
        np.testing.assert_array_equal(gray, to_ale_grayscale(frame))
        done, step = False, 0
        while not done:
            action = chase_lowest_bomb(frame) if rng.random() < 0.5 else int(rng.integers(0, 4))
            frame, _, terminated, truncated, _ = rgb_env.step(action)
            gray, *_ = gray_env.step(action)
            np.testing.assert_array_equal(gray, to_ale_grayscale(frame))
            # The RGB env draws its grayscale screen only when asked: now and then, not each step.
            step += 1
            if step % 7 == 0:
                np.testing.assert_array_equal(rgb_env.ale.getScreenGrayscale(), gray)
            phases.add(rgb_env.state.phase)
            done = terminated or truncated
    assert phases == {WAITING, PLAYING, EXPLODING}


def test_ale_reads_the_game_as_the_env_reports_it():
    env = gym.make("Kaboom-v0")
    ale = env.unwrapped.ale
    assert ale is env.unwrapped.ale
    theirs = gym.make("ALE/Kaboom-v5").unwrapped.ale
    assert ale.getScreenDims() == theirs.getScreenDims() == (210, 160)
    assert ale.getMinimalActionSet() == theirs.getMinimalActionSet()
    assert ale.getLegalActionSet() == theirs.getLegalActionSet()
    rgb, gray = np.empty((210, 160, 3), np.uint8), np.empty((210, 160), np.uint8)
    rng = np.random.default_rng(0)
    lives = set()
    for seed in range(2):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            assert ale.lives() == info["lives"] == env.unwrapped.lives
            assert ale.getEpisodeFrameNumber() == info["episode_frame_number"]
            assert ale.getFrameNumber() == info["frame_number"]
            np.testing.assert_array_equal(ale.getScreenRGB(), obs)
            assert ale.getScreenRGB(rgb) is None and ale.getScreenGrayscale(gray) is None
            np.testing.assert_array_equal(rgb, obs)
            np.testing.assert_array_equal(gray, ale.getScreenGrayscale())
            lives.add(ale.lives())
            assert not ale.game_over()
            obs, _, terminated, truncated, info = env.step(int(rng.integers(0, 4)))
            done = terminated or truncated
        assert ale.game_over() and ale.lives() == 0
    assert lives == {1, 2, 3}


def test_ales_kaboom_reports_one_life_until_its_game_is_over():
    """Why `KaboomEnv.ale.lives()` counts the buckets: ALE's Kaboom reports 1 life, then 0 at game
    over, so on it life-loss wrappers never end an episode early."""
    env = gym.make("ALE/Kaboom-v5", repeat_action_probability=0.0)
    _, info = env.reset(seed=0)
    lives = [info["lives"]]
    terminated = False
    while not terminated:  # FIRE starts each group; the buckets stand still and miss
        _, _, terminated, truncated, info = env.step(FIRE)
        assert not truncated
        lives.append(info["lives"])
    assert set(lives[:-1]) == {1} and lives[-1] == 0


def test_ale_act_is_one_frame_of_a_step():
    """Four `ale.act` calls play what one step of 4 frames plays, sticky actions and all: the same
    states, points and frame counts, and the end of the game on the same frame."""
    stepped = KaboomEnv(frameskip=4, repeat_action_probability=0.25)
    acted = KaboomEnv(frameskip=4, repeat_action_probability=0.25)
    ale_actions = acted.ale.getMinimalActionSet()
    rng = np.random.default_rng(0)
    seeds = itertools.count()
    stepped.reset(seed=next(seeds))
    acted.reset(seed=0)
    games = 0
    for _ in range(3000):
        action = int(rng.integers(0, 4))
        _, reward, terminated, truncated, info = stepped.step(action)
        points = [acted.ale.act(ale_actions[action]) for _ in range(4)]
        assert all(isinstance(p, int) for p in points) and sum(points) == reward
        assert acted.state == stepped.state
        assert acted.ale.getEpisodeFrameNumber() == info["episode_frame_number"]
        assert acted.ale.getFrameNumber() == info["frame_number"]
        assert acted.ale.game_over() == (terminated or truncated)
        if terminated or truncated:
            # Seeded: a step draws its frames' randomness whole, act frame by frame.
            seed = next(seeds)
            stepped.reset(seed=seed)
            acted.reset(seed=seed)
            games += 1
    assert games >= 3


def test_ale_act_reads_ales_18_actions_as_ales_paddle_does():
    """Each of ALE's legal actions moves the buckets as far as it turns ALE's paddle (within 2
    pixels in 20 frames), and one with FIRE in it starts play."""
    ours = KaboomEnv(frameskip=1, repeat_action_probability=0.0)
    theirs = gym.make("ALE/Kaboom-v5", frameskip=1, repeat_action_probability=0.0).unwrapped
    theirs.reset(seed=0)
    for action in theirs.ale.getLegalActionSet():
        moves = []
        for env in (ours, theirs):
            env.reset()
            before = read_frame(env.ale.getScreenRGB())[1]
            for _ in range(20):
                env.ale.act(action)
            moves.append(read_frame(env.ale.getScreenRGB())[1] - before)
        assert abs(moves[0] - moves[1]) <= 2, (action, moves)
        assert (ours.state.phase == PLAYING) == ("FIRE" in action.name), action
    ours.reset(seed=0)
    ours.ale.act(11)  # RIGHTFIRE, by its number
    assert ours.state.paddle == _PADDLE_START + PADDLE_SPEED and ours.state.phase == PLAYING


def test_the_buckets_follow_the_paddle_as_ales_do():
    """Under random play (each action held 1 to 8 frames, FIRE among them), the buckets of the two
    games stand within half a pixel of each other on average, frame by frame, until one game
    ends: the same lag, speed, coast and wind-up past the edges (`PADDLE_SPEED`)."""
    ours = KaboomEnv(frameskip=1, repeat_action_probability=0.0)
    theirs = gym.make("ALE/Kaboom-v5", frameskip=1, repeat_action_probability=0.0)
    gaps = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        ours.reset(seed=seed)
        theirs.reset(seed=seed)
        over = False
        while not over and len(gaps) < 600 * (seed + 1):
            action = int(rng.integers(0, 4))
            for _ in range(int(rng.integers(1, 9))):
                our_frame, _, our_end, _, _ = ours.step(action)
                their_frame, _, their_end, _, _ = theirs.step(action)
                over = our_end or their_end
                if over:
                    break
                gaps.append(read_frame(our_frame)[1] - read_frame(their_frame)[1])
    gaps = np.abs(gaps)
    assert len(gaps) >= 1500
    assert gaps.mean() < 1.5 and np.median(gaps) <= 1.0
    # Held one way long, the paddle turns on past the edge: coming back takes as long as on ALE.
    for env in (ours, theirs):
        env.reset(seed=0)
    frames = []
    for env in (ours, theirs):
        for _ in range(30):
            env.step(RIGHT)
        start, waited = read_frame(env.step(LEFT)[0])[1], 1
        while read_frame(env.step(LEFT)[0])[1] == start:
            waited += 1
        frames.append(waited)
    assert frames[0] == pytest.approx(frames[1], abs=1) and frames[0] >= 6
    assert ours.state.paddle < (BUCKET_MAX_X + PADDLE_BEYOND) * SUBPIXELS


def test_ale_act_at_the_end_of_the_game_and_the_frame_cap_does_what_ales_does():
    ours = KaboomEnv(frameskip=1, repeat_action_probability=0.0, max_num_frames_per_episode=10)
    theirs = gym.make(
        "ALE/Kaboom-v5", frameskip=1, repeat_action_probability=0.0, max_num_frames_per_episode=10
    ).unwrapped
    for env in (ours, theirs):
        env.reset(seed=0)
    truncated_frames = []
    for _ in range(12):
        assert ours.ale.act(FIRE) == theirs.ale.act(FIRE) == 0
        ends = [
            (
                ale.getEpisodeFrameNumber(),
                ale.game_over(),
                ale.game_over(with_truncation=False),
                ale.game_truncated(),
            )
            for ale in (ours.ale, theirs.ale)
        ]
        assert ends[0] == ends[1]
        truncated_frames.append(ends[0] == (10, True, False, True))
    assert truncated_frames == [False] * 9 + [True] * 3  # the cap, then act stands still
    # A game over: act does nothing any more, and scores nothing.
    env = _game(buckets=1, bombs_to_drop=5, bombs=[_landing()])
    env.ale.act(NOOP)
    assert env.ale.game_over(with_truncation=False) and env.ale.lives() == 0
    frames = env.ale.getFrameNumber()
    assert env.ale.act(FIRE) == 0 and env.ale.getFrameNumber() == frames


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ale: ale.act(18), ValueError, "one of ALE's 18 actions"),
        (lambda ale: ale.act(-1), ValueError, "one of ALE's 18 actions"),
        (lambda ale: ale.act("FIRE"), ValueError, "one of ALE's 18 actions"),
        (lambda ale: ale.act(1, 0.5), ValueError, "paddle_strength must be 1.0"),
        (
            lambda ale: ale.getScreenRGB(np.empty((210, 160), np.uint8)),
            ValueError,
            r"uint8 array of shape \(210, 160, 3\)",
        ),
        (
            lambda ale: ale.getScreenGrayscale(np.empty((210, 160), np.int32)),
            ValueError,
            r"uint8 array of shape \(210, 160\), as ALE's does; got a int32",
        ),
        (lambda ale: ale.cloneState(), AttributeError, "it provides act, lives, game_over"),
        (lambda ale: ale.getRAM(), AttributeError, "getScreenGrayscale"),
    ],
)
def test_ale_refuses_what_it_does_not_provide_in_one_sentence(call, error, message):
    env = KaboomEnv()
    env.reset(seed=0)
    with pytest.raises(error, match=message):
        call(env.ale)


def test_ale_act_before_the_first_reset_is_refused():
    with pytest.raises(RuntimeError, match="call reset"):
        KaboomEnv().ale.act(NOOP)


def test_frameskip_is_also_ales_private_name_for_it():
    for frameskip in (1, 4):
        assert KaboomEnv(frameskip=frameskip)._frameskip == frameskip
    assert gym.make("KaboomNoFrameskip-v0").unwrapped._frameskip == 1


def test_kaboom_noframeskip_is_registered_as_ales_noframeskip_ids():
    ours, theirs = gym.spec("KaboomNoFrameskip-v0"), gym.spec("PongNoFrameskip-v4")
    for key in ("frameskip", "repeat_action_probability", "max_num_frames_per_episode"):
        assert ours.kwargs[key] == theirs.kwargs[key]
    assert ours.max_episode_steps == theirs.max_episode_steps is None
    env = gym.make("KaboomNoFrameskip-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(RIGHT)
    assert info["episode_frame_number"] == 1
    assert env.unwrapped.state.paddle == _PADDLE_START + PADDLE_SPEED  # not sticky


def test_dqn_kaboom_is_make_dqn_env_of_kaboom_and_stacks_as_ales_kaboom():
    # Made with frameskip=1, as the agents make ALE's ids: the pipeline's skip takes the max of
    # the last two frames, as ale-py's vector env does.
    registered = gym.make("DQN/Kaboom-v0")
    made = make_dqn_env("Kaboom-v0", env_kwargs=pipeline_frameskip("Kaboom-v0"))
    ales = make_dqn_env("ALE/Kaboom-v5", env_kwargs=pipeline_frameskip("ALE/Kaboom-v5"))
    assert registered.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    names = _wrappers(registered)
    assert names == _wrappers(made) == _wrappers(ales)
    assert "AtariPreprocessing" in names
    assert "GrayscaleObservation" not in names  # ALE's grayscale, from the game itself
    np.testing.assert_array_equal(registered.reset(seed=1)[0], made.reset(seed=1)[0])
    for action in (FIRE, RIGHT, RIGHT, LEFT, NOOP):
        np.testing.assert_array_equal(registered.step(action)[0], made.step(action)[0])


def test_points_per_caught_bomb_follow_the_cartridges_table():
    assert [(rules.points, rules.bombs) for rules in GROUPS] == REFERENCE_GROUPS
    for group in range(1, 12):
        env = _game(group=group, bombs_to_drop=3, bombs=[_above_the_buckets()])
        _, reward, terminated, _, info = env.step(NOOP)
        assert reward == min(group, 8) and not terminated
        assert env.state.score == reward and env.state.bombs == [] and info["group"] == group


def test_every_bomb_caught_in_a_step_scores():
    higher = _above_the_buckets()
    higher[1] -= 2 * GROUPS[4].fall_speed  # caught two frames later
    env = _game(frameskip=4, group=5, bombs_to_drop=3, bombs=[_above_the_buckets(), higher])
    assert env.step(NOOP)[1] == 2 * 5


def test_a_bomb_is_caught_by_any_bucket_and_only_by_a_bucket():
    x = BUCKET_START_X
    # Beside the stack at the bottom bucket's height: not caught until the stack moves onto it.
    # The buckets follow RIGHT a frame late, by 2 pixels.
    beside = [x + 14 + 1, (BUCKET_TOPS[2] - 6) * SUBPIXELS]
    env = _game(bombs_to_drop=3, bombs=[beside])
    assert env.step(NOOP)[1] == 0 and len(env.state.bombs) == 1
    assert env.step(RIGHT)[1] == 0 and env.state.bucket_x == x
    assert env.step(NOOP)[1] == 1 and env.state.bombs == [] and env.state.bucket_x == x + 2
    # Just off the stack's edge it falls past every bucket and lands.
    env = _game(bombs_to_drop=3, bombs=[[x + 14, (BUCKET_TOPS[0] - BOMB_HEIGHT) * SUBPIXELS]])
    while env.state.phase == PLAYING:
        assert env.step(NOOP)[1] == 0
    assert env.state.phase == EXPLODING


def test_a_miss_costs_the_bottom_bucket_and_blows_up_every_bomb():
    bombs = [_landing(), _landing(x=40, rows_up=30), _landing(x=60, rows_up=60)]
    env = _game(obs_type="rgb", group=3, bombs_to_drop=7, bucket_x=BUCKET_MIN_X, bombs=bombs)
    frame, reward, terminated, _, info = env.step(NOOP)
    # The bucket is gone at once; a life-loss wrapper learns of it when the explosions end.
    assert (reward, terminated, env.state.buckets, info["lives"]) == (0.0, False, 2, 3)
    assert env.state.phase == EXPLODING and env.state.bombs == []
    assert [y for _, y in env.state.explosion] == sorted(
        (y for _, y in env.state.explosion), reverse=True
    )
    assert not (frame[180:189] == (162, 162, 42)).all(axis=-1).any()  # the bottom bucket is gone
    # Only the buckets move while the bombs explode and the screen flashes (as on ALE); then
    # play waits for FIRE.
    for _ in range(_explosion_length(3) - 1):
        frame, _, _, _, info = env.step(RIGHT)
        assert env.state.phase == EXPLODING and env.state.bombs == [] and info["lives"] == 3
    assert env.state.bucket_x == BUCKET_MAX_X
    frame, _, _, _, info = env.step(NOOP)
    assert env.state.phase == WAITING and env.state.explosion == [] and info["lives"] == 2
    np.testing.assert_array_equal(frame, _Screen().draw(env.state))
    assert read_frame(frame)[0] is None  # no bomb on screen
    # One group back, with half its bombs.
    assert (env.state.group, env.state.bombs_to_drop) == (2, 10)


@pytest.mark.parametrize("group", [1, 2, 7, 8, 9])
def test_after_a_miss_play_goes_one_group_back_with_half_its_bombs(group):
    env = _game(group=group, bombs_to_drop=1, bombs=[_landing()])
    _, _, _, _, info = env.step(NOOP)
    back = max(1, group - 1)
    assert info["group"] == env.state.group == back
    assert env.state.bombs_to_drop == math.ceil(group_rules(back).bombs / 2)


def _still_frames_while_waiting(env_id: str) -> tuple[int, int]:
    """NOOPs from a reset until the first miss has blown up: how many of the next 40 frames
    (4-frame steps) differ from the one before, and how many do once FIRE starts play again."""
    env = gym.make(env_id, repeat_action_probability=0.0)
    env.reset(seed=0)
    if env_id == "Kaboom-v0":
        env.step(FIRE)  # ALE's reset starts the first group; ours waits for FIRE
    for _ in range(100):  # the first group falls past the buckets, and blows up
        frame, *_ = env.step(NOOP)
    changes = []
    for action in (NOOP, FIRE):
        moved = 0
        for step in range(40):
            next_frame, *_ = env.step(action if step == 0 else NOOP)
            moved += int((next_frame != frame).any())
            frame = next_frame
        changes.append(moved)
    env.close()
    return changes[0], changes[1]


@pytest.mark.parametrize("env_id", ["ALE/Kaboom-v5", "Kaboom-v0"])
def test_while_play_waits_for_fire_nothing_moves_as_on_ale(env_id):
    # On ALE the bomber stands still until FIRE: a still screen is how an agent can tell that the
    # game waits for it. Ours once let him stroll (docs/results.md, Kaboom).
    still, playing = _still_frames_while_waiting(env_id)
    assert still == 0
    assert playing >= 30


def test_groups_follow_each_other_and_each_waits_for_fire():
    env = _game(group=2, bombs_to_drop=0, bombs=[_above_the_buckets()])
    _, reward, _, _, info = env.step(NOOP)  # the last bomb of group 2
    assert reward == 2 and env.state.phase == WAITING
    assert info["group"] == 3 and env.state.bombs_to_drop == 30
    for _ in range(500):
        env.step(NOOP)
    assert env.state.phase == WAITING and env.state.bombs == [] and env.state.bombs_to_drop == 30
    env.step(FIRE)
    drops = []
    for frame in range(60):
        env.step(NOOP)
        if len(env.state.bombs) > len(drops):
            drops.append(frame)
    rules = GROUPS[2]
    assert drops[:3] == [0, rules.drop_interval, 2 * rules.drop_interval]
    assert env.state.bombs_to_drop == 30 - len(drops)


def test_each_group_is_faster_and_its_bomber_turns_as_on_ale():
    for easier, harder in itertools.pairwise(GROUPS):
        assert harder.fall_speed > easier.fall_speed
        assert harder.bomber_speed >= easier.bomber_speed
        # About every 16 frames of running in every group (measured on ALE's, groups 1 to 4).
        assert 0.05 <= harder.turn_chance <= 0.07
        # Bombs of a group never overlap: each leaves the hand a whole bomb below the last.
        assert harder.fall_speed * harder.drop_interval >= BOMB_HEIGHT * SUBPIXELS
    for group in (1, 4, 8, 20):
        env = _game(group=group, bombs_to_drop=5, bombs=[[30, 60 * SUBPIXELS]])
        env.step(NOOP)
        assert env.state.bombs[0][1] == 60 * SUBPIXELS + group_rules(group).fall_speed


def test_a_bonus_bucket_every_thousand_points_up_to_three():
    env = _game(score=998, buckets=2, bombs_to_drop=5, bombs=[_above_the_buckets()])
    assert env.step(NOOP)[4]["lives"] == 2  # 999
    env.state.bombs = [_above_the_buckets()]
    assert env.step(NOOP)[4]["lives"] == 3  # 1,000
    env = _game(score=1_999, buckets=3, bombs_to_drop=5, bombs=[_above_the_buckets()])
    assert env.step(NOOP)[4]["lives"] == 3  # no fourth bucket
    env = _game(score=2_999, buckets=1, bombs_to_drop=5, bombs=[_above_the_buckets()])
    assert env.step(NOOP)[4]["lives"] == 2  # one a thousand


def test_game_over_when_the_last_bucket_is_lost():
    env = _game(obs_type="rgb", buckets=1, bombs_to_drop=5, bombs=[_landing()])
    frame, reward, terminated, truncated, info = env.step(NOOP)
    assert terminated and not truncated and info["lives"] == 0 and reward == 0
    assert read_frame(frame)[1] is None  # no bucket left on screen
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(NOOP)


def test_game_over_at_999999_points():
    env = _game(group=8, score=MAX_SCORE - 1, bombs_to_drop=5, bombs=[_above_the_buckets()])
    _, reward, terminated, _, _ = env.step(NOOP)
    assert terminated and reward == 1 and env.state.score == MAX_SCORE


def test_the_frame_cap_truncates_like_ale():
    env = KaboomEnv(frameskip=4, max_num_frames_per_episode=10)
    env.reset(seed=0)
    results = [env.step(NOOP) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    assert results[-1][4]["episode_frame_number"] == 10 and not results[-1][2]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(NOOP)
    uncapped = KaboomEnv(max_num_frames_per_episode=None, repeat_action_probability=0.0)
    uncapped.reset(seed=0)
    uncapped.state.frame = 10**6
    assert not uncapped.step(NOOP)[3]


@pytest.mark.parametrize("frameskip", [1, 3, 4])
def test_a_step_is_frameskip_frames(frameskip):
    env = KaboomEnv(frameskip=frameskip, repeat_action_probability=0.0)
    one_by_one = KaboomEnv(frameskip=1, repeat_action_probability=0.0)
    env.reset(seed=0)
    one_by_one.reset(seed=0)
    for step, action in enumerate((FIRE, RIGHT, RIGHT, LEFT, NOOP), start=1):
        _, _, _, _, info = env.step(action)
        for _ in range(frameskip):
            one_by_one.step(action)
        assert info["episode_frame_number"] == step * frameskip
        assert env.state == one_by_one.state
    assert env.state.bucket_x != BUCKET_START_X
    assert env.metadata["render_fps"] == round(60 / frameskip)


def test_sticky_actions_repeat_the_last_frames_action():
    never = _game(frameskip=4)
    never.step(RIGHT)
    assert never.state.paddle == _PADDLE_START + 4 * PADDLE_SPEED
    always = KaboomEnv(repeat_action_probability=1.0)
    always.reset(seed=0)
    for _ in range(20):
        always.step(RIGHT)
    assert always.state.bucket_x == BUCKET_START_X  # NOOP, the action before the first, forever
    assert always.state.paddle == _PADDLE_START
    # With 0.25 and RIGHT and LEFT alternating frame by frame, a frame repeats the last frame's
    # action with chance 0.25, which shows when that was the action given: the paddle turns the
    # wrong way in 0.25 / (1 + 0.25) = 1 frame in 5.
    env = KaboomEnv(frameskip=1, repeat_action_probability=0.25)
    env.reset(seed=0)
    wrong_way = 0
    for frame in range(4000):
        before = env.state.paddle
        action = (RIGHT, LEFT)[frame % 2]
        env.step(action)
        wrong_way += (env.state.paddle > before) != (action == RIGHT)
    assert 0.18 < wrong_way / 4000 < 0.22


def test_buckets_and_bomber_stay_in_the_playfield():
    env = _game(obs_type="rgb", bombs_to_drop=0)
    env.state.phase = WAITING
    for action, edge in ((LEFT, BUCKET_MIN_X), (RIGHT, BUCKET_MAX_X)):
        for _ in range(60):
            frame, *_ = env.step(action)
        assert env.state.bucket_x == edge
        assert read_frame(frame)[1] == edge + 6.5
    bombers = set()
    env = _game(group=8, bombs_to_drop=10**6)
    for _ in range(3000):
        env.step(NOOP)
        env.state.bombs = []  # no misses: the bomber just runs
        bombers.add(env.state.bomber_x // SUBPIXELS)
    assert min(bombers) == BOMBER_MIN_X and max(bombers) == BOMBER_MAX_X


def test_state_observation_names_the_game():
    env = _game(bucket_x=BUCKET_MIN_X, group=12, bombs_to_drop=150)
    env.state.bombs = [[100, 150 * SUBPIXELS], [30, 60 * SUBPIXELS]]
    obs, *_ = env.step(NOOP)
    assert obs.shape == (len(STATE_FIELDS),) == (9 + 3 * STATE_BOMB_SLOTS,)
    assert env.observation_space.contains(obs)
    value = dict(zip(STATE_FIELDS, obs.tolist(), strict=True))
    assert value["bucket_x"] == pytest.approx((BUCKET_MIN_X + 7 - 8) / 144)
    assert value["paddle_x"] == pytest.approx((BUCKET_MIN_X + 0.5 + 7 - 8) / 144)
    assert value["buckets"] == 1 and value["group"] == 1 and value["bombs_to_drop"] == 1
    assert value["waiting"] == value["exploding"] == 0
    assert value["bomb0_x"] == pytest.approx((100 + 2.5 - 8) / 144)  # the lowest bomb first
    assert value["bomb0_y"] > value["bomb1_y"] > 0
    assert value["bomb0_present"] == value["bomb1_present"] == 1
    assert value["bomb2_present"] == value["bomb2_x"] == value["bomb2_y"] == 0


def test_observations_are_fresh_arrays():
    env = KaboomEnv()
    first, _ = env.reset(seed=0)
    first[:] = 7  # a user scribbling on an old observation must not reach the env
    second, *_ = env.step(NOOP)
    assert not (second == 7).all(axis=-1).any()


def test_drawing_only_what_changed_gives_the_whole_frame():
    env = KaboomEnv(repeat_action_probability=0.25)
    rng = np.random.default_rng(0)
    phases = set()
    for seed in range(2):
        frame, _ = env.reset(seed=seed)
        done = False
        while not done:
            action = chase_lowest_bomb(frame) if rng.random() < 0.9 else int(rng.integers(0, 4))
            frame, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            phases.add(env.state.phase)
            np.testing.assert_array_equal(frame, _Screen().draw(env.state))
    assert phases == {WAITING, PLAYING, EXPLODING}


def test_the_score_is_drawn():
    env = _game(obs_type="rgb", score=90_718, bombs_to_drop=5)
    frame, *_ = env.step(NOOP)
    digits = (frame[8:16, 58:98] == (210, 210, 64)).all(axis=-1)
    assert [digits[:, x : x + 6].any() for x in range(0, 40, 8)] == [True] * 5
    assert not (frame[8:16, :58] == (210, 210, 64)).all(axis=-1).any()  # no sixth digit


def test_scripted_player_reads_both_games_and_scores_far_above_random():
    theirs, _ = gym.make("ALE/Kaboom-v5").reset(seed=0)
    assert read_frame(theirs) == (None, 73 + 6.5)
    assert chase_lowest_bomb(theirs) == FIRE

    rng = np.random.default_rng(0)
    scores = {"random": [], "scripted": []}
    env = gym.make("Kaboom-v0")
    for seed in range(3):
        for name, policy in (
            ("random", lambda _: int(rng.integers(0, 4))),
            ("scripted", chase_lowest_bomb),
        ):
            frame, _ = env.reset(seed=seed)
            score, done = 0.0, False
            while not done:
                frame, reward, terminated, truncated, _ = env.step(policy(frame))
                score, done = score + reward, terminated or truncated
            scores[name].append(score)
    assert np.mean(scores["scripted"]) > 200 > 20 * max(np.mean(scores["random"]), 1)


def _lockstep(seed_a: int, seed_b: int, steps: int) -> bool:
    """Steps two seeded Kaboom-v0s with the same actions (resetting unseeded at each end);
    whether they stayed identical throughout."""
    a, b = gym.make("Kaboom-v0"), gym.make("Kaboom-v0")
    obs_a, info_a = a.reset(seed=seed_a)
    obs_b, info_b = b.reset(seed=seed_b)
    actions = np.random.default_rng(0).integers(0, 4, size=steps).tolist()
    same = np.array_equal(obs_a, obs_b) and info_a == info_b
    for action in actions:
        *result_a, info_a = a.step(action)
        *result_b, info_b = b.step(action)
        same = same and np.array_equal(result_a[0], result_b[0])
        same = same and result_a[1:] == result_b[1:] and info_a == info_b
        if not same:
            return False
        if result_a[2] or result_a[3]:
            obs_a, _ = a.reset()
            obs_b, _ = b.reset()
            same = np.array_equal(obs_a, obs_b)
    return same


def _bomber_path(env: gym.Env, seed: int, frames: int = 150) -> list[int]:
    """The bomber's hat column, frame by frame, over the first `frames` frames of a game in which
    the player only presses FIRE (as ALE's reset does), from the RGB frames of either game."""
    frame, _ = env.reset(seed=seed)
    path = []
    for _ in range(frames):
        frame, *_ = env.step(FIRE)
        hat = np.flatnonzero((frame[19:26, 8:152] == (72, 72, 0)).all(axis=-1).any(axis=0))
        path.append(8 + int(hat.mean()))
    return path


def test_every_game_starts_with_the_same_bomber_as_on_ale():
    """ALE's Kaboom plays the same opening in every game, whatever the seed (its randomness is the
    cartridge's, alike at every start); so does ours with `bomber_seed`, from ALE's place."""
    theirs = gym.make("ALE/Kaboom-v5", frameskip=1)
    ale_paths = [_bomber_path(theirs, seed) for seed in (0, 1)]
    assert ale_paths[0] == ale_paths[1]
    ours = KaboomEnv(frameskip=1)
    paths = [_bomber_path(ours, seed) for seed in (0, 1)]
    assert paths[0] == paths[1]
    assert paths[0][0] == ale_paths[0][0] == BOMBER_START_X + 3  # the hat's middle column
    assert _bomber_path(KaboomEnv(frameskip=1, bomber_seed=1), 0) != paths[0]
    unseeded = KaboomEnv(frameskip=1, bomber_seed=None)
    assert _bomber_path(unseeded, 0) != _bomber_path(unseeded, 1)
    assert _bomber_path(unseeded, 0) == _bomber_path(unseeded, 0)


def _turns_a_frame(env: gym.Env, games: int = 3, frames: int = 600) -> float:
    """How often the bomber turns, per frame he runs, over the first `frames` frames of `games`
    games of the scripted player, read from the RGB frames of either game (his hat's middle; a
    jump of 5 pixels or more is ALE's sprite flipping round, not a frame's run)."""
    turns = running = 0
    for seed in range(games):
        frame, _ = env.reset(seed=seed)
        last_x = last_direction = None
        for _ in range(frames):
            frame, _, over, _, _ = env.step(chase_lowest_bomb(frame))
            x = bomber_column(frame)
            if x is not None and last_x is not None and 0 < abs(x - last_x) < 5:
                direction = np.sign(x - last_x)
                running += 1
                turns += last_direction is not None and direction != last_direction
                last_direction = direction
            last_x = x
            if over:
                break
    return turns / running


def test_bomber_column_reads_the_middle_of_his_hat_on_either_game():
    ours, _ = KaboomEnv().reset(seed=0)
    assert bomber_column(ours) == BOMBER_START_X + 3  # his hat is 3 pixels wide, 2 in
    theirs, _ = gym.make("ALE/Kaboom-v5").reset(seed=0)
    assert abs(bomber_column(theirs) - bomber_column(ours)) <= 1
    assert bomber_column(np.zeros_like(ours)) is None


def test_the_bomber_turns_about_as_often_as_ales():
    """About every 16 frames he runs in the first groups, on both games: he keeps near where he
    is, so the first bombs of ALE's games fall near its left edge (docs/results.md)."""
    theirs = _turns_a_frame(gym.make("ALE/Kaboom-v5", frameskip=1))
    ours = _turns_a_frame(KaboomEnv(frameskip=1, bomber_seed=None))  # turns of many openings
    assert 0.04 < theirs < 0.08
    assert ours == pytest.approx(theirs, rel=0.3)


def test_a_group_with_halts_stops_the_bomber_for_its_last_frames_of_each_cycle(monkeypatch):
    """`GroupRules.halt_every` and `halt_frames`, the rhythm of ALE's bomber (docs/results.md):
    he neither runs nor turns in the last `halt_frames` frames of every `halt_every` from FIRE,
    and bombs go on dropping and falling."""
    first, *rest = kaboom.GROUPS
    halting = dataclasses.replace(first, turn_chance=0.0, halt_every=6, halt_frames=2)
    monkeypatch.setattr(kaboom, "GROUPS", (halting, *rest))
    env = KaboomEnv(frameskip=1, repeat_action_probability=0.0)
    env.reset(seed=0)
    state = env.state
    state.bomber_x, state.bomber_direction = 60 * SUBPIXELS, 1
    env.step(FIRE)
    moves, dropped = [], 0
    for _ in range(24):
        before = state.bomber_x
        env.step(NOOP)
        moves.append((state.bomber_x - before) // SUBPIXELS)
        dropped = max(dropped, first.bombs - state.bombs_to_drop)
    # Counted from FIRE, the 4th and 5th frames of every 6 are still.
    assert moves == [1, 1, 1, 0, 0, 1] * 4
    assert dropped == 1 and state.bombs[0][1] > BOMB_HAND_TOP * SUBPIXELS  # falling meanwhile


def test_the_first_bombs_fall_where_ales_do():
    """ALE's first six bombs fall near the left edge, within 10 pixels of each other; ours, with
    the default `bomber_seed`, within 14 pixels of ALE's, bomb by bomb, for the first ten."""
    theirs = opening_columns(gym.make("ALE/Kaboom-v5", frameskip=1, repeat_action_probability=0.0))
    assert max(theirs[:6]) - min(theirs[:6]) <= 10 and max(theirs[:6]) < 40
    ours = opening_columns(KaboomEnv(frameskip=1, repeat_action_probability=0.0))
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 14


def test_the_bombers_path_is_the_same_however_long_play_waits_for_fire_as_on_ale():
    """ALE's bomber runs the same path whether FIRE comes at once or 25 frames late, at the start
    and between groups: his randomness moves on only while he runs. So does ours."""
    still = {"frameskip": 1, "repeat_action_probability": 0.0}
    for env in (gym.make("ALE/Kaboom-v5", **still), KaboomEnv(**still)):
        at_once = opening_columns(env, 30)  # group 1 and into group 2
        assert len(at_once) == 30
        assert opening_columns(env, 30, fire_delay=25) == at_once


def _spread_by_bomb(env_id: str, sticky: float, games: int = 4, bombs: int = 20) -> np.ndarray:
    """How far apart the scripted player's games drop each of their first `bombs` bombs: the
    standard deviation over games (seeds 0, 1, ...) of each bomb's column."""
    env = gym.make(env_id, frameskip=1, repeat_action_probability=sticky)
    columns = np.array([opening_columns(env, bombs, seed=seed) for seed in range(games)])
    env.close()
    return columns.std(axis=0)


def test_after_the_opening_the_play_sets_games_apart_as_on_ale():
    """ALE's games drop their first bombs alike, then part as the play sets them apart: under
    sticky actions the scripted player's games part within group 1, about 30 pixels apart;
    without them every game is the same. Ours part so from group 2 on (where the buckets
    caught each bomb reseeds the bomber's turns). They used to run the same path in every game,
    whatever the play, which an agent could learn by heart and ALE's does not allow."""
    for env_id in ("ALE/Kaboom-v5", "Kaboom-v0"):
        parted = _spread_by_bomb(env_id, 0.25)
        assert parted[:6].max() < 1  # the opening, alike
        assert parted[10:].mean() > 15, env_id  # group 2, apart
        assert _spread_by_bomb(env_id, 0.0, games=2).max() < 1e-9  # the same play, one game


def test_the_same_play_on_the_same_seed_gives_the_same_parted_game():
    """Parting comes from the play alone: two games of the same seed and actions (sticky ones
    included) drop every bomb at the same column, into group 3."""
    env = KaboomEnv(frameskip=1)
    assert opening_columns(env, 40, seed=3) == opening_columns(env, 40, seed=3)


def _drop_columns(env: gym.Env, seed: int, bombs: int) -> list[int]:
    """The columns where the first `bombs` bombs leave the bomber's hand in a game of a player who
    only presses FIRE, read from the game's state under any wrappers."""
    env.reset(seed=seed)
    game = env.unwrapped
    columns, left = [], game.state.bombs_to_drop
    while len(columns) < bombs:
        *_, over, cut, _ = env.step(FIRE)
        dropped = left - game.state.bombs_to_drop
        if dropped > 0:  # a bomb just dropped is the newest, and too high to be caught yet
            columns += [x for x, _ in game.state.bombs[-dropped:]]
        left = game.state.bombs_to_drop  # after a miss, the next group's count
        assert not (over or cut)
    return columns


def test_under_the_dqn_pipeline_every_game_opens_alike_as_on_ale():
    """The pipeline's no-op starts (1 to 30 steps of waiting for FIRE, at random) and sticky
    actions do not change the bomber's path: the first bombs of every game fall at the same
    columns, misses and all, as ALE's do whatever the player's timing."""
    env = make_dqn_env("Kaboom-v0", terminal_on_life_loss=False)
    openings = [_drop_columns(env, seed, 8) for seed in range(4)]
    assert all(opening == openings[0] for opening in openings)


def test_seeded_games_are_identical_over_ten_thousand_steps():
    assert _lockstep(123, 123, 10_000)
    assert not _lockstep(123, 124, 10_000)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    frameskip=st.integers(1, 6),
    sticky=st.sampled_from([0.0, 0.25, 1.0]),
    obs_type=st.sampled_from(OBS_TYPES),
    group=st.integers(1, 12),
    score=st.integers(0, MAX_SCORE - 1),
    actions=st.lists(st.integers(0, 3), min_size=1, max_size=300),
)
def test_fuzzed_games_keep_the_rules(seed, frameskip, sticky, obs_type, group, score, actions):
    env = KaboomEnv(frameskip=frameskip, repeat_action_probability=sticky, obs_type=obs_type)
    env.reset(seed=seed)
    state = env.state
    state.group, state.bombs_to_drop, state.score = group, group_rules(group).bombs, score
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        state = env.state
        assert env.observation_space.contains(obs)
        assert reward >= 0 and reward == int(reward)
        lost_and_exploding = state.phase == EXPLODING and state.buckets > 0
        assert 0 <= info["lives"] == state.buckets + lost_and_exploding <= 3
        assert terminated == (state.buckets == 0 or state.score == MAX_SCORE) and not truncated
        assert BUCKET_MIN_X <= state.bucket_x <= BUCKET_MAX_X
        assert BOMBER_MIN_X * SUBPIXELS <= state.bomber_x <= BOMBER_MAX_X * SUBPIXELS
        assert len(state.bombs) <= STATE_BOMB_SLOTS
        assert state.bombs == [] or state.phase == PLAYING
        if terminated:
            env.reset()


@pytest.mark.parametrize(
    "action", [4, -1, 1.5, 1.0, "FIRE", None, True, np.array([1, 2]), np.float32(1)]
)
def test_invalid_action_is_a_clear_error(action):
    env = KaboomEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Kaboom actions are the integers 0 \(NOOP\)"):
        env.step(action)


@pytest.mark.parametrize("action", [np.int64(2), np.uint8(2), np.array(2), 2])
def test_numpy_integer_actions_are_accepted(action):
    env = _game()
    env.step(action)
    assert env.state.paddle == _PADDLE_START + PADDLE_SPEED


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("frameskip", 0, r"frameskip must be an int from 1 to 3600 \(a minute of play a step"),
        ("frameskip", (2, 5), "stochastic"),
        ("frameskip", 4.0, "frameskip must be an int from 1 to 3600"),
        ("frameskip", 3601, "frameskip must be an int from 1 to 3600"),
        ("frameskip", 10**9, "frameskip must be an int from 1 to 3600"),  # 16 GB of draws a step
        ("repeat_action_probability", 1.5, r"must be a number in \[0, 1\]"),
        ("repeat_action_probability", "0.25", r"must be a number in \[0, 1\]"),
        ("max_num_frames_per_episode", 0, "None \\(no cap\\) or a positive int"),
        ("bomber_seed", 1.5, "bomber_seed must be an int, or None"),
        ("bomber_seed", True, "bomber_seed must be an int, or None"),
        ("obs_type", "ram", r"obs_type must be one of \('rgb', 'grayscale', 'state'\)"),
        ("render_mode", "ansi", "render_mode must be None or one of"),
    ],
)
def test_bad_arguments_are_value_errors(argument, value, message):
    with pytest.raises(ValueError, match=message):
        KaboomEnv(**{argument: value})


def test_the_largest_frameskip_is_a_minute_of_play_a_step():
    env = KaboomEnv(frameskip=MAX_FRAMESKIP)
    env.reset(seed=0)
    assert env.step(NOOP)[4]["episode_frame_number"] == MAX_FRAMESKIP == 60 * ATARI_FPS


def test_steps_and_renders_out_of_place_are_refused():
    with pytest.raises(RuntimeError, match="call reset"):
        KaboomEnv().step(NOOP)
    with pytest.raises(RuntimeError, match="without a render_mode"):
        KaboomEnv().render()


def test_human_render_opens_a_window_and_closes():
    env = gym.make("Kaboom-v0", render_mode="human")
    env.reset(seed=0)
    env.step(FIRE)
    import pygame

    assert pygame.display.get_surface().get_size() == (160 * 3, 210 * 3)
    env.close()
    assert pygame.display.get_surface() is None


def test_keys_to_action_drive_gymnasium_play():
    from gymnasium.utils.play import PlayableGame

    env = gym.make("Kaboom-v0", render_mode="rgb_array")
    env.reset(seed=0)
    keys = env.unwrapped.get_keys_to_action()
    assert set(keys.values()) == {FIRE, RIGHT, LEFT}
    assert all(isinstance(key, int) for combination in keys for key in combination)
    game = PlayableGame(env)
    import pygame

    assert {pygame.K_SPACE, pygame.K_LEFT, pygame.K_RIGHT} <= game.relevant_keys
    pygame.display.quit()


def test_pygame_is_imported_only_for_a_window():
    code = (
        "import sys, gymnasium as gym, registry\n"
        "env = gym.make('Kaboom-v0', render_mode='rgb_array')\n"
        "env.reset(seed=0); env.step(1); env.render()\n"
        "assert 'pygame' not in sys.modules, 'pygame imported without a window'\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr


def _wrappers(env: gym.Env) -> list[str]:
    names = []
    while isinstance(env, gym.Wrapper):
        names.append(type(env).__name__)
        env = env.env
    return names


def test_dqn_pipeline_makes_uint8_stacks_with_life_loss_and_fire_and_no_second_skip():
    env = make_dqn_env("Kaboom-v0", noop_max=0)
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    names = _wrappers(env)
    assert {"EpisodicLife", "FireReset"} <= set(names) and "MaxAndSkipObservation" not in names
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert info["episode_frame_number"] == 4  # FIRE, one step of 4 frames
    obs, _, _, _, info = env.step(RIGHT)
    assert env.observation_space.contains(obs) and info["episode_frame_number"] == 8


def test_dqn_pipeline_skips_frames_itself_for_frameskip_one():
    # As for ALE's ids without frame skip: Gymnasium's AtariPreprocessing, through `ale`.
    env = make_dqn_env("Kaboom-v0", env_kwargs={"frameskip": 1}, noop_max=0)
    assert "AtariPreprocessing" in _wrappers(env)
    _, info = env.reset(seed=0)
    _, _, _, _, after = env.step(NOOP)
    assert after["episode_frame_number"] - info["episode_frame_number"] == 4


def test_a_lost_bucket_ends_the_training_episode_but_not_the_game():
    env = make_dqn_env("Kaboom-v0")
    _, info = env.reset(seed=0)
    assert info["lives"] == 3
    terminated, steps = False, 0
    while not terminated:
        _, _, terminated, truncated, info = env.step(NOOP)  # the buckets stand still: a miss
        assert not truncated
        steps += 1
    assert info["lives"] == 2 and env.unwrapped.state.buckets == 2
    frame_before = env.unwrapped.state.frame
    _, info = env.reset()
    assert info["lives"] == 2 and env.unwrapped.state.frame > frame_before  # the game went on
    assert env.unwrapped.state.phase == PLAYING  # the FIRE on reset started the next group


def test_dqn_pipeline_takes_ales_grayscale_from_the_game_unless_told_otherwise():
    envs = make_dqn_vector_env("Kaboom-v0", 2)
    assert envs.reset(seed=0)[0].shape == (2, 4, 84, 84)
    assert envs.get_attr("obs_type") == ("grayscale", "grayscale")
    envs.close()
    rgb = make_dqn_env("Kaboom-v0", env_kwargs={"obs_type": "rgb"})
    assert rgb.unwrapped.obs_type == "rgb" and "GrayscaleObservation" in _wrappers(rgb)
