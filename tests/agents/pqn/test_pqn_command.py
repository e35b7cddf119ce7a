"""`python -m agents.pqn` as users run it: subprocess runs of the real command, small budgets, and
its refusals of what cannot work, in-process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from helpers import (
    interrupted_once_learning,
    progress_rows,
    run_python,
    summary_of,
)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import agents.pqn as pqn
from agents.common.cli import run_main
from agents.common.runs import SUMMARY_KEYS, TIMING_KEYS
from agents.human import main as human

PROG = "python -m agents.pqn"


def _pqn(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    result = run_python("-m", "agents.pqn", *args, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def catch_run(tmp_path_factory) -> Path:
    """The default command (Catch-v0, the catch preset), in a known run directory."""
    run_dir = tmp_path_factory.mktemp("catch") / "run"
    result = _pqn("--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr
    return run_dir


def test_the_default_command_solves_catch_and_writes_every_output(catch_run):
    summary = summary_of(catch_run)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["env_id"] == "Catch-v0" and summary["agent"] == "pqn"
    assert summary["eval_mean_return"] == 1.0  # every fruit of the 10 episodes caught
    # Whole rollouts of 32 envs x 10 steps, of which the reset rows are not counted.
    assert 12_000 <= summary["total_steps"] < 12_000 + 320
    assert summary["updates"] == 42  # 288 steps a rollout: 9 of every 10 rows are transitions
    config = json.loads((catch_run / "config.json").read_text())
    assert config["q_lambda"] == 0.95 and config["num_envs"] == 32  # the catch preset
    rows = progress_rows(catch_run)
    assert float(rows[-1]["mean_return_last_100"]) > 0.5
    assert rows[-1]["td_loss"] not in ("", "nan") and float(rows[-1]["epsilon"]) == 0.05
    assert (catch_run / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = EventAccumulator(str(catch_run)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"charts/episodic_return", "charts/episodic_length", "losses/td_loss"} <= tags
    assert {"losses/q_values", "charts/epsilon", "charts/SPS"} <= tags
    returns = events.Scalars("charts/episodic_return")
    assert len(returns) == summary["train_episodes"]
    assert {event.value for event in returns} <= {-1.0, 1.0}
    checkpoint = torch.load(catch_run / "checkpoint.pt", weights_only=True)
    assert checkpoint["global_step"] == summary["total_steps"]
    assert checkpoint["envs"] is not None  # CatchVectorEnv's games are saved with it


def test_an_interrupted_run_resumes_into_the_uninterrupted_run_exactly(catch_run, tmp_path):
    """Stopped at any moment, a run checkpoints once the update under way is done; resumed in a
    new process, it ends with the weights and progress rows of the run that was never stopped."""
    run_dir = tmp_path / "run"
    err = interrupted_once_learning("-m", "agents.pqn", "--run-dir", str(run_dir))
    assert "SIGINT: stopping once the update under way is done" in err
    assert "stopped by SIGINT; saved the checkpoint at step" in err and f"--resume {run_dir}" in err
    stopped_at = torch.load(run_dir / "checkpoint.pt", weights_only=True)["global_step"]
    assert 1000 <= stopped_at < 12_000

    result = _pqn("--resume", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir} at step {stopped_at:,}" in result.stderr
    resumed = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    straight = torch.load(catch_run / "checkpoint.pt", weights_only=True)
    for name, value in straight["learner"]["q_network"].items():
        assert torch.equal(resumed["learner"]["q_network"][name], value), name
    assert (
        resumed["learner"]["optimizer"]["state"][0]["step"]
        == (straight["learner"]["optimizer"]["state"][0]["step"])
    )

    def untimed(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]

    assert untimed(progress_rows(run_dir)) == untimed(progress_rows(catch_run))
    summary = {k: v for k, v in summary_of(run_dir).items() if k not in TIMING_KEYS}
    assert summary == {k: v for k, v in summary_of(catch_run).items() if k not in TIMING_KEYS}


def test_evaluate_and_watch_a_trained_run(catch_run, capsys):
    result = _pqn("--evaluate", str(catch_run), "--episodes", "3")
    assert result.returncode == 0, result.stderr
    assert "evaluation over 3 episode(s): mean return 1.000" in result.stdout
    # Seeded: unseeded games are new ones each time, and one in many a trained run misses.
    watch = ["--agent", str(catch_run), "--seed", "7", "--episodes", "2", "--fps", "1000"]
    assert human(watch) == 0
    assert capsys.readouterr().out.startswith("Catch-v0: 2 episode(s), returns 1, 1 ")


def test_pong_trains_a_few_hundred_steps(tmp_path):
    run_dir = tmp_path / "pong"
    result = _pqn(
        "--env", "ALE/Pong-v5", "--num-envs", "4", "--num-steps", "16", "--num-minibatches", "2",
        "--total-timesteps", "256", "--episodes", "1", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "4 env(s) x 16 steps a rollout" in result.stderr
    assert "LayerNorm Nature CNN" in result.stderr and "envs restarted on resume" in result.stderr
    summary = summary_of(run_dir)
    assert summary["total_steps"] == 256 and summary["updates"] == 4
    score = summary["eval_mean_return"]  # one whole game: someone reached 21 points
    assert score == int(score) and 1 <= abs(score) <= 21
    assert progress_rows(run_dir)[-1]["td_loss"] not in ("", "nan")


def test_a_gymnasium_vector_env_trains_through_make_vec(tmp_path):
    run_dir = tmp_path / "cartpole"
    result = _pqn("--env", "CartPole-v1", "--total-timesteps", "2048", "--episodes", "2",
                  "--run-dir", str(run_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pqn on CartPole-v1: 4 env(s) x 128 steps" in result.stderr
    assert "LayerNorm MLP (120, 84)" in result.stderr
    summary = summary_of(run_dir)
    assert summary["total_steps"] >= 2048 and summary["train_episodes"] > 0


def _usage_error(argv: list[str], capsys) -> str:
    """The line that says what was wrong: the last, and the only one of the error."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: pqn.main(argv), PROG)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "usage:" not in err, err
    line = err.splitlines()[-1]
    assert line.startswith(f"{PROG}: error: "), err
    return line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "Pendulum-v1"], "needs a discrete action space"),
        (["--num-minibatches", "7"], "does not divide into --num-minibatches 7"),
        (["--num-steps", "0"], "--num-steps must be at least 1"),
        (["--update-epochs", "0"], "--update-epochs must be at least 1"),
        (["--num-minibatches", "0"], "--num-minibatches must be at least 1"),
        (["--q-lambda", "1.5"], "--q-lambda must lie in [0, 1]"),
        (["--learning-rate", "0"], "must be positive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert message in _usage_error(argv, capsys)


def test_a_resume_cannot_change_the_number_of_envs(catch_run, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("checkpoint.pt", "config.json", "progress.csv"):
        (copy / name).write_bytes((catch_run / name).read_bytes())
    line = _usage_error(["--resume", str(copy), "--num-envs", "16"], capsys)
    assert "--num-envs cannot change when pqn resumes a run (it was 32)" in line
