"""The Ray runner: each run a Ray task, on whatever cluster `ray.init` connects to.

`--ray ADDRESS` connects to the cluster there, which must be up (`--ray auto`: the one `ray start`
last started on this machine). `--ray` alone connects to the cluster RAY_ADDRESS names, else
starts a Ray instance of its own on this machine, which ends with the command and listens on
127.0.0.1 only (Ray's single-machine mode: a new instance of Ray's own listens on every
interface).

Each run is a task (`execute.run_on_worker`) holding --cpus-per-run CPUs and --gpus-per-run GPUs
(a GPU run is given `--device cuda`). It runs the agent's process in a temporary directory of its
worker and returns the run's files as bytes, which the driver writes into the run's directory
under --out-dir: the nodes need no shared file system. Each node needs the same Python and
dqn-arcade with its dependencies (`pip install "dqn-arcade[ray]"`); with the dependencies there,
--ray-working-dir DIR ships a checkout as the job's runtime environment (`working_dir`).

A task whose worker dies (the process killed, its node lost, Ray's memory monitor) is submitted
again, up to --max-retries times, each retry a line on stderr and counted in the run's attempts
(results.csv, the table). The driver resubmits it itself, with Ray's own `max_retries` at 0: Ray
retries out of the caller's sight (`ray.get` returns the last attempt's result, and a task's
runtime context has no attempt number), and a retry that is not seen cannot be reported. A run
whose process exits with an error has failed, and is not retried: it would fail again.

Ctrl-C cancels the tasks under way (`ray.cancel(force=True)`: Ray ends the worker, and the run's
process with it) and those not started.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.common.checkpoints import STOP_SIGNALS
from agents.common.cli import UsageError
from agents.common.files import atomic_write
from agents.compare import execute
from agents.compare.grid import Run
from agents.compare.ray_head import LOOPBACK_ENVIRONMENT

INSTALL = 'pip install "dqn-arcade[ray]"'


def import_ray() -> Any:
    """The `ray` module, or a UsageError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def check_answers(address: str | None) -> None:
    """A UsageError if nothing listens at the HOST:PORT that `ray.init` would connect to (this
    address, or RAY_ADDRESS), where Ray itself would retry for minutes; other forms ("auto",
    "ray://...", none) are left to Ray."""
    target = address or os.environ.get("RAY_ADDRESS")
    host, _, port = (target or "").rpartition(":")
    if not host or not port.isdigit() or "://" in target:
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise UsageError(
            f"no Ray cluster answers at {target} ({error.strerror or error}); start one there "
            f"with `ray start --head --port {port}`, or give the address of one that is up"
        ) from None


