"""benchmarks/kaboom_diagnosis.py: both games go through the same wrappers, and only the foothold
game changes the rules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.wrappers import AtariPreprocessing

from envs import kaboom
from wrappers import dqn_wrapper_plan

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "kaboom_diagnosis.py"


@pytest.fixture
def diagnosis(monkeypatch):
    monkeypatch.setattr(kaboom, "GROUPS", kaboom.GROUPS)  # the foothold game changes them
    spec = importlib.util.spec_from_file_location("kaboom_diagnosis", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "kaboom_diagnosis", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("game", ["ale", "ours", "foothold", "rhythm"])
def test_each_game_goes_through_gymnasiums_atari_preprocessing(diagnosis, game):
    env = gym.make(diagnosis._register(game))
    assert env.unwrapped._frameskip == 1
    assert env.observation_space.shape == (210, 160)
    plan = dqn_wrapper_plan(env, terminal_on_life_loss=False, clip_rewards=False)
    assert plan[0][0] is AtariPreprocessing and plan[0][1]["frame_skip"] == 4
    env.close()


def test_only_the_foothold_game_stands_the_first_groups_bomber_still(diagnosis):
    diagnosis._register("ours")
    assert kaboom.group_rules(1).bomber_speed > 0
    diagnosis._register("foothold")
    assert kaboom.group_rules(1).bomber_speed == 0 and kaboom.group_rules(2).bomber_speed > 0
    env = kaboom.KaboomEnv(frameskip=1, repeat_action_probability=0.0)
    env.reset(seed=0)
    for _ in range(200):
        env.step(kaboom.FIRE)
    assert env.state.bomber_x == kaboom.BOMBER_START_X * kaboom.SUBPIXELS


def test_players_prints_each_players_scores_on_both_games(diagnosis, capsys):
    diagnosis.players(games=4)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"| player | {' | '.join(diagnosis.TABLE_GAMES)} |"
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in lines[2:]}
    assert set(rows) == set(diagnosis.PLAYERS)
    means = {name: [float(cell.split(" ± ")[0]) for cell in cells] for name, cells in rows.items()}
    # The finding: ALE's game opens alike every game, so buckets that stay catch the same bomb in
    # each of them.
    assert rows["FIRE only (buckets stay)"][0] == "1.0 ± 0.0"
    scripted, random = means["scripted (chase_lowest_bomb)"], means["random"]
    assert all(good > 10 * bad for good, bad in zip(scripted, random, strict=True))


def test_learn_refuses_a_budget_that_ends_before_learning(diagnosis):
    with pytest.raises(SystemExit):
        diagnosis.main(["learn", "ours", "--steps", "1000"])


def test_opening_ranks_the_default_seed_first_of_those_up_to_it(diagnosis, capsys):
    ranked = diagnosis.opening(seeds=kaboom.BOMBER_SEED + 1)
    assert ranked[0][1] == kaboom.BOMBER_SEED and ranked[0][0] <= 13
    assert ranked[1][0] > 13  # the first whose opening is within 13 pixels of ALE's
    assert f"bomber_seed={kaboom.BOMBER_SEED}: within" in capsys.readouterr().out


def test_groups_prints_where_each_groups_bombs_fall_and_the_bombers_speed(diagnosis, capsys):
    found = diagnosis.groups(games=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 + len(diagnosis.GROUP_BOMBS)
    assert lines[3].startswith("| 1 (1 to 10) | column ")
    for game in found.values():  # the scripted player catches every bomb of groups 1 to 4
        assert [len(group) for group in game["columns"]] == [10, 20, 30, 40]
        assert all(
            ((c >= kaboom.PLAYFIELD_LEFT) & (c <= kaboom.PLAYFIELD_RIGHT)).all()
            for c in game["columns"]
        )
        speeds = game["speeds"]
        assert 0.3 < speeds[0] < speeds[1] < speeds[2] < 4  # each group's bomber runs faster
    ale, ours = found["ALE/Kaboom-v5"], found["Kaboom-v0"]
    assert abs(ale["columns"][0].mean() - ours["columns"][0].mean()) < 10  # the opening is ALE's


def test_the_bombers_speed_is_read_from_the_frames(diagnosis):
    env = gym.make("Kaboom-v0", frameskip=1, repeat_action_probability=0.0)
    speeds, _ = diagnosis.read_groups(env, seed=0)
    # The bomber runs at group_rules' speed but when he halts to turn or waits for FIRE.
    for group, speed in enumerate(speeds, start=1):
        assert 0.5 * kaboom.group_rules(group).bomber_speed / kaboom.SUBPIXELS < speed
        assert speed <= kaboom.group_rules(group).bomber_speed / kaboom.SUBPIXELS + 0.05


def test_only_the_rhythm_game_runs_the_bomber_in_ales_rhythm_from_its_own_seed(diagnosis):
    diagnosis._register("ours")
    assert all(rules.halt_every == 0 for rules in kaboom.GROUPS)
    env_id = diagnosis._register("rhythm")
    assert gym.spec(env_id).kwargs["bomber_seed"] == diagnosis.RHYTHM_SEED
    for group, (speed, every, frames, turns) in diagnosis.ALE_RHYTHM.items():
        rules = kaboom.group_rules(group)
        assert (rules.bomber_speed, rules.halt_every, rules.halt_frames) == (speed, every, frames)
        assert rules.turn_chance == turns
    assert kaboom.group_rules(5).halt_every == 0


def test_the_rhythm_games_seed_ranks_first_of_those_up_to_it(diagnosis):
    ranked = diagnosis.opening(seeds=diagnosis.RHYTHM_SEED + 1, game="rhythm")
    assert ranked[0][1] == diagnosis.RHYTHM_SEED and ranked[0][0] <= 14


def test_the_bombs_timing_is_read_from_the_frames(diagnosis):
    """Our game's drops and falls, read from its frames, are its rules' (fall speeds are in 1/16
    pixel a frame, so a mean over whole-pixel steps)."""
    env = gym.make("Kaboom-v0", frameskip=1, repeat_action_probability=0.0)
    for group, (every, fall) in enumerate(diagnosis.read_groups(env, seed=0)[1], start=1):
        rules = kaboom.group_rules(group)
        assert every == rules.drop_interval
        assert abs(fall - rules.fall_speed / kaboom.SUBPIXELS) < 0.02


def test_a_learn_run_cut_short_goes_on_from_its_checkpoint(diagnosis, monkeypatch, tmp_path):
    import agents.dqn

    calls = []

    def stopped_agent(argv):
        calls.append(argv)
        return 130  # what a run stopped by SIGINT exits with, its checkpoint saved

    monkeypatch.setattr(agents.dqn, "main", stopped_agent)
    monkeypatch.setattr(diagnosis, "REPO", tmp_path)
    with pytest.raises(SystemExit) as stopped:
        diagnosis.learn("ours", 1, 100_000)
    assert stopped.value.code == 130  # the agent's status, and no summary read
    assert calls[0][:2] == ["--env", "diagnosis/Kaboom-ours-v0"]
    run_dir = tmp_path / "runs" / "kaboom-diagnosis" / "ours__seed1"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(SystemExit):
        diagnosis.learn("ours", 1, 100_000)
    assert calls[1] == ["--resume", str(run_dir)]
