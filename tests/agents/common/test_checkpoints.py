"""agents.common.checkpoints and files: checkpoints that cannot run code, atomic writes that
leave nothing half-written, and signals held back while a checkpoint is written."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest
import torch

import agents.dqn as dqn
from agents.common.checkpoints import (
    Schedule,
    Stop,
    cpu_copy,
    signals_deferred,
    signals_stop_training,
)
from agents.common.cli import run_main
from agents.common.files import WriteError, atomic_write


class Payload:
    """Unpickling this creates a file: what a malicious checkpoint would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _exit_line(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: dqn.main(argv), "python -m agents.dqn")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


@pytest.mark.parametrize("flag", ["--evaluate", "--resume"])
def test_a_checkpoint_that_would_run_code_is_refused_unrun(flag, tmp_path, capsys):
    marker = tmp_path / "the payload ran"
    torch.save({"agent": "dqn", "config": {"env": "Catch-v0"}, "x": Payload(marker)},
               tmp_path / "checkpoint.pt")  # fmt: skip
    line = _exit_line([flag, str(tmp_path)], capsys)
    assert "could run code when loaded, so it was not loaded" in line
    assert not marker.exists()


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "state.bin"
    atomic_write(path, lambda file: file.write(b"old"))

    def full_disk(file):
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match=f"cannot write {path}: the disk is full"):
        atomic_write(path, full_disk)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]


def test_saved_tensors_are_cpu_copies():
    source = torch.ones(3)
    copied = cpu_copy({"a": [source, (source, 1)], "b": "text"})
    assert copied["a"][0].device.type == "cpu" and copied["a"][0] is not source
    assert isinstance(copied["a"][1], tuple) and copied["b"] == "text"


def test_a_signal_during_a_save_waits_for_the_save_to_end():
    events = []
    with signals_stop_training(), pytest.raises(Stop) as stop:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            events.append("written after the signal")
        events.append("never: the signal stops training here")
    assert events == ["written after the signal"]
    assert stop.value.signum == signal.SIGTERM
    with signals_stop_training():
        with signals_deferred(stopping=True):  # the run ends anyway: nothing more to raise
            os.kill(os.getpid(), signal.SIGINT)
        events.append("carried on")
    assert events[-1] == "carried on"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_a_held_signal_says_the_notice_once(capsys):
    notice = "stopping after the update under way"
    with signals_stop_training(), pytest.raises(Stop), signals_deferred(notice=notice):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
    assert capsys.readouterr().err == "\nSIGINT: stopping after the update under way\n"


def test_the_schedule_checkpoints_by_steps_or_by_wall_time(monkeypatch):
    by_steps = Schedule(100, 50)
    assert [step for step in range(100, 260, 10) if by_steps.due(step)] == [150, 200, 250]
    never = Schedule(0, 0)
    assert not any(never.due(step) for step in range(0, 10**6, 1000))
    clock = [1000.0]
    monkeypatch.setattr("agents.common.checkpoints.time.monotonic", lambda: clock[0])
    by_time = Schedule(0, None)
    assert not by_time.due(10)
    clock[0] += 10 * 60
    assert by_time.due(20) and not by_time.due(30)
