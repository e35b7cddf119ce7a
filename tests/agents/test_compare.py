"""`python -m agents.compare` run here, and plugin agents: a third-party agent declared through
the `dqn_arcade.agents` entry-point group is listed, run by name and compared; a grid refuses
what cannot run before it starts, resumes, and writes what finished when interrupted. (On Ray:
test_compare_ray.py.)"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest
from helpers import REPO_ROOT, wait_for_file
from plugin_agents import install_plugins

from agents.common.cli import UsageError
from agents.compare.__main__ import main as compare_main
from agents.compare.grid import grid_lock, prepare_out_dir


def _with_plugin(site: Path) -> dict[str, str]:
    """An environment in which an installed distribution declares the `tiny` agent (and the
    other plugin agents of `plugin_agents`)."""
    return {**os.environ, "PYTHONPATH": install_plugins(site)}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_a_plugin_agent_is_listed_and_compared_with_ours(tmp_path):
    env = _with_plugin(tmp_path / "site")
    listing = _run("-m", "registry", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "tiny                 tiny_agent:main" in listing.stdout
    assert "plugin from tiny-agent" in listing.stdout

    out_dir = tmp_path / "compare"
    result = _run("-m", "agents.compare", "--env", "Catch-v0", "--agents", "dqn", "tiny",
                  "--seeds", "2", "--total-timesteps", "3000", "--threshold", "0.5",
                  "--out-dir", str(out_dir), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    table = (out_dir / "Catch-v0.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.count("|") > 7}
    assert set(rows) >= {"dqn", "tiny"}
    assert "| 2 |" in rows["dqn"] and "| 2 |" in rows["tiny"]
    assert "not reached (0/2)" in rows["tiny"]  # a random player never catches half the fruit
    assert rows["dqn"] in result.stdout
    for agent in ("dqn", "tiny"):
        assert (out_dir / "Catch-v0" / f"{agent}__seed1" / "summary.json").is_file()

    image = matplotlib.image.imread(out_dir / "Catch-v0.png")[..., :3]
    assert image.shape[0] > 300 and image.shape[1] > 800
    # Both curves are drawn, in matplotlib's first two colours (an empty plot has neither).
    for colour in ("#1f77b4", "#ff7f0e"):
        rgb = np.array(matplotlib.colors.to_rgb(colour))
        assert (np.abs(image - rgb).max(axis=-1) < 0.05).sum() > 500, colour


def test_compare_refuses_unknown_agents_and_a_used_out_dir(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = _run("-m", "agents.compare", "--agents", "nope", env=env)
    assert result.returncode == 2 and "no agent named ['nope']" in result.stderr
    (tmp_path / "x").write_text("")
    result = _run("-m", "agents.compare", "--out-dir", str(tmp_path), env=env)
    assert result.returncode == 2 and "is not an empty directory" in result.stderr
    assert "Traceback" not in result.stderr


def _results(out_dir: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    """results.csv's rows by (env, agent, seed)."""
    with open(out_dir / "results.csv", newline="") as file:
        return {(r["env"], r["agent"], r["seed"]): r for r in csv.DictReader(file)}


def _refusal(argv: list[str]) -> str:
    """The UsageError `python -m agents.compare *argv` stops with (one line, exit status 2)."""
    with pytest.raises(UsageError) as refused:
        compare_main(argv)
    assert "\n" not in str(refused.value)
    return str(refused.value)


def test_an_env_an_agent_cannot_take_is_refused_before_any_run(tmp_path):
    out_dir = tmp_path / "compare"
    why = _refusal(["--env", "Catch-v0", "Pendulum-v1", "--agents", "dqn", "sb3_dqn",
                    "--out-dir", str(out_dir)])  # fmt: skip
    assert "dqn and sb3_dqn cannot take Pendulum-v1" in why and "discrete action space" in why
    assert not out_dir.exists()
    why = _refusal(["--env", "Catch-v0", "registry:Catch-v0", "--out-dir", str(out_dir)])
    assert why == "--env names Catch-v0 more than once; name each once"


