"""A Ray head on this machine bound to 127.0.0.1 only: the Ray path without a cluster, for the
tests and benchmarks/ray_overhead.py.

    with LoopbackHead(num_cpus=2) as head:
        head.wait_until_up()
        subprocess.run([..., "-m", "agents.compare", "--ray", head.address], env=head.environment)

`ray start --head --node-ip-address 127.0.0.1` alone is not enough: Ray replaces a loopback
--node-ip-address by the machine's routable address (`ray._private.services.
resolve_ip_for_localhost`), and its servers then listen on every interface, unless
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, its single-machine mode (the default on macOS and Windows),
which the drivers need too (`environment`). Its session files go to a temporary --temp-dir, and
`stop` ends the `ray start --block` that started it, then what is left of what it started:
`ray stop` would stop every Ray instance on the machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
LOOPBACK_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""Ray's single-machine mode (its servers on 127.0.0.1), and no usage statistics sent."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def process_state(pid: int) -> str | None:
    """The state letter of process `pid` ("Z": a zombie), None if there is none (Linux)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def ended(pid: int) -> bool:
    return process_state(pid) in (None, "Z")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        found.append(queue.pop())
        queue.extend(children.get(found[-1], []))
    return found


class LoopbackHead:
    """`ray start --head --block` on 127.0.0.1 with `num_cpus` CPUs, started at once; its
    address is `address`, and drivers run with `environment`."""

    def __init__(self, num_cpus: int, environment: dict[str, str] | None = None) -> None:
        # A short path: Ray's Unix sockets live under it, and a socket path has at most 107 bytes.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
        self.address = f"{LOOPBACK}:{free_port()}"
        others = ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")  # another cluster's, not this head's
        base = {k: v for k, v in (environment or os.environ).items() if k not in others}
        # Ray's token authentication with a token of its own, shared by the head and its drivers:
        # by default Ray takes ~/.ray/auth_token, which may hold another Ray's token.
        auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        # TMPDIR: the tasks' temporary directories go with the head's when it stops.
        self.environment = {**base, **LOOPBACK_ENVIRONMENT, **auth, "TMPDIR": str(self.temp_dir)}
        self.log = self.temp_dir / "head.log"
        command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                   "--node-ip-address", LOOPBACK, "--port", self.address.rpartition(":")[2],
                   "--num-cpus", str(num_cpus), "--include-dashboard=false",
                   "--disable-usage-stats", "--ray-client-server-port", str(free_port()),
                   "--temp-dir", str(self.temp_dir)]  # fmt: skip
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                command,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_up(self, timeout: float = 90) -> None:
        """Returns once the head is up; RuntimeError if it exits or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no Ray head: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def processes(self) -> list[int]:
        """`ray start` and everything it started (Ray's servers, its workers)."""
        return descendants(self.process.pid)

    def stop(self) -> None:
        """SIGTERM to `ray start --block`, which stops what it started; SIGKILL to what is left
        of that after a bounded wait."""
        started = self.processes()
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=40)
        deadline = time.monotonic() + 10
        while not all(ended(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                if not ended(pid):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LoopbackHead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
