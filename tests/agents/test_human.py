"""`python -m agents.human`: playing by hand and watching an agent, headless (SDL's dummy driver).

Key events are posted to pygame's queue before or while a session runs, as a keyboard would post
them; `--record` shows what each step did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pygame
import pytest
from helpers import run_python, train_runs

from agents.common.cli import UsageError
from agents.common.command import load_run
from agents.common.environments import make_eval_env
from agents.common.evaluation import evaluate_policy
from agents.common.play import steps_per_second
from agents.human import main
from envs.catch import LEFT, RIGHT, STAY
from envs.kaboom import read_frame

FAST = ["--fps", "1000"]


class Keyboard:
    """Key events posted to pygame's queue, as a keyboard posts them."""

    @staticmethod
    def press(*keys: int) -> None:
        """A KEYDOWN for each key: held until its KEYUP."""
        for key in keys:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))

    @staticmethod
    def release(*keys: int) -> None:
        for key in keys:
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key))

    @staticmethod
    def later(key: int, ms: int) -> None:
        """A KEYDOWN for `key` in `ms` milliseconds, while a session runs."""
        pygame.time.set_timer(pygame.event.Event(pygame.KEYDOWN, key=key), ms, loops=1)


@pytest.fixture
def keyboard() -> Iterator[type[Keyboard]]:
    pygame.display.init()  # the queue takes events once the video system is up
    yield Keyboard
    pygame.display.quit()


def _recorded(tmp_path: Path, *argv: str) -> dict[str, np.ndarray]:
    record = tmp_path / "played.npz"
    assert main([*argv, *FAST, "--record", str(record)]) == 0
    with np.load(record) as arrays:
        return dict(arrays)


@pytest.mark.parametrize(
    ("key", "action", "centre"),
    [(pygame.K_RIGHT, RIGHT, 8), (pygame.K_d, RIGHT, 8), (pygame.K_LEFT, LEFT, 2),
     (pygame.K_a, LEFT, 2)],
)  # fmt: skip
def test_arrow_keys_move_the_catch_basket(keyboard, tmp_path, key, action, centre):
    keyboard.press(key)
    played = _recorded(tmp_path, "--env", "Catch-v0", "--seed", "0", "--max-steps", "3")
    assert played["actions"].tolist() == [action] * 3
    centres = [int(obs[-1].argmax()) + 1 for obs in played["observations"]]
    assert centres == [5, 5 + (action - 1), 5 + 2 * (action - 1), centre]  # seed 0 starts at 5


def test_a_tap_acts_once_and_no_key_is_stay(keyboard, tmp_path):
    keyboard.press(pygame.K_RIGHT)  # pressed and released before the next step: a tap
    keyboard.release(pygame.K_RIGHT)
    played = _recorded(tmp_path, "--env", "Catch-v0", "--seed", "0", "--max-steps", "3")
    assert played["actions"].tolist() == [RIGHT, STAY, STAY]


@pytest.mark.parametrize("env_id", ["Catch-v0", "Kaboom-v0", "ALE/Breakout-v5"])
def test_a_key_pressed_and_released_within_one_frame_still_acts(keyboard, tmp_path, env_id):
    """KEYDOWN and KEYUP inside one frame, while the session runs: the next step takes it."""
    right = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT)
    pygame.time.set_timer(right, 30, loops=1)
    pygame.time.set_timer(pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT), 31, loops=1)
    record = tmp_path / "played.npz"
    assert main(["--env", env_id, "--seed", "0", "--max-steps", "12", "--fps", "50",
                 "--record", str(record)]) == 0  # fmt: skip
    with np.load(record) as played:
        actions = played["actions"].tolist()
    env = gym.make(env_id)
    meanings = env.unwrapped.get_action_meanings()
    env.close()
    assert [meanings[action] for action in actions].count("RIGHT") == 1, actions


