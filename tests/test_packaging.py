"""The built wheel: every package and module is in it, it works outside the source tree, and
it declares the legacy `gymnasium.envs` entry point."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO_ROOT

PACKAGES = ("envs", "wrappers", "agents")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (path,) = out.glob("dqn_arcade-*.whl")
    return path


def test_wheel_holds_every_source_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"registry.py"} | {
        str(path.relative_to(REPO_ROOT))
        for package in PACKAGES
        for path in (REPO_ROOT / package).rglob("*.py")
    }
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)


def test_wheel_declares_the_legacy_gymnasium_entry_point(wheel):
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[gymnasium.envs]" in text
    assert "__root__ = registry:register_envs" in text


def test_installed_wheel_works_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import gymnasium as gym, registry, envs.catch\n"
        "assert registry.__file__.startswith(sys.argv[1]), registry.__file__\n"
        "assert envs.catch.__file__.startswith(sys.argv[1]), envs.catch.__file__\n"
        "env = gym.make('Catch-v0'); env.reset(seed=0); env.step(1)\n"
        "vec = gym.make_vec('Catch-v0', num_envs=4); vec.reset(seed=0)\n"
        "print('ok')\n"
    )
    # Run from an empty folder, with the source tree off the path.
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