def test_the_ray_flags_need_ray_and_a_missing_ray_is_one_line(tmp_path, monkeypatch):
    out_dir = tmp_path / "compare"
    why = _refusal(["--gpus-per-run", "1", "--max-retries", "1", "--out-dir", str(out_dir)])
    assert why == "--gpus-per-run, --max-retries go with --ray; runs here take --jobs"
    for bad in (["--cpus-per-run", "nan"], ["--cpus-per-run", "0"], ["--gpus-per-run", "inf"]):
        why = _refusal(["--ray", *bad, "--out-dir", str(out_dir)])
        assert why.startswith("--cpus-per-run must be above 0"), why
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    why = _refusal(["--ray", "--out-dir", str(out_dir)])
    assert why == '--ray needs Ray, which is not installed here: pip install "dqn-arcade[ray]"'
    assert not out_dir.exists()


def test_a_grid_another_command_is_running_is_left_alone(tmp_path):
    out_dir = tmp_path / "compare"
    grid = ["--env", "Catch-v0", "--agents", "dqn", "--seeds", "1", "--out-dir", str(out_dir)]
    prepare_out_dir(out_dir, [])
    under_way = out_dir / "Catch-v0" / "dqn__seed1"  # the other command's run, not finished
    under_way.mkdir(parents=True)
    (under_way / "progress.csv").write_text("step\n")
    with grid_lock(out_dir):  # as the other command holds it
        why = _refusal(grid)
    assert why.startswith(f"another agents.compare is running the grid in {out_dir}")
    assert (under_way / "progress.csv").is_file()


def test_a_grid_resumes_runs_only_what_did_not_finish(tmp_path):
    env = _with_plugin(tmp_path / "site")
    out_dir = tmp_path / "compare"
    grid = ("-m", "agents.compare", "--env", "Catch-v0", "CartPole-v1", "--agents", "tiny",
            "--total-timesteps", "1000", "--out-dir", str(out_dir))  # fmt: skip
    result = _run(*grid, "--seeds", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert set(_results(out_dir)) == {("Catch-v0", "tiny", "1"), ("CartPole-v1", "tiny", "1")}
    finished = out_dir / "Catch-v0" / "tiny__seed1" / "summary.json"
    before = finished.read_text(), finished.stat().st_mtime_ns
    half_done = out_dir / "CartPole-v1" / "tiny__seed2"  # as an interrupted run leaves it
    half_done.mkdir()
    (half_done / "progress.csv").write_text("step\n")

    result = _run(*grid, "--seeds", "2", env=env)
    assert result.returncode == 0, result.stderr
    assert "4 runs under" in result.stderr
    assert "2 finished already (not run again), 2 to run, 1 of them afresh" in result.stderr
    assert (finished.read_text(), finished.stat().st_mtime_ns) == before
    rows = _results(out_dir)
    assert len(rows) == 4 and {row["status"] for row in rows.values()} == {"done"}
    assert (half_done / "summary.json").is_file()
    assert "| tiny | 2 |" in (out_dir / "CartPole-v1.md").read_text()

    result = _run(*grid[:-4], "--total-timesteps", "500", "--out-dir", str(out_dir), env=env)
    assert result.returncode == 2
    assert "took --total-timesteps 1000, not --total-timesteps 500" in result.stderr


def test_sigterm_stops_the_runs_and_writes_the_tables_of_what_finished(tmp_path):
    """As Ctrl-C does (the Ray test sends that): both are `Stop` signals."""
    env = _with_plugin(tmp_path / "site")
    markers = tmp_path / "markers"
    markers.mkdir()
    env["SLEEPY_MARKER_DIR"] = str(markers)
    out_dir = tmp_path / "compare"
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.compare", "--env", "Catch-v0", "--agents", "tiny",
         "sleepy", "--seeds", "1", "--jobs", "1", "--total-timesteps", "1000", "--out-dir",
         str(out_dir)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    marker = markers / "sleepy-seed1.pid"
    wait_for_file(marker, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM: the tables hold the runs that finished" in stderr
    rows = _results(out_dir)
    assert rows["Catch-v0", "tiny", "1"]["status"] == "done"
    assert rows["Catch-v0", "sleepy", "1"]["status"] == "cancelled"
    assert "| tiny | 1 |" in (out_dir / "Catch-v0.md").read_text()
    assert "| tiny | 1 |" in stdout
    # The run got a SIGINT from the driver, and ended.
    assert not Path(f"/proc/{marker.read_text()}").exists()
