"""`python -m agents.sb3_dqn`: SB3's DQN through our flags, pipeline and outputs."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from helpers import interrupted_once_learning, run_python, train_runs
from stable_baselines3.common.buffers import NStepReplayBuffer
from stable_baselines3.common.save_util import load_from_pkl

from agents.common.runs import SUMMARY_KEYS
from agents.dqn.config import Args
from agents.sb3_dqn.agent import SB3_PRESETS, build_model, end_saved_episodes, make_vec_env

SHORT_CATCH = ["--total-timesteps", "3000", "--learning-starts", "500", "--episodes", "3"]


def _sb3(*args: str, timeout: float = 180):
    result = run_python("-m", "agents.sb3_dqn", *args, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def catch_runs(tmp_path_factory) -> dict[str, Path]:
    """The same short Catch run by both agents."""
    return train_runs(tmp_path_factory.mktemp("catch"), ("sb3_dqn", "dqn"), *SHORT_CATCH)


def test_sb3_writes_the_same_outputs_with_the_same_summary_keys(catch_runs):
    sb3, ours = _summary(catch_runs["sb3_dqn"]), _summary(catch_runs["dqn"])
    assert set(sb3) == set(ours) and set(SUMMARY_KEYS) <= set(sb3)
    assert sb3["agent"] == "sb3_dqn" and 3000 <= sb3["total_steps"] < 3016  # 16 envs a step
    assert sb3["train_episodes"] > 100  # whole Catch episodes, seen through info["episode"]
    run_dir = catch_runs["sb3_dqn"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["learning_rate"] == 1e-3 and config["num_envs"] == 16  # the shared catch preset
    header = (run_dir / "progress.csv").read_text().splitlines()[0]
    assert header == (catch_runs["dqn"] / "progress.csv").read_text().splitlines()[0]
    assert (run_dir / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / "checkpoint.zip").is_file()


def test_sb3_resumes_through_its_own_save_and_load_then_evaluates(catch_runs):
    run_dir = catch_runs["sb3_dqn"]
    stopped = _summary(run_dir)["total_steps"]
    result = _sb3("--resume", str(run_dir), "--total-timesteps", "4000", "--episodes", "2")
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir} at step {stopped:,}" in result.stderr
    assert 4000 <= _summary(run_dir)["total_steps"] < 4016
    # Saved without its buffer, it refilled 500 steps (--learning-starts) before learning again,
    # and SB3's own learning_starts, which would have had it act at random meanwhile, is as it was.
    with zipfile.ZipFile(run_dir / "checkpoint.zip") as saved:
        data = json.loads(saved.read("data"))
    assert data["learn_from"] == stopped + 500 and data["learning_starts"] == 500
    result = _sb3("--evaluate", str(run_dir / "checkpoint.zip"), "--episodes", "3")
    assert result.returncode == 0, result.stderr
    assert "evaluation over 3 episode(s): mean return" in result.stdout
    result = _sb3("--resume", str(run_dir), "--episodes", "1")  # nothing left to train
    assert result.returncode == 0, result.stderr
    assert "only evaluated again; pass a larger --total-timesteps" in result.stderr


def test_a_refilling_model_acts_with_its_policy_and_learns_only_once_refilled():
    args = dataclasses.replace(Args(**SB3_PRESETS["catch"]), learning_starts=0)
    model = build_model(args, make_vec_env(args), "cpu")
    model.learn_from = 320  # what a resume without the buffer sets
    acted, learned_at = [], []
    predict, optimizer_step = model.predict, model.policy.optimizer.step

    def predicting(*args, **kwargs):
        acted.append(model.num_timesteps)
        return predict(*args, **kwargs)

    def stepping(*args, **kwargs):
        learned_at.append(model.num_timesteps)
        return optimizer_step(*args, **kwargs)

    model.predict, model.policy.optimizer.step = predicting, stepping
    model.learn(total_timesteps=640)
    assert acted == list(range(0, 640, 16))  # its policy at every step (16 envs a step)
    assert learned_at and min(learned_at) > 320


def test_a_stop_waits_for_the_end_of_sb3s_step_and_saves_every_step_counted(tmp_path):
    run_dir = tmp_path / "run"
    err = interrupted_once_learning("-m", "agents.sb3_dqn", "--total-timesteps", "200000",
                                    "--learning-starts", "200", "--log-frequency", "500",
                                    "--save-buffer", "--run-dir", str(run_dir))  # fmt: skip
    assert "stopped by SIGINT; saved the checkpoint at step" in err and "Traceback" not in err
    with zipfile.ZipFile(run_dir / "checkpoint.zip") as saved:
        steps = json.loads(saved.read("data"))["num_timesteps"]
    (replay,) = run_dir.glob("replay-*.pkl")
    buffer = load_from_pkl(replay)
    # Every step counted has its transition stored (16 envs a step), none cut in two.
    assert replay.name == f"replay-{steps:012d}.pkl" and buffer.pos * 16 == steps > 500


def test_n_step_returns_of_a_loaded_buffer_stop_where_the_saved_run_stopped():
    """A resume starts new episodes: SB3's 3-step return of a transition saved 2 steps before the
    stop must not take the rewards of the new episode that follows it in the buffer."""
    buffer = NStepReplayBuffer(16, spaces.Box(0, 1, (1,)), spaces.Discrete(2), n_steps=3,
                               gamma=0.5)  # fmt: skip

    def add(reward):
        buffer.add(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.array([reward]),
                   np.array([False]), [{}])  # fmt: skip

    for _ in range(3):
        add(1.0)  # the saved run's last steps, its episode still going
    end_saved_episodes(buffer)  # what a resume does once the buffer is loaded
    for _ in range(3):
        add(100.0)  # the new episode's
    returns = buffer._get_samples(np.array([1, 2])).rewards.squeeze(1).tolist()
    assert returns == [1.0 + 0.5, 1.0]  # without: 1 + 0.5 + 25, and 1 + 50 + 25


def test_sb3_on_pong_for_a_few_hundred_steps(tmp_path):
    result = _sb3(
        "--env", "ALE/Pong-v5", "--total-timesteps", "600", "--learning-starts", "200",
        "--buffer-size", "1000", "--episodes", "1", "--run-dir", str(tmp_path / "pong"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "pong")
    assert summary["total_steps"] == 600
    assert summary["replay_bytes_per_transition"] > 2 * 4 * 84 * 84  # obs and next_obs stacks


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        (
            ["--double"],
            "--double has no meaning for sb3_dqn: Stable-Baselines3's DQN has no Double",
        ),
        (["--dueling"], "--dueling has no meaning for sb3_dqn"),
        (["--compile"], "--compile has no meaning for sb3_dqn"),
        (["--fast-mlp"], "--fast-mlp has no meaning for sb3_dqn: SB3 runs its own update"),
        (["--precision", "bf16"], "--precision has no meaning for sb3_dqn: SB3 computes in fp32"),
    ],
)
def test_flags_sb3_has_no_meaning_for_are_refused(flag, reason, tmp_path):
    result = _sb3(*flag, "--run-dir", str(tmp_path))
    assert result.returncode == 2
    assert reason in result.stderr
    assert not (tmp_path / "config.json").exists()


def test_flags_that_ask_for_what_sb3_does_anyway_are_taken(tmp_path):
    does_anyway = ("--no-double", "--no-dueling", "--no-fast-mlp", "--precision", "fp32")
    result = _sb3(*does_anyway, "--total-timesteps", "64", "--episodes", "1",
                  "--run-dir", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["double"] is False and config["dueling"] is False
    assert config["fast_mlp"] is False and config["precision"] == "fp32"


def test_resume_refuses_what_it_cannot_change_without_touching_the_run(catch_runs):
    run_dir = catch_runs["sb3_dqn"]
    config_before = (run_dir / "config.json").read_text()
    result = _sb3("--resume", str(run_dir), "--batch-size", "8")
    assert result.returncode == 2
    assert "--batch-size cannot change when sb3_dqn resumes a run (it was 32)" in result.stderr
    for agent in ("sb3_dqn", "dqn"):  # the env never changes on resume, for either agent
        result = run_python("-m", f"agents.{agent}", "--resume", str(catch_runs[agent]),
                            "--env", "Kaboom-v0")  # fmt: skip
        assert result.returncode == 2 and "--env cannot change" in result.stderr
    assert (run_dir / "config.json").read_text() == config_before


def test_evaluating_what_is_not_an_sb3_run_of_the_env_is_refused(catch_runs):
    result = _sb3("--evaluate", str(catch_runs["sb3_dqn"]), "--env", "Kaboom-v0")
    assert result.returncode == 2
    assert "the checkpoint's model takes Box(0.0, 1.0, (10, 10), float32)" in result.stderr
    assert "leave out --env" in result.stderr
    result = _sb3("--evaluate", str(catch_runs["dqn"] / "checkpoint.pt"))
    assert result.returncode == 2 and "is not a checkpoint of sb3_dqn" in result.stderr


def test_damaged_sb3_runs_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "checkpoint.zip").write_bytes(b"PK\x03\x04 not really a zip")
    result = _sb3("--evaluate", str(tmp_path))
    assert result.returncode == 2 and "is not a readable SB3 checkpoint" in result.stderr
    with zipfile.ZipFile(tmp_path / "checkpoint.zip", "w") as archive:  # ours, without SB3's
        archive.writestr("dqn_arcade.json", json.dumps({"config": {"env": "Catch-v0"}}))
    result = _sb3("--evaluate", str(tmp_path))
    assert result.returncode == 2 and "is not a readable SB3 checkpoint" in result.stderr
    result = _sb3("--env", "Pendulum-v1", "--run-dir", str(tmp_path / "pendulum"))
    assert result.returncode == 2 and "needs a discrete action space" in result.stderr
