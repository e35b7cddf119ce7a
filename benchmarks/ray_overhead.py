"""What a run costs on the Ray path of agents.compare against its local one, measured in the same
run on this machine.

    python benchmarks/ray_overhead.py [--runs 4] [--total-timesteps 2000] [--repeats 3]

The same grid of small runs (dqn on Catch-v0, seeds 1..--runs, --total-timesteps steps each)
goes through `python -m agents.compare` with its local runner (a run per core at a time) and with
`--ray` through a head started here on 127.0.0.1 with a CPU per core (`agents.compare.ray_head`,
one run per CPU at a time), alternately, --repeats times each. Each command is timed end to end,
its start-up, ray.init and the tables included. Seconds per run = wall / runs, the best repeat
of each; the overhead per run is Ray's minus local's: the job's worker processes, the task's
temporary directory, the run's files sent back through the object store. The head's own start
is printed apart and not counted; the 1-minute load average is printed too, as other work on the
machine slows both paths.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agents.compare.ray_head import LoopbackHead

REPO_ROOT = Path(__file__).resolve().parent.parent


def timed_grid(
    runs: int, steps: int, out_dir: Path, environment: dict[str, str], *ray: str
) -> float:
    """Seconds `python -m agents.compare` takes for the grid (here, or with `--ray ADDRESS`)."""
    command = [sys.executable, "-m", "agents.compare", "--env", "Catch-v0", "--agents", "dqn",
               "--seeds", str(runs), "--total-timesteps", str(steps), "--out-dir", str(out_dir),
               *ray]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="runs in the grid (seeds)")
    parser.add_argument("--total-timesteps", type=int, default=2000, help="steps of each run")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each path (best kept)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    before = os.getloadavg()[0]
    path = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    environment = {**os.environ, "PYTHONPATH": path}
    print(
        f"grid: {args.runs} runs of dqn on Catch-v0, {args.total_timesteps:,} steps each, "
        f"{cores} at a time on {cores} cores; best of {args.repeats}"
    )
    with tempfile.TemporaryDirectory() as temp, LoopbackHead(cores, environment) as head:
        start = time.perf_counter()
        head.wait_until_up()
        print(f"Ray head on 127.0.0.1 up in {time.perf_counter() - start:.1f} s (not counted)")
        local, ray = [], []
        for repeat in range(args.repeats):
            out = Path(temp) / str(repeat)
            local.append(timed_grid(args.runs, args.total_timesteps, out / "local", environment))
            ray.append(
                timed_grid(
                    args.runs,
                    args.total_timesteps,
                    out / "ray",
                    head.environment,
                    "--ray",
                    head.address,
                )
            )
    local_run, ray_run = min(local) / args.runs, min(ray) / args.runs
    print(f"{'':<8}{'wall s':>9}{'s/run':>9}")
    print(f"{'local':<8}{min(local):>9.2f}{local_run:>9.2f}")
    print(f"{'ray':<8}{min(ray):>9.2f}{ray_run:>9.2f}")
    print(
        f"overhead per run (ray - local): {ray_run - local_run:+.2f} s; "
        f"ray / local: {ray_run / local_run:.2f}x"
    )
    print(f"load average before: {before:.2f}, after: {os.getloadavg()[0]:.2f} (other work)")


if __name__ == "__main__":
    main()