@pytest.mark.parametrize(("key", "sign"), [(pygame.K_LEFT, -1), (pygame.K_RIGHT, 1)])
def test_arrow_keys_move_the_kaboom_buckets(keyboard, tmp_path, key, sign):
    keyboard.press(key, pygame.K_SPACE)  # moving wins over FIRE
    played = _recorded(tmp_path, "--env", "Kaboom-v0", "--seed", "0", "--max-steps", "5")
    assert played["actions"].tolist() == [3 if sign < 0 else 2] * 5  # LEFT, RIGHT
    _, start = read_frame(played["observations"][0])
    _, end = read_frame(played["observations"][-1])
    assert sign * (end - start) >= 30  # up to 5 pixels a frame, 4 frames a step, a frame late


def test_atari_ids_play_with_ales_keys_and_the_arrows_for_wasd(keyboard, tmp_path):
    keyboard.press(pygame.K_RIGHT, pygame.K_SPACE)  # ALE's Pong: D and space are RIGHTFIRE
    played = _recorded(tmp_path, "--env", "ALE/Pong-v5", "--seed", "0", "--max-steps", "2")
    assert played["actions"].tolist() == [4, 4]
    assert played["observations"].shape == (3, 210, 160, 3)


def test_an_episode_ends_and_its_return_is_printed(keyboard, capsys):
    env = gym.make("Catch-v0")
    env.reset(seed=4)
    expected = sum(env.step(STAY)[1] for _ in range(9))
    assert main(["--env", "Catch-v0", "--seed", "4", "--episodes", "1", *FAST]) == 0
    assert (
        capsys.readouterr().out
        == f"Catch-v0: 1 episode(s), returns {expected:g} (mean {expected:g})\n"
    )


def test_esc_quits_with_status_0(keyboard, capsys):
    keyboard.press(pygame.K_ESCAPE)
    assert main(["--env", "Kaboom-v0", "--max-steps", "1000", *FAST]) == 0
    assert capsys.readouterr().out == "Kaboom-v0: no episode played to its end\n"


def test_p_pauses(keyboard, capsys):
    keyboard.press(pygame.K_p)
    keyboard.later(pygame.K_ESCAPE, 300)
    assert main(["--env", "Catch-v0", "--max-steps", "5", "--fps", "100"]) == 0
    assert capsys.readouterr().out == "Catch-v0: no episode played to its end\n"  # no step taken


def test_r_restarts_with_the_next_episode(keyboard, tmp_path):
    keyboard.press(pygame.K_r)
    played = _recorded(tmp_path, "--env", "Catch-v0", "--seed", "0", "--max-steps", "2")
    first, _ = gym.make("Catch-v0").reset(seed=1)  # episode 1: the restart
    np.testing.assert_array_equal(played["observations"][0], first)
    assert played["episode"].tolist() == [0, 0]  # the episode left at once has no step


def test_record_holds_every_step_as_a_seeded_replay_takes_it(keyboard, tmp_path):
    keyboard.press(pygame.K_RIGHT)
    played = _recorded(tmp_path, "--env", "Catch-v0", "--seed", "3", "--max-steps", "25")
    assert str(played["env_id"]) == "Catch-v0"
    assert played["observations"].shape == (25 + 3, 10, 10)
    assert played["episode"].tolist() == [0] * 9 + [1] * 9 + [2] * 7
    env = gym.make("Catch-v0")
    for i, (action, episode) in enumerate(zip(played["actions"], played["episode"], strict=True)):
        if i == 0 or episode != played["episode"][i - 1]:
            obs, _ = env.reset(seed=3 + int(episode))
            np.testing.assert_array_equal(played["observations"][i + episode], obs)
        obs, reward, terminated, truncated, _ = env.step(int(action))
        np.testing.assert_array_equal(played["observations"][i + episode + 1], obs)
        assert (reward, terminated, truncated) == (
            played["rewards"][i], played["terminated"][i], played["truncated"][i]
        )  # fmt: skip
    assert played["terminated"].sum() == 2  # the third episode was cut short


