"""benchmarks/pqn_pong_hour.py: a run that fails is never reported as the result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pqn_pong_hour.py"


def test_a_run_that_fails_reports_nothing_of_the_older_run_in_its_directory(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"an older run")  # the agent refuses to overwrite it
    (run_dir / "progress.csv").write_text("step,wall_seconds,mean_return_last_100\n1,1.0,20.0\n")
    figure = tmp_path / "pong.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--run-dir", str(run_dir), "--figure", str(figure)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "holds another run" in result.stderr  # the agent's own reason
    assert "the run failed (exit status 2" in result.stderr
    assert not figure.exists() and "+18 within" not in result.stdout
