"""--save-buffer: both agents keep the replay buffer beside the checkpoint and --resume restores
it (ours: replay.npz; SB3's: its own save_replay_buffer)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_python


@pytest.mark.parametrize(("agent", "replay"), [("dqn", "replay.npz"), ("sb3_dqn", "replay.pkl")])
def test_resume_restores_the_saved_replay_buffer(agent, replay, tmp_path):
    run_dir = tmp_path / agent
    first = run_python(
        "-m", f"agents.{agent}", "--total-timesteps", "2000", "--learning-starts", "500",
        "--save-buffer", "--episodes", "1", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert (run_dir / replay).is_file()
    second = run_python("-m", f"agents.{agent}", "--resume", str(run_dir), "--total-timesteps",
                        "3000", "--episodes", "1")  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr and "Traceback" not in second.stderr
    assert json.loads((run_dir / "summary.json").read_text())["total_steps"] >= 3000
    if agent == "dqn":
        assert f"restored the replay buffer from {run_dir / replay}" in second.stderr
        with np.load(run_dir / replay, allow_pickle=True) as saved:
            # 16 streams: the buffer now holds the transitions of both parts of the run.
            assert saved["positions"].sum() > 3000