class RayRunner:
    """Runs the runs as Ray tasks: all submitted at once (Ray queues them for resources), or
    at most `jobs` in flight."""

    def __init__(
        self,
        address: str | None,
        cpus_per_run: float,
        gpus_per_run: float,
        max_retries: int,
        jobs: int | None = None,
        working_dir: Path | None = None,
        keep_checkpoints: bool = True,
    ) -> None:
        if address is None and not os.environ.get("RAY_ADDRESS"):
            # A Ray instance of the command's own, on 127.0.0.1: Ray reads this at import.
            os.environ.update(LOOPBACK_ENVIRONMENT)
            address = "local"
        self.ray = import_ray()
        check_answers(address)
        self.address = address
        self.cpus, self.gpus = cpus_per_run, gpus_per_run
        self.max_retries = max_retries
        self.jobs = jobs
        self.working_dir = working_dir
        self.keep_checkpoints = keep_checkpoints
        self.cluster = "a Ray cluster"
        # The task goes to the workers by value, so that one without dqn-arcade can say so.
        self.ray.cloudpickle.register_pickle_by_value(execute)

    def describe(self) -> str:
        return (
            f"on {self.cluster}, {self.cpus:g} CPU(s) and {self.gpus:g} GPU(s) a run, up to "
            f"{self.max_retries} retries of a run whose worker dies"
        )

    def connect(self) -> None:
        """`ray.init`, and a warning when no node has the resources a run asks for."""
        ray = self.ray
        runtime_env = {"working_dir": str(self.working_dir)} if self.working_dir else None
        where = self.address or "RAY_ADDRESS, or on this machine"
        # ray.init sets a SIGTERM handler of its own (sys.exit), which would end the command
        # without the tables of the runs that finished: the command's own handlers stay.
        handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
        try:
            ray.init(
                address=self.address,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        except (ConnectionError, ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise UsageError(f"cannot connect to a Ray cluster ({where}): {reason}") from None
        finally:
            if threading.current_thread() is threading.main_thread():
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        total = ray.cluster_resources()
        self.cluster = (
            f"the Ray cluster at {ray.get_runtime_context().gcs_address} ({len(nodes)} node(s), "
            f"{total.get('CPU', 0):g} CPUs, {total.get('GPU', 0):g} GPUs)"
        )
        if not any(
            node["Resources"].get("CPU", 0) >= self.cpus
            and node["Resources"].get("GPU", 0) >= self.gpus
            for node in nodes
        ):
            print(
                f"warning: no node of {self.cluster} has the {self.cpus:g} CPU(s) and "
                f"{self.gpus:g} GPU(s) a run asks for: the runs wait until one joins",
                file=sys.stderr,
            )

    def run(self, runs: list[Run], finished: Callable[[Run], None]) -> None:
        ray = self.ray
        self.connect()
        task = ray.remote(execute.run_on_worker).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0, retry_exceptions=False
        )
        threads = max(1, int(self.cpus))
        queue, pending = deque(runs), {}

        def submit(run: Run) -> None:
            run.attempts += 1
            pending[task.remote(run.agent, run.flags, threads, self.keep_checkpoints)] = run

        try:
            while queue or pending:
                while queue and (self.jobs is None or len(pending) < self.jobs):
                    submit(queue.popleft())
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    run = pending.pop(ref)
                    if self._collect(ref, run):
                        finished(run)
                    else:
                        submit(run)
        except BaseException as error:
            for ref, run in pending.items():
                ray.cancel(ref, force=True)
                run.status = "cancelled"
            if isinstance(error, KeyboardInterrupt):
                for run in [*pending.values(), *queue]:
                    finished(run)
            raise
        finally:
            ray.shutdown()

    def _collect(self, ref: Any, run: Run) -> bool:
        """Takes the outcome of `run`'s task into it; False if the run is to be tried again."""
        exceptions = self.ray.exceptions
        worker_lost = (
            exceptions.WorkerCrashedError,
            exceptions.NodeDiedError,
            exceptions.OutOfMemoryError,
            exceptions.ObjectLostError,
        )
        try:
            result = self.ray.get(ref)
        except worker_lost as error:
            run.reasons.append(f"attempt {run.attempts}: its worker died ({type(error).__name__})")
            if run.attempts <= self.max_retries:
                print(
                    f"  {run.name}: its worker died ({type(error).__name__}); retrying, attempt "
                    f"{run.attempts + 1} of {self.max_retries + 1}",
                    file=sys.stderr,
                )
                return False
            run.status = "crashed"
            return True
        except exceptions.RuntimeEnvSetupError as error:
            reason = str(error).strip().splitlines()[-1]
            raise UsageError(f"Ray cannot set up the runtime environment: {reason}") from None
        except exceptions.RayTaskError as error:  # the task itself raised
            reason = f"the task raised {type(error.cause).__name__}: {error.cause}"
            run.run_dir.mkdir(parents=True, exist_ok=True)
            (run.run_dir / "log.txt").write_text(f"{error}\n")
            run.status, run.reasons = "failed", [reason]
            return True
        run.node = result["node"]
        if execute.WORKER_IMPORT_ERROR in result:
            raise UsageError(
                f"the Ray worker on {run.node} cannot import dqn-arcade "
                f"({result[execute.WORKER_IMPORT_ERROR]}): install it on every node ({INSTALL}), "
                "or, where its dependencies are installed, ship a checkout: --ray-working-dir DIR"
            )
        self._write_back(run, result)
        run.conclude(result["exit_code"], result["peak_mib"])
        return True

    @staticmethod
    def _write_back(run: Run, result: dict[str, Any]) -> None:
        """The run's files from the worker into its run directory, summary.json last (a run
        directory with a summary is a finished run); config.json names the run's directory
        here, where its files now are."""
        run.run_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, bytes] = result["files"]
        for name in sorted(files, key=lambda name: name == "summary.json"):
            data = files[name]
            if name == "config.json":
                config = json.loads(data)
                if config.get("run_dir") == result["worker_run_dir"]:
                    config["run_dir"] = str(run.run_dir)
                data = (json.dumps(config, indent=2) + "\n").encode()
            path = run.run_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda file, data=data: file.write(data))
