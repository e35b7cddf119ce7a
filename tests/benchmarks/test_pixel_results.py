"""benchmarks/pixel_results.py: a run cut short goes on from its checkpoint, never from nothing,
and a stop reaches the runs under way."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from agents.common.runs import refill_note

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pixel_results.py"
REAL_POPEN, REAL_WAIT4 = subprocess.Popen, os.wait4  # before the fixture stands in for them


@pytest.fixture
def pixel_results(monkeypatch):
    spec = importlib.util.spec_from_file_location("pixel_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "pixel_results", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    commands = []

    def popen(command, stdout, **_):
        commands.append(command)
        stdout.write("trained\n")
        return SimpleNamespace(pid=12345)

    monkeypatch.setattr(module.subprocess, "Popen", popen)
    monkeypatch.setattr(module.os, "wait4", lambda *_: (12345, 0, SimpleNamespace(ru_maxrss=2048)))
    monkeypatch.setattr(module, "_commit", lambda: "abc1234")
    module.commands = commands
    return module


def test_a_new_run_starts_with_the_experiments_flags(pixel_results, tmp_path):
    run_dir = tmp_path / "Kaboom-v0" / "dqn__seed1"
    pixel_results._train(run_dir, "Kaboom-v0", "dqn", 1, ("--total-timesteps", "300000"), 1)
    (command,) = pixel_results.commands
    assert command[:3] == [sys.executable, "-m", "agents"]
    assert command[3:] == ["dqn", "--env", "Kaboom-v0", "--seed", "1", "--run-dir",
                           str(run_dir), "--total-timesteps", "300000"]  # fmt: skip
    assert (tmp_path / "Kaboom-v0" / "dqn__seed1.peak_mib").read_text() == "2\n"
    assert (tmp_path / "Kaboom-v0" / "dqn__seed1.commit").read_text() == "abc1234\n"


def test_a_run_with_a_checkpoint_is_resumed_and_keeps_its_log_and_peak(pixel_results, tmp_path):
    run_dir = tmp_path / "Kaboom-v0" / "dqn__seed1"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"weights")
    (run_dir / "progress.csv").write_text("step\n1000\n")
    (run_dir.parent / "dqn__seed1.log").write_text("first part\n")
    (run_dir.parent / "dqn__seed1.peak_mib").write_text("900\n")
    (run_dir.parent / "dqn__seed1.commit").write_text("0ld1234\n")
    pixel_results._train(run_dir, "Kaboom-v0", "dqn", 1, ("--total-timesteps", "300000"), 1)
    assert pixel_results.commands[0][3:] == ["dqn", "--resume", str(run_dir)]
    assert (run_dir / "checkpoint.pt").read_bytes() == b"weights"
    assert (run_dir / "progress.csv").is_file()
    assert (run_dir.parent / "dqn__seed1.log").read_text() == "first part\ntrained\n"
    assert (run_dir.parent / "dqn__seed1.peak_mib").read_text() == "900\n"
    assert (run_dir.parent / "dqn__seed1.commit").read_text() == "0ld1234 abc1234\n"


def test_a_run_cut_short_before_its_first_checkpoint_starts_again(pixel_results, tmp_path):
    run_dir = tmp_path / "ALE_Kaboom-v5" / "sb3_dqn__seed2"
    (run_dir / "tb").mkdir(parents=True)
    (run_dir / "tb" / "events").write_text("old")
    (run_dir / "progress.csv").write_text("step\n")
    pixel_results._train(run_dir, "ALE/Kaboom-v5", "sb3_dqn", 2, (), 1)
    assert "--run-dir" in pixel_results.commands[0]
    assert list(run_dir.iterdir()) == []


def test_the_report_names_each_resumed_run_and_whether_its_buffer_came_back(
    pixel_results, tmp_path, capsys
):
    experiment = pixel_results.Experiment(("Kaboom-v0", "ALE/Kaboom-v5"), ("dqn",), (1, 2))
    logs = tmp_path / "Kaboom-v0"
    logs.mkdir()
    # What the agents print when they resume: the refill note comes before "resuming".
    refill_note(282_941, 20_000)
    refill = capsys.readouterr().err
    (logs / "dqn__seed1.log").write_text(
        f"step 1,000  sps 40\n{refill}resuming runs/Kaboom-v0/dqn__seed1 at step 282,941\n"
        "step 290,000\n"
    )
    (logs / "dqn__seed2.log").write_text(
        "step 1,000  sps 40\nrestored the replay buffer from runs/x/replay-000000036009.npz\n"
        "resuming runs/Kaboom-v0/dqn__seed2 at step 36,009\nstep 40,000\n"
        f"{refill}resuming runs/Kaboom-v0/dqn__seed2 at step 41,000\n"
        "restored the replay buffer from runs/x/replay-000000050000.npz\n"
        "resuming runs/Kaboom-v0/dqn__seed2 at step 50,000\nstep 300,000\n"
    )
    assert pixel_results._resumed(tmp_path, experiment) == (
        ["Kaboom-v0 dqn seed 2 at step 36,009, 50,000"],
        ["Kaboom-v0 dqn seed 1 at step 282,941", "Kaboom-v0 dqn seed 2 at step 41,000"],
    )


def test_the_peak_is_on_disk_while_the_run_goes_so_a_run_cut_short_keeps_it(
    pixel_results, tmp_path, monkeypatch
):
    run_dir = tmp_path / "Kaboom-v0" / "dqn__seed1"
    peak_file = tmp_path / "Kaboom-v0" / "dqn__seed1.peak_mib"
    polled = iter([700.0, 950.0])
    monkeypatch.setattr(pixel_results, "_peak_so_far", lambda pid: next(polled))
    monkeypatch.setattr(pixel_results.time, "sleep", lambda _: None)
    calls = []

    def wait4(pid, options):
        calls.append(options)
        if len(calls) < 3:
            return 0, 0, None  # still running
        assert peak_file.read_text() == "950\n"
        raise KeyboardInterrupt  # this script is stopped: the run is cut short

    monkeypatch.setattr(pixel_results.os, "wait4", wait4)
    with pytest.raises(KeyboardInterrupt):
        pixel_results._train(run_dir, "Kaboom-v0", "dqn", 1, (), 1)
    assert peak_file.read_text() == "950\n"
    assert calls == [os.WNOHANG] * 3


def test_the_peak_so_far_is_read_from_proc_and_none_for_no_such_process(pixel_results):
    if not os.path.exists(f"/proc/{os.getpid()}/status"):
        pytest.skip("no /proc here")
    assert 10 < pixel_results._peak_so_far(os.getpid()) < 1_000_000  # MiB
    assert pixel_results._peak_so_far(2**22 + 12345) is None  # above Linux's largest pid


# A stand-in for `python -m agents ...`: says it started, then on each SIGINT notes it and saves
# a "checkpoint", as the agents do, and ends with the shell's status for SIGINT.
FAKE_RUN = """
import pathlib, signal, sys, time
run = pathlib.Path(sys.argv[1])
run.mkdir(parents=True, exist_ok=True)
def stop(signum, frame):
    with open(run / "signals", "a") as file:
        file.write(signal.Signals(signum).name + "\\n")
    (run / "checkpoint.pt").write_text("saved")
    time.sleep(0.5)  # a second signal, were one sent, would come while it saves
    sys.exit(128 + signum)