def test_an_env_without_a_key_mapping_is_one_line_and_status_2():
    result = run_python("-m", "agents.human", "--env", "CartPole-v1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m agents.human: error: CartPole-v1 has no key mapping (no get_keys_to_action()), "
        "so it cannot be played by hand; play Catch-v0, Kaboom-v0, SuperMarioLand-v0 or an "
        "ALE/... id, or watch an agent on it with --agent RUN_DIR"
    ]


def test_super_mario_land_plays_from_the_rom_given(keyboard, mario_rom, tmp_path, monkeypatch):
    monkeypatch.delenv("DQN_ARCADE_SML_ROM", raising=False)
    keyboard.press(pygame.K_RIGHT)
    argv = ["--env", "SuperMarioLand-v0", "--seed", "0", "--max-steps", "10"]
    played = _recorded(tmp_path, *argv, "--rom", str(mario_rom))
    assert played["actions"].tolist() == [2] * 10  # RIGHT
    assert played["rewards"].sum() > 0  # progress to the right
    with pytest.raises(UsageError, match="SuperMarioLand-v0 cannot start: No Super Mario Land ROM"):
        main([*argv, "--rom", str(tmp_path / "missing.gb")])
    with pytest.raises(UsageError, match="--rom is for SuperMarioLand-v0, not Catch-v0"):
        main(["--env", "Catch-v0", "--rom", str(mario_rom)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A short Catch run of each agent."""
    flags = ("--total-timesteps", "2000", "--learning-starts", "500", "--episodes", "1")
    return train_runs(tmp_path_factory.mktemp("runs"), ("dqn", "sb3_dqn"), *flags)


@pytest.mark.parametrize("agent", ["dqn", "sb3_dqn"])
def test_watch_an_agent_play_the_episodes_evaluation_plays(trained, agent, capsys):
    assert main(["--agent", str(trained[agent]), "--seed", "7", "--episodes", "3", *FAST]) == 0
    args, policy = load_run(trained[agent])
    returns = evaluate_policy(args.env, policy(args.eval_epsilon, np.random.default_rng(7)), 3, 7)
    shown = ", ".join(f"{value:g}" for value in returns)
    assert capsys.readouterr().out.startswith(f"Catch-v0: 3 episode(s), returns {shown} ")


def test_evaluate_render_human_shows_the_same_episodes_through_play(trained, monkeypatch):
    import agents.common.evaluation
    from agents.common.play import play

    watched = []

    def spy(*args, **kwargs):
        watched.append(kwargs)
        return play(*args, **kwargs)

    monkeypatch.setattr(agents.common.evaluation, "play", spy)
    args, policy = load_run(trained["dqn"] / "checkpoint.pt")
    shown = evaluate_policy(args.env, policy(0.0, np.random.default_rng(0)), 2, 11, render="human")
    headless = evaluate_policy(args.env, policy(0.0, np.random.default_rng(0)), 2, 11)
    assert shown == headless and watched == [{"episodes": 2, "seed": 11}]


def test_the_agent_must_have_been_trained_on_the_env_given(trained):
    with pytest.raises(UsageError, match="was trained on Catch-v0, not Kaboom-v0"):
        main(["--agent", str(trained["dqn"]), "--env", "Kaboom-v0"])
    with pytest.raises(UsageError, match="no checkpoint of an agent at"):
        main(["--agent", str(trained["dqn"] / "missing")])


@pytest.mark.parametrize("flags", [["--fps", "nan"], ["--fps", "-1"], ["--seed", "-1"]])
def test_bad_values_are_one_sentence(flags):
    with pytest.raises(UsageError, match=f"{flags[0]} must"):
        main(["--env", "Catch-v0", "--max-steps", "1", *flags])


@pytest.mark.parametrize("env_id", ["ALE/Pong-v5", "Kaboom-v0", "DQN/Kaboom-v0"])
def test_atari_games_play_at_their_speed_however_the_frames_are_skipped(env_id):
    """60 frames a second, 4 a step: the game's own skip (as made), or AtariPreprocessing's over
    a game made with one frame a step (the agents' evaluation envs, watched and recorded)."""
    for env in (gym.make(env_id), make_eval_env(env_id)):
        assert steps_per_second(env) == 15
        env.close()
