"""No lost work: a run killed (SIGKILL), terminated (SIGTERM) or interrupted twice in a row (a
double Ctrl-C, the second during the save the first starts) resumes from its last checkpoint, and
its progress.csv, TensorBoard events and summary count every step and episode once."""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from helpers import REPO_ROOT
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

TOTAL = 24_000
FLAGS = ["--total-timesteps", str(TOTAL), "--log-frequency", "500", "--checkpoint-frequency",
         "3000", "--learning-starts", "500", "--save-buffer", "--episodes", "2"]  # fmt: skip


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agents.dqn", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(run_dir: Path) -> list[dict]:
    path = run_dir / "progress.csv"
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def _wait_for_step(process: subprocess.Popen, run_dir: Path, step: int) -> None:
    """Waits until the run has logged a row past `step` (and is still running)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = _rows(run_dir)
        if rows and int(rows[-1]["step"]) > step:
            return
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    raise AssertionError(f"the run did not reach step {step} in time")


def _checkpoint_step(run_dir: Path) -> int:
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["global_step"]


def _resume(run_dir: Path) -> subprocess.Popen:
    return _start("--resume", str(run_dir))


def test_killed_terminated_and_double_interrupted_runs_lose_and_repeat_nothing(tmp_path):
    run_dir = tmp_path / "run"

    # SIGKILL between two checkpoints: the last one is where the run goes on from.
    process = _start(*FLAGS, "--run-dir", str(run_dir))
    _wait_for_step(process, run_dir, 7_000)
    process.kill()
    process.wait(timeout=30)
    saved = _checkpoint_step(run_dir)
    assert 3_000 <= saved < int(_rows(run_dir)[-1]["step"])  # steps past it are logged

    # SIGTERM: it saves where it is, says so, and exits 143.
    process = _resume(run_dir)
    _wait_for_step(process, run_dir, saved + 2_000)
    process.send_signal(signal.SIGTERM)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 128 + signal.SIGTERM, err
    assert f"resuming {run_dir} at step {saved:,}" in err
    (stopped,) = re.findall(r"stopped by SIGTERM; saved the checkpoint at step ([\d,]+)", err)
    assert int(stopped.replace(",", "")) == _checkpoint_step(run_dir) > saved

    # Ctrl-C twice, 20 ms apart: the second waits for the save the first started.
    process = _resume(run_dir)
    saved = _checkpoint_step(run_dir)
    _wait_for_step(process, run_dir, saved + 2_000)
    process.send_signal(signal.SIGINT)
    time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 128 + signal.SIGINT, err
    (stopped,) = re.findall(r"stopped by SIGINT; saved the checkpoint at step ([\d,]+)", err)
    assert "with its replay buffer" in err and "Traceback" not in err
    saved = _checkpoint_step(run_dir)
    assert int(stopped.replace(",", "")) == saved
    (replay,) = run_dir.glob("replay-*.npz")  # the checkpoint's own buffer, and no other
    assert replay.name == f"replay-{saved:012d}.npz"

    # To the end, then everything counts each step and each episode once.
    process = _resume(run_dir)
    err = process.stderr.read()
    assert process.wait(timeout=180) == 0, err
    assert f"restored the replay buffer from {replay}" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert TOTAL <= summary["total_steps"] < TOTAL + 16
    steps = [int(row["step"]) for row in _rows(run_dir)]
    assert steps == sorted(set(steps)) and steps[-1] == summary["total_steps"]
    # No gap: a row every 500 steps (16 envs may pass it by 15), but where a run resumed from a
    # checkpoint between two rows, the next row comes 500 steps after the checkpoint.
    assert all(b - a <= 2 * 500 + 15 for a, b in itertools.pairwise(steps))
    events = EventAccumulator(str(run_dir)).Reload()
    assert [event.step for event in events.Scalars("charts/SPS")] == steps
    episodes = events.Scalars("charts/episodic_return")
    assert len(episodes) == summary["train_episodes"] == int(_rows(run_dir)[-1]["episodes"])
    assert [event.step for event in episodes] == sorted(event.step for event in episodes)
