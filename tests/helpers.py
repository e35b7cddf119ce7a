"""Helpers the tests share."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, cwd: Path = REPO_ROOT, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Runs `python *args` in a fresh interpreter and returns the finished process."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def interrupted_once_learning(*args: str) -> str:
    """Starts `python *args` (a training command), sends SIGINT once its first progress line says
    learning is under way, checks that it exits 130 and returns its stderr."""
    process = subprocess.Popen(
        [sys.executable, *args], cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    for line in process.stderr:
        if line.startswith("step "):  # the first progress line: learning is under way
            break
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 130, err
    return err


def wait_for_file(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    """Waits until `path` exists (a marker a run writes), while `process` runs, for at most
    `seconds`; fails with the process's output if it never appears."""
    deadline = time.monotonic() + seconds
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), process.communicate(timeout=60)


def train_runs(root: Path, agents: tuple[str, ...], *flags: str) -> dict[str, Path]:
    """Each of `agents` (`python -m agents.<name> *flags`) trained in its own run directory under
    `root`, by name."""
    runs = {}
    for agent in agents:
        runs[agent] = root / agent
        result = run_python("-m", f"agents.{agent}", *flags, "--run-dir", str(runs[agent]))
        assert result.returncode == 0, result.stderr
    return runs


def summary_of(run_dir: Path) -> dict:
    """A run's summary.json."""
    return json.loads((run_dir / "summary.json").read_text())


def progress_rows(run_dir: Path) -> list[dict]:
    """A run's progress.csv, a dict of strings per row."""
    with open(run_dir / "progress.csv", newline="") as file:
        return list(csv.DictReader(file))
