"""The local runner: a process per run on this machine, --jobs at a time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed, wait

from agents.compare.execute import is_checkpoint, run_agent
from agents.compare.grid import Run


class LocalRunner:
    """Runs `jobs` runs at a time, each given an equal share of the cores' threads."""

    def __init__(self, jobs: int, runs: int, keep_checkpoints: bool = True) -> None:
        self.jobs = max(1, min(jobs, runs))
        self.threads = max(1, (os.cpu_count() or 1) // self.jobs)
        self.keep_checkpoints = keep_checkpoints

    def describe(self) -> str:
        return f"{self.jobs} run(s) at a time on {os.cpu_count()} cores"

    def run(self, runs: list[Run], finished: Callable[[Run], None]) -> None:
        stop = threading.Event()

        def one(run: Run) -> Run:
            if stop.is_set():
                return run  # "not run"
            run.attempts, run.node = 1, "local"
            # Its own session: the terminal's Ctrl-C reaches the driver only, which passes on
            # one SIGINT to each run under way (which checkpoints and exits).
            exit_code, peak_mib = run_agent(
                run.agent, run.flags, run.run_dir, self.threads, stop=stop.is_set, new_session=True
            )
            run.conclude(exit_code, peak_mib)
            if stop.is_set() and not run.ok:
                run.status, run.reasons = "cancelled", []
            if not self.keep_checkpoints:
                for path in run.run_dir.iterdir():
                    if is_checkpoint(path.name):
                        path.unlink()
            return run

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(one, run) for run in runs]
            reported = set()
            try:
                for future in as_completed(futures):
                    reported.add(future)
                    finished(future.result())
            except KeyboardInterrupt:
                stop.set()
                wait(futures)
                for future in futures:
                    if future not in reported:
                        finished(future.result())
                raise
