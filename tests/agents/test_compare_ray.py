"""`python -m agents.compare --ray ADDRESS` against a real Ray head on this machine.

The head is bound to the loopback interface only (`agents.compare.ray_head`, which says how, and
how it is stopped without `ray stop`, which would stop every Ray instance on the machine);
`test_the_grid_comes_back_from_ray_as_it_runs_here` checks that every socket the head's processes
listen on is a loopback one.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO_ROOT, wait_for_file
from plugin_agents import install_plugins

from agents.common.cli import UsageError
from agents.common.runs import TIMING_KEYS
from agents.compare.__main__ import main as compare_main
from agents.compare.ray_head import LOOPBACK, LoopbackHead, descendants, ended, free_port

GRID = ("--env", "Catch-v0", "CartPole-v1", "--agents", "dqn", "tiny", "--seeds", "1",
        "--total-timesteps", "300")  # fmt: skip
MEASURED = {*TIMING_KEYS, "peak_mib", "node", "run_dir"}
"""results.csv columns that differ between two runs of the same seed, or between places."""


def _listening_addresses(pids: list[int]) -> set[str]:
    """The local addresses of the TCP sockets these processes listen on."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                addresses.add(_address(fields[1].partition(":")[0]))
    return addresses


def _address(hex_ip: str) -> str:
    """/proc/net/tcp's hex address (32-bit words in host order) as text."""
    raw = b"".join(
        int(hex_ip[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(hex_ip), 8)
    )
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


@pytest.fixture(scope="module")
def markers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `crashy` and `sleepy` leave their pids."""
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory, markers: Path) -> Iterator[LoopbackHead]:
    """A head on 127.0.0.1 (started, not waited for) whose workers see the plugin agents."""
    environment = {
        **os.environ,
        "PYTHONPATH": install_plugins(tmp_path_factory.mktemp("site")),
        "CRASHY_MARKER_DIR": str(markers),
        "SLEEPY_MARKER_DIR": str(markers),
    }
    with LoopbackHead(num_cpus=2, environment=environment) as started:
        yield started


def _compare(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agents.compare", *args], cwd=REPO_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)  # fmt: skip


def _results(out_dir: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    with open(out_dir / "results.csv", newline="") as file:
        return {(r["env"], r["agent"], r["seed"]): r for r in csv.DictReader(file)}


def _without(mapping: dict, keys: set[str] | tuple[str, ...]) -> dict:
    return {key: value for key, value in mapping.items() if key not in keys}


def _progress(run_dir: Path) -> list[dict[str, str]]:
    """progress.csv's rows, without the columns that time the run."""
    with open(run_dir / "progress.csv", newline="") as file:
        return [_without(row, TIMING_KEYS) for row in csv.DictReader(file)]


def _files(run_dir: Path) -> set[str]:
    """The run's files, the TensorBoard events file by its prefix (its name has a time and pid)."""
    return {
        "events.out.tfevents" if path.name.startswith("events.out.tfevents") else path.name
        for path in run_dir.iterdir()
    }


def test_the_grid_comes_back_from_ray_as_it_runs_here(tmp_path, head):
    # The grid here first, while the head starts.
    local = _compare(*GRID, "--out-dir", str(tmp_path / "local"), environment=head.environment)
    assert local.returncode == 0, local.stderr
    head.wait_until_up()

    result = _compare(*GRID, "--ray", head.address, "--out-dir", str(tmp_path / "ray"),
                      environment=head.environment)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        f"on the Ray cluster at {head.address} (1 node(s), 2 CPUs, 0 GPUs)"
        in (tmp_path / "ray" / "Catch-v0.md").read_text()
    )

    here, there = _results(tmp_path / "local"), _results(tmp_path / "ray")
    assert set(here) == set(there) and len(here) == 4
    for key, row in there.items():
        assert row["status"] == "done" and row["attempts"] == "1" and row["node"] != "local"
        assert float(row["peak_mib"]) > 50  # sampled on the worker
        assert _without(row, MEASURED) == _without(here[key], MEASURED)
        local_dir, ray_dir = Path(here[key]["run_dir"]), Path(row["run_dir"])
        assert ray_dir == tmp_path / "ray" / local_dir.relative_to(tmp_path / "local")
        assert _files(ray_dir) == _files(local_dir)
        assert {"log.txt", "summary.json", "progress.csv", "compare.json"} <= _files(ray_dir)
        if key[1] == "dqn":
            assert {"events.out.tfevents", "learning_curve.png", "checkpoint.pt"} <= _files(ray_dir)
        summaries = [json.loads((d / "summary.json").read_text()) for d in (local_dir, ray_dir)]
        assert summaries[0].keys() == summaries[1].keys()
        assert _without(summaries[0], TIMING_KEYS) == _without(summaries[1], TIMING_KEYS)
        assert _progress(ray_dir) == _progress(local_dir)
        if key[1] == "dqn":  # the config it ran with, which names the run's directory here
            configs = [json.loads((d / "config.json").read_text()) for d in (local_dir, ray_dir)]
            assert configs[1].pop("run_dir") == str(ray_dir)
            assert configs[0].pop("run_dir") == str(local_dir)
            assert configs[0] == configs[1]
    for name in ("Catch-v0.md", "Catch-v0.png", "CartPole-v1.md", "CartPole-v1.png"):
        assert (tmp_path / "ray" / name).is_file()

    listening = _listening_addresses(head.processes())
    assert listening and listening <= {LOOPBACK, f"::ffff:{LOOPBACK}"}, listening


