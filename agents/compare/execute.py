"""One run of a grid, as a process: `python -m agents NAME --env ... --seed ... --run-dir DIR`.

Both runners go through `run_agent`: the local one in a thread per run, the Ray one inside the
task (`run_on_worker`), which runs the same process in a temporary directory on the worker and
hands back its files as bytes, so no file system is shared with the driver.

This module imports the standard library only (dqn-arcade in `package_root`, when it runs): Ray
ships `run_on_worker` to the workers by value, so a worker that lacks dqn-arcade still runs it,
and says so (`WORKER_IMPORT_ERROR`) rather than fail to unpickle the task.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORKER_IMPORT_ERROR = "import_error"
"""The key of `run_on_worker`'s result when the worker cannot import dqn-arcade."""
TASK_DIR_PREFIX = "dqn-arcade-run-"
"""The temporary directories of `run_on_worker`, each with the pid of its worker in WORKER_PID."""
WORKER_PID = "worker.pid"


def is_checkpoint(name: str) -> bool:
    """Whether a run's file `name` is its checkpoint or a saved replay buffer (what
    `--no-checkpoints` leaves out)."""
    return name.startswith(("checkpoint.", "replay-"))


def package_root() -> Path:
    """The directory dqn-arcade is imported from here (ImportError if it cannot be)."""
    import registry

    return Path(registry.__file__).resolve().parent


def _child_environment(threads: int) -> dict[str, str]:
    """This process's environment, with `threads` OpenMP threads, and dqn-arcade's directory
    first on PYTHONPATH when it is not an installed copy (a checkout, a Ray working_dir), so the
    run imports the code this process did."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    root = str(package_root())
    installed = {str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("purelib", "platlib")}
    if root not in installed:
        environment["PYTHONPATH"] = os.pathsep.join(
            [root, *filter(None, [environment.get("PYTHONPATH")])]
        )
    return environment


def _peak_kib(pid: int) -> float:
    """The process's resident-set high-water mark (VmHWM, Linux), or NaN where there is none.
    (A child's ru_maxrss is no use: it starts from the parent's size at the fork.)"""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def run_agent(
    agent: str,
    flags: list[str],
    run_dir: Path,
    threads: int,
    *,
    stop: Callable[[], bool] = lambda: False,
    new_session: bool = False,
) -> tuple[int, float]:
    """Runs `python -m agents AGENT *flags --run-dir RUN_DIR`, its output in RUN_DIR/log.txt, and
    returns (its exit status, its peak resident set in MiB, sampled every 0.1 s).

    Once `stop()` is true the run gets one SIGINT (it checkpoints and exits). `new_session` puts
    it in its own session, out of reach of the terminal's Ctrl-C, so that SIGINT is the only one
    it gets; on a Ray worker it stays in the worker's process group, which Ray ends with the
    worker (a cancelled task, a worker that dies)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "agents", agent, *flags, "--run-dir", str(run_dir)]
    peak, stopping = float("nan"), False
    with open(run_dir / "log.txt", "w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_child_environment(threads),
            start_new_session=new_session,
        )
        while process.poll() is None:
            sample = _peak_kib(process.pid)  # a high-water mark: the last reading is the peak
            if not math.isnan(sample):  # NaN once the process has exited
                peak = sample
            if not stopping and stop():
                stopping = True
                process.send_signal(signal.SIGINT)
            time.sleep(0.1)
    return process.returncode, peak / 1024


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc here
        return True


def _remove_abandoned(root: Path) -> None:
    """Removes the task directories under `root` whose worker is gone: a worker that was killed
    (it died, or its task was cancelled) never ran its task's cleanup."""
    for path in root.glob(f"{TASK_DIR_PREFIX}*"):
        try:
            pid = int((path / WORKER_PID).read_text())
        except (OSError, ValueError):  # not written yet, or not ours
            continue
        if not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def run_on_worker(
    agent: str, flags: list[str], threads: int, keep_checkpoints: bool
) -> dict[str, object]:
    """The Ray task: `run_agent` in a temporary directory of the worker, and what it left there
    (first, it removes the directories of tasks whose workers were killed).

    Returns {"exit_code", "peak_mib", "node", "worker_run_dir", "files": {relative path: bytes}}
    (without the checkpoint and replay buffers unless `keep_checkpoints`), or
    {WORKER_IMPORT_ERROR: why, "node"} if this worker cannot import dqn-arcade."""
    node = socket.gethostname()
    try:
        package_root()
    except ImportError as error:
        return {WORKER_IMPORT_ERROR: f"{type(error).__name__}: {error}", "node": node}
    _remove_abandoned(Path(tempfile.gettempdir()))
    temp = Path(tempfile.mkdtemp(prefix=TASK_DIR_PREFIX))
    try:
        (temp / WORKER_PID).write_text(str(os.getpid()))
        run_dir = temp / "run"
        exit_code, peak_mib = run_agent(agent, flags, run_dir, threads)
        files = {
            path.relative_to(run_dir).as_posix(): path.read_bytes()
            for path in sorted(run_dir.rglob("*"))
            if path.is_file() and (keep_checkpoints or not is_checkpoint(path.name))
        }
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return {
        "exit_code": exit_code,
        "peak_mib": peak_mib,
        "node": node,
        "worker_run_dir": str(run_dir),
        "files": files,
    }
