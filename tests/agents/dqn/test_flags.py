"""`python -m agents.dqn`'s flags in-process: the help, and the refusals of what cannot work, each
one line and exit status 2."""

from __future__ import annotations

import pytest
import torch

import agents.dqn as dqn
from agents.common import command
from agents.common.cli import run_main
from agents.common.environments import checked_env_id


def test_help_lists_every_flag_with_its_docstring_and_presets(capsys):
    with pytest.raises(SystemExit) as exit_info:
        dqn.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in (
        "--env",
        "--seed",
        "--total-timesteps",
        "--learning-rate",
        "--buffer-size",
        "--batch-size",
        "--learning-starts",
        "--train-frequency",
        "--target-network-frequency",
        "--gamma",
        "--num-envs",
        "--device",
        "--run-dir",
        "--resume",
        "--evaluate",
        "--episodes",
        "--double",
        "--no-double",
        "--dueling",
        "--n-step",
        "--compile",
    ):
        assert flag in text
    assert "the learning rate of the Adam optimizer (default 0.0001; catch 0.001" in text


def _usage_error(argv: list[str], capsys) -> str:
    """The line that says what was wrong: the last, and the only one of the error."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: dqn.main(argv), "python -m agents.dqn")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "usage:" not in err, err
    line = err.splitlines()[-1]
    assert line.startswith("python -m agents.dqn: error: "), err
    return line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--total-timesteps", "0"], "--total-timesteps must be at least 1"),
        (["--learning-rate", "fast"], "invalid float value: 'fast'"),
        (["--env", "Nope-v0"], "unknown env id 'Nope-v0'"),
        (["--env", "Pendulum-v1"], "needs a discrete action space"),
        (["--gamma", "1.5"], "--gamma must lie in [0, 1]"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--env", "FrozenLake-v1"], "needs a Box observation space"),
        (["--seed", "-1"], "--seed cannot be negative"),
        (["--mlp-hidden", "64", "0"], "--mlp-hidden sizes must be at least 1"),
        (["--evaluate", "/nonexistent/run"], "no checkpoint at /nonexistent/run"),
        (["--video", "{tmp_path}/file/videos"], "file is not a directory this user can write"),
        (["--run-dir", "{tmp_path}/file"], "cannot write in the run directory"),
        (["--run-dir", "{tmp_path}/file/run"], "cannot write in the run directory"),
        (["--env", "nowhere:Catch-v0"], "cannot import 'nowhere', named in the env id"),
        (["--evaluate", "{tmp_path}", "--resume", "{tmp_path}"], "cannot go together"),
        (["--env", "SuperMarioLand-v0", "--buffer-size", "1000"], "needs your own Super Mario"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("DQN_ARCADE_SML_ROM", raising=False)
    (tmp_path / "file").write_text("")
    argv = [value.format(tmp_path=tmp_path) for value in argv]
    if "--run-dir" not in argv:
        argv += ["--run-dir", str(tmp_path / "run")]
    assert message in _usage_error(argv, capsys)
    assert not (tmp_path / "run" / "progress.csv").exists()  # nothing to block the next try


def test_env_ids_may_name_the_module_that_registers_them():
    assert checked_env_id("registry:Catch-v0") == checked_env_id("Catch-v0") == "Catch-v0"


def test_bad_resume_requests_are_one_line_and_exit_2(capsys, tmp_path):
    line = _usage_error(["--resume", "/nonexistent/run"], capsys)
    assert "no checkpoint at /nonexistent/run" in line
    line = _usage_error(["--resume", str(tmp_path), "--run-dir", str(tmp_path)], capsys)
    assert "drop --run-dir" in line


def test_a_fresh_run_refuses_a_directory_that_holds_another(capsys, tmp_path):
    (tmp_path / "progress.csv").write_text("step\n")  # the logs of a run that never checkpointed
    line = _usage_error(["--run-dir", str(tmp_path)], capsys)
    assert f"{tmp_path} holds the logs of another run, and no checkpoint of dqn" in line
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    line = _usage_error(["--run-dir", str(tmp_path)], capsys)
    assert f"{tmp_path} holds another run; continue it with --resume" in line


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_info:
        run_main(interrupted, "python -m agents.dqn")
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "python -m agents.dqn: interrupted"


def test_ctrl_c_in_the_final_evaluation_keeps_the_trained_run(capsys, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "evaluate_policy", interrupted)
    run_dir = tmp_path / "run"
    argv = ["--total-timesteps", "320", "--run-dir", str(run_dir)]
    assert dqn.main(argv) == 130
    err = capsys.readouterr().err
    # learning-starts is 1,000 in the catch preset
    assert "no gradient step will be taken (--learning-starts)" in err
    assert f"Evaluate it with python -m agents.dqn --evaluate {run_dir}" in err
    assert (run_dir / "checkpoint.pt").is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_line_and_exit_2(capsys, tmp_path):
    line = _usage_error(["--device", "cuda", "--run-dir", str(tmp_path)], capsys)
    assert "--device cuda was asked for, but this torch sees no CUDA device" in line


def test_a_corrupt_checkpoint_is_one_line_and_exit_2(capsys, tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x80\x02not a checkpoint")
    line = _usage_error(["--evaluate", str(tmp_path)], capsys)
    assert "is not a readable checkpoint" in line and "corrupt" in line
    line = _usage_error(["--resume", str(tmp_path / "checkpoint.pt")], capsys)
    assert "is not a readable checkpoint" in line