@dataclass
class Interrupted:
    out_dir: Path
    signum: int
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module", params=[signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def interrupted(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    markers: Path,
    head: LoopbackHead,
) -> Interrupted:
    """A grid run through the head one run at a time: `crashy`, which kills its worker on its
    first attempt (and is then tiny), then `sleepy`, which waits until a stop (Ctrl-C's SIGINT,
    or SIGTERM, whose handler ray.init replaces with its own) to the driver ends the grid."""
    head.wait_until_up()
    out_dir = tmp_path_factory.mktemp("interrupted") / "ray"
    for marker in ("crashy-seed1.pid", "sleepy-seed1.pid"):  # the other stop's grid's
        (markers / marker).unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.compare", "--env", "Catch-v0", "--agents", "crashy",
         "sleepy", "--seeds", "1", "--total-timesteps", "500", "--no-checkpoints",
         "--max-retries", "1", "--jobs", "1", "--ray", head.address, "--out-dir", str(out_dir)],
        cwd=REPO_ROOT, env=head.environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    wait_for_file(markers / "sleepy-seed1.pid", process)
    process.send_signal(request.param)
    stdout, stderr = process.communicate(timeout=120)
    return Interrupted(out_dir, request.param, process.returncode, stdout, stderr)


def _wait_until_ended(pid: int) -> bool:
    deadline = time.monotonic() + 20
    while not ended(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return ended(pid)


def test_a_run_whose_worker_dies_is_retried_and_the_retry_reported(interrupted, markers):
    assert (
        "Catch-v0 crashy seed 1: its worker died (WorkerCrashedError); retrying, attempt 2 of 2"
        in interrupted.stderr
    )
    assert "Catch-v0 crashy seed 1: done on attempt 2" in interrupted.stderr
    row = _results(interrupted.out_dir)["Catch-v0", "crashy", "1"]
    assert row["status"] == "done" and row["attempts"] == "2"
    table = (interrupted.out_dir / "Catch-v0.md").read_text()
    assert "| crashy | 1 (1 retried) |" in table
    assert "crashy seed 1: done on attempt 2, after attempt 1: its worker died" in table
    assert "| crashy | 1 (1 retried) |" in interrupted.stdout
    run_dir = interrupted.out_dir / "Catch-v0" / "crashy__seed1"
    assert {"summary.json", "progress.csv", "log.txt"} <= _files(run_dir)
    assert not {"checkpoint.pt", "replay-000000000500.npz"} & _files(run_dir)  # --no-checkpoints
    # The first attempt's process went with its worker, and the retry (on the same node) removed
    # the temporary directory that worker left.
    pid, first_run_dir = (markers / "crashy-seed1.pid").read_text().split("\n")
    assert _wait_until_ended(int(pid))
    assert not Path(first_run_dir).parent.exists()


def test_a_stop_cancels_the_ray_runs_and_writes_the_tables_of_what_finished(interrupted, markers):
    name = signal.Signals(interrupted.signum).name
    assert interrupted.returncode == 128 + interrupted.signum, interrupted.stderr
    assert f"stopped by {name}: the tables hold the runs that finished" in interrupted.stderr
    statuses = {key[1]: row["status"] for key, row in _results(interrupted.out_dir).items()}
    assert statuses == {"crashy": "done", "sleepy": "cancelled"}
    assert "| sleepy | 0 (1 not run): see log.txt |" in interrupted.stdout
    assert (interrupted.out_dir / "Catch-v0.png").is_file()
    # Cancelled with its worker.
    assert _wait_until_ended(int((markers / "sleepy-seed1.pid").read_text()))


def test_a_worker_that_cannot_import_dqn_arcade_says_so_in_one_line(tmp_path, head):
    head.wait_until_up()
    # The job's working_dir comes first on the workers' path: its registry.py stands for a node
    # where dqn-arcade is missing.
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "registry.py").write_text('raise ImportError("no dqn-arcade on this node")\n')
    out_dir = tmp_path / "ray"
    result = _compare("--env", "Catch-v0", "--agents", "tiny", "--seeds", "1",
                      "--ray", head.address, "--ray-working-dir", str(shipped),
                      "--out-dir", str(out_dir), environment=head.environment)  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line == (
        f"python -m agents.compare: error: the Ray worker on {socket.gethostname()} cannot "
        "import dqn-arcade (ImportError: no dqn-arcade on this node): install it on every node "
        '(pip install "dqn-arcade[ray]"), or, where its dependencies are installed, ship a '
        "checkout: --ray-working-dir DIR"
    )


def test_an_address_where_no_cluster_answers_is_one_line_before_anything_is_written(tmp_path):
    address = f"{LOOPBACK}:{free_port()}"  # nothing listens there
    out_dir = tmp_path / "ray"
    with pytest.raises(UsageError) as refused:
        compare_main(["--ray", address, "--out-dir", str(out_dir)])
    assert str(refused.value).startswith(f"no Ray cluster answers at {address} (")
    assert not out_dir.exists()


def test_ray_with_no_cluster_named_starts_its_own_on_loopback_only(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    environment.update(
        PYTHONPATH=install_plugins(tmp_path / "site"),
        SLEEPY_MARKER_DIR=str(markers),
        HOME=str(tmp_path),  # where Ray writes the token of a new instance
        RAY_USAGE_STATS_ENABLED="0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.compare", "--env", "Catch-v0", "--agents", "sleepy",
         "--seeds", "1", "--ray", "--out-dir", str(tmp_path / "out")],
        cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_file(markers / "sleepy-seed1.pid", process)
        started = descendants(process.pid)  # the command, its Ray instance and the run
        listening = _listening_addresses(started)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert listening and listening <= {LOOPBACK, f"::ffff:{LOOPBACK}"}, listening
    assert process.returncode == 130, stderr
    assert all(_wait_until_ended(pid) for pid in started)  # Ray ended with the command