signal.signal(signal.SIGINT, stop)
(run / "started").write_text("")
time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_reaches_each_run_under_way_once_and_starts_no_other(
    pixel_results, tmp_path, monkeypatch, signum
):
    started = []

    def popen(command, **kwargs):
        run_dir = command[command.index("--run-dir") + 1]
        started.append(run_dir)
        return REAL_POPEN([sys.executable, "-c", FAKE_RUN, run_dir], **kwargs)

    monkeypatch.setattr(pixel_results.subprocess, "Popen", popen)
    monkeypatch.setattr(pixel_results.os, "wait4", REAL_WAIT4)
    monkeypatch.setattr(pixel_results, "PEAK_POLL_SECONDS", 0.05)
    first = tmp_path / "Kaboom-v0" / "dqn__seed1"

    def stop_when_started():
        deadline = time.monotonic() + 30
        while not (first / "started").is_file() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signum)

    experiment = pixel_results.Experiment(("Kaboom-v0",), ("dqn",), (1, 2))
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    threading.Thread(target=stop_when_started, daemon=True).start()
    assert pixel_results.train(experiment, tmp_path, jobs=1) == signum
    assert started == [str(first)]  # seed 2 never started
    assert (first / "signals").read_text() == "SIGINT\n"  # told once, whatever the stop was
    assert (first / "checkpoint.pt").read_text() == "saved"
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # restored
