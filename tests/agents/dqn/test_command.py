"""`python -m agents.dqn` as users run it: subprocess runs of the real command, small budgets."""

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

from agents.common.runs import SUMMARY_KEYS, TIMING_KEYS

SHORT_CATCH = ["--total-timesteps", "3000", "--learning-starts", "500", "--episodes", "5"]


def _dqn(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    result = run_python("-m", "agents.dqn", *args, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_default_command_solves_catch_and_writes_every_output(tmp_path):
    run_dir = tmp_path / "run"
    result = _dqn("--run-dir", str(run_dir))  # the README's main command, with a known run dir
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]  # where it runs, and why
    assert first.startswith("device cpu (") and first.endswith("); cudnn.benchmark"), first
    # An MLP: fp32 whatever the CPU, so the hand-written fp32 update trains it.
    assert "; precision fp32 (auto: an MLP's small matrices gain nothing from bf16);" in first
    summary = summary_of(run_dir)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["env_id"] == "Catch-v0" and summary["agent"] == "dqn"
    assert summary["eval_mean_return"] >= 0.9  # a 95% catch rate
    # Vector envs step together: the last step may pass the total by fewer than num_envs (16).
    assert 30_000 <= summary["total_steps"] < 30_016
    config = json.loads((run_dir / "config.json").read_text())
    assert config["learning_rate"] == 1e-3  # the catch preset
    assert float(progress_rows(run_dir)[-1]["mean_return_last_100"]) > 0.5
    assert (run_dir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = EventAccumulator(str(run_dir)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"charts/episodic_return", "charts/episodic_length", "losses/td_loss"} <= tags
    assert {"losses/q_values", "charts/epsilon", "charts/SPS"} <= tags
    returns = events.Scalars("charts/episodic_return")
    assert (
        len(returns) == summary["train_episodes"] == len(events.Scalars("charts/episodic_length"))
    )
    assert {event.value for event in returns} <= {-1.0, 1.0}  # a Catch episode: caught or missed
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["global_step"] == summary["total_steps"]


def test_pong_trains_a_few_thousand_steps(tmp_path):
    run_dir = tmp_path / "pong"
    result = _dqn(
        "--env", "ALE/Pong-v5", "--total-timesteps", "1500", "--learning-starts", "300",
        "--buffer-size", "2000", "--num-envs", "2", "--episodes", "1", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "frames stored once, stacks of 4" in result.stderr
    summary = summary_of(run_dir)
    assert 1500 <= summary["total_steps"] <= 1501
    score = summary["eval_mean_return"]  # one whole game: someone reached 21 points
    assert score == int(score) and 1 <= abs(score) <= 21
    assert summary["replay_bytes_per_transition"] < 84 * 84 + 16
    rows = progress_rows(run_dir)
    assert rows[-1]["td_loss"] not in ("", "nan")  # it learned after step 300


def test_same_seed_same_summary_and_another_seed_differs(tmp_path):
    summaries, losses = [], []
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        result = _dqn(*SHORT_CATCH, "--seed", seed, "--run-dir", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        summary = summary_of(tmp_path / name)
        summaries.append({k: v for k, v in summary.items() if k not in TIMING_KEYS})
        losses.append([row["td_loss"] for row in progress_rows(tmp_path / name)])
    assert summaries[0] == summaries[1]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    run_dir = tmp_path / "run"
    err = interrupted_once_learning("-m", "agents.dqn", "--total-timesteps", "200000",
                                    "--log-frequency", "500", "--learning-starts", "200",
                                    "--run-dir", str(run_dir))  # fmt: skip
    assert "stopped by SIGINT; saved the checkpoint at step" in err and f"--resume {run_dir}" in err
    stopped = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    stopped_at = stopped["global_step"]
    assert 500 <= stopped_at < 200_000

    result = _dqn("--resume", str(run_dir / "checkpoint.pt"), "--total-timesteps",
                  str(stopped_at + 2000), "--learning-rate", "5e-4", "--episodes", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir} at step {stopped_at:,}" in result.stderr
    summary = summary_of(run_dir)
    assert stopped_at + 2000 <= summary["total_steps"] < stopped_at + 2016
    steps = [int(row["step"]) for row in progress_rows(run_dir)]
    assert steps == sorted(steps) and steps[-1] == summary["total_steps"]  # no restart from 0
    # The rows stay on the run's own grid: the first step past each 500 (16 envs a step).
    assert all(step % 500 < 16 for step in steps[:-1])
    resumed = [row for row in progress_rows(run_dir) if int(row["step"]) > stopped_at]
    # Epsilon carries on from the schedule of the new total, below its start.
    assert float(resumed[0]["epsilon"]) < 1.0
    assert summary["train_episodes"] > stopped["episodes"]["episode_count"]
    final = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    optimizer = final["learner"]["optimizer"]
    assert optimizer["param_groups"][0]["lr"] == 5e-4
    # Adam's step count carries on from the checkpoint's: one update every 4 steps once the
    # buffer has refilled (200 steps), but for those due at the last env step (16 envs), which
    # would be taken before the next.
    before = float(stopped["learner"]["optimizer"]["state"][0]["step"])
    assert before > 0 and float(optimizer["state"][0]["step"]) >= before + (2000 - 200 - 16) // 4


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    result = _dqn(
        "--learning-rate", "1e38", "--learning-starts", "2000", "--checkpoint-frequency", "1000",
        "--total-timesteps", "6000", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert result.returncode == 1
    assert "training stopped" in result.stderr and "last good checkpoint" in result.stderr
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["global_step"] < 3000
    assert all(value.isfinite().all() for value in checkpoint["learner"]["q_network"].values())


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("short") / "run"
    result = _dqn(*SHORT_CATCH, "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stderr
    return run_dir


def test_evaluate_in_a_human_window(short_run):
    result = _dqn("--evaluate", str(short_run / "checkpoint.pt"), "--episodes", "2",
                  "--render", "human")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "evaluation over 2 episode(s): mean return" in result.stdout


def test_evaluate_records_videos(short_run, tmp_path):
    video_dir = tmp_path / "video"
    result = _dqn("--evaluate", str(short_run), "--episodes", "2", "--video", str(video_dir))
    assert result.returncode == 0, result.stderr
    assert "evaluation over 2 episode(s)" in result.stdout
    assert f"videos of the episodes in {video_dir}" in result.stderr
    assert "UserWarning" not in result.stderr
    # Named for the env and the evaluation's seed (the run's seed, 1, + 10,000).
    assert sorted(path.name for path in video_dir.iterdir()) == [
        f"Catch-v0-seed10001-episode-{episode}.mp4" for episode in (0, 1)
    ]
    again = _dqn("--evaluate", str(short_run), "--episodes", "1", "--video", str(video_dir))
    assert again.returncode == 2  # never over the videos already there
    assert f"--video {video_dir} already holds 2 video(s)" in again.stderr


def test_evaluate_on_another_env_is_refused(short_run):
    result = _dqn("--evaluate", str(short_run), "--env", "ALE/Pong-v5", "--episodes", "1")
    assert result.returncode == 2
    assert "does not fit the env and network asked for" in result.stderr
    assert "trained on Catch-v0" in result.stderr  # the run's env, not the one asked for
