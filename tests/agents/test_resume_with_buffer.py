"""--save-buffer: both agents keep the replay buffer beside the checkpoint, in a file the
checkpoint names, and --resume restores it (ours: replay-<step>.npz; SB3's: its own
save_replay_buffer, replay-<step>.pkl)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_python


@pytest.mark.parametrize(("agent", "suffix"), [("dqn", "npz"), ("sb3_dqn", "pkl")])
def test_resume_restores_the_saved_replay_buffer(agent, suffix, tmp_path):
    run_dir = tmp_path / agent
    first = run_python(
        "-m", f"agents.{agent}", "--total-timesteps", "2000", "--learning-starts", "500",
        "--save-buffer", "--episodes", "1", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    stopped = json.loads((run_dir / "summary.json").read_text())["total_steps"]
    assert [path.name for path in run_dir.glob("replay-*")] == [f"replay-{stopped:012d}.{suffix}"]
    second = run_python("-m", f"agents.{agent}", "--resume", str(run_dir), "--total-timesteps",
                        "3000", "--episodes", "1")  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr and "Traceback" not in second.stderr
    resumed = json.loads((run_dir / "summary.json").read_text())["total_steps"]
    assert resumed >= 3000
    (replay,) = run_dir.glob("replay-*")  # the newer checkpoint's buffer only
    assert replay.name == f"replay-{resumed:012d}.{suffix}"
    assert "refill" not in second.stderr
    if agent == "dqn":
        assert f"restored the replay buffer from {run_dir / f'replay-{stopped:012d}.npz'}" in (
            second.stderr
        )
        with np.load(replay) as saved:
            # 16 streams: the buffer now holds the transitions of both parts of the run.
            assert saved["positions"].sum() > 3000
