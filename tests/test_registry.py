"""registry.py: idempotent registration, module-prefixed ids in fresh processes, the catalog, and
other packages' envs loaded from their `gymnasium.envs` entry points."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env
from helpers import REPO_ROOT, run_python

import registry


def test_every_catalog_env_passes_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped)
    env.close()


def test_every_catalog_env_spec_round_trips_through_json(env_id):
    env = gym.make(env_id)
    spec = EnvSpec.from_json(env.spec.to_json())
    # Compared as JSON: Gymnasium reads additional_wrappers back as a list, not a tuple.
    assert spec.to_json() == env.spec.to_json()
    assert [w.name for w in spec.additional_wrappers] == [
        w.name for w in env.spec.additional_wrappers
    ]
    rebuilt = gym.make(spec)
    np.testing.assert_array_equal(rebuilt.reset(seed=3)[0], env.reset(seed=3)[0])


def test_registration_is_idempotent_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(registry)
        registry.register_envs()
        importlib.import_module("registry")
    for entry in registry.ENVS:
        assert gym.spec(entry.id) == entry.spec()


def test_ale_ids_are_available():
    assert "ALE/Pong-v5" in gym.registry
    assert "PongNoFrameskip-v4" in gym.registry


def test_module_prefixed_id_in_spawn_workers_and_async_vector_env(tmp_path):
    # A script of its own, so that nothing of ours is imported before the id is used: not in the
    # parent, not in the spawned workers (which re-import this script, not the test module).
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            """
            import multiprocessing as mp
            import sys

            import gymnasium as gym


            def first_obs(seed):
                env = gym.make("registry:Catch-v0")
                return env.reset(seed=seed)[0].tolist()


            if __name__ == "__main__":
                with mp.get_context("spawn").Pool(2) as pool:
                    from_workers = pool.map(first_obs, [0, 1])
                assert "registry" not in sys.modules, "the parent imported registry"
                envs = gym.make_vec(
                    "registry:Catch-v0", num_envs=2, vectorization_mode="async",
                    vector_kwargs={"context": "spawn"},
                )
                obs, _ = envs.reset(seed=0)
                envs.step(envs.action_space.sample())
                envs.close()
                assert obs.tolist() == from_workers, (obs.tolist(), from_workers)
                print("ok", type(envs).__name__)
            """
        )
    )
    result = run_python(str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok AsyncVectorEnv"
    assert "Overriding environment" not in result.stderr


def test_python_m_registry_prints_the_catalog():
    result = run_python("-m", "registry")
    assert result.returncode == 0, result.stderr
    for entry in registry.ENVS:
        env = gym.make(entry.id)
        assert entry.id in result.stdout
        assert str(env.observation_space) in result.stdout
        assert str(env.action_space) in result.stdout
    assert "ALE/Pong-v5" in result.stdout
    assert "Overriding environment" not in result.stderr


CORRIDOR = '''
import gymnasium as gym
import numpy as np


class Corridor(gym.Env):
    """Walk right to the end of a corridor of 5 cells."""

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 1, (5,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def _obs(self):
        return np.eye(5, dtype=np.float32)[self.cell]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell = 0
        return self._obs(), {}

    def step(self, action):
        self.cell = min(4, max(0, self.cell + (1 if action == 1 else -1)))
        return self._obs(), float(self.cell == 4), self.cell == 4, False, {}


def register():
    gym.register(id="Corridor-v0", entry_point="corridor_envs:Corridor", max_episode_steps=20)


def broken():
    raise RuntimeError("this plugin is broken")
'''


def _install(tmp_path: Path, entry_points: str) -> Path:
    """A package of our own, corridor-envs, installed into a folder of its own with pip: it
    registers its env only through the `gymnasium.envs` entry-point group."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "corridor_envs.py").write_text(CORRIDOR)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "corridor-envs"\nversion = "0.1"\n'
        '[tool.setuptools]\npy-modules = ["corridor_envs"]\n'
        f'[project.entry-points."gymnasium.envs"]\n{entry_points}\n'
    )
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
         "--target", str(site), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return site


def test_envs_of_other_packages_entry_points_train_by_id(tmp_path):
    site = _install(
        tmp_path, 'Corridor = "corridor_envs:register"\nbroken_one = "corridor_envs:broken"'
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "agents.dqn", "--env", "Corridor/Corridor-v0",
         "--total-timesteps", "600", "--learning-starts", "100", "--episodes", "2",
         "--run-dir", str(tmp_path / "run")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # The broken entry point is one warning line, and the others still load.
    warning = [line for line in result.stderr.splitlines() if "broken_one" in line]
    assert len(warning) == 1 and "this plugin is broken" in warning[0]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["env_id"] == "Corridor/Corridor-v0" and summary["total_steps"] == 600


def test_a_broken_plugin_leaves_gymnasiums_namespace_and_a_reload_runs_none_twice(tmp_path):
    site = _install(tmp_path, 'broken_one = "corridor_envs:broken"')
    check = """
import importlib, warnings
import gymnasium as gym
import registry
from gymnasium.envs import registration
assert registration.current_namespace is None, registration.current_namespace
gym.register(id="Mine-v0", entry_point="corridor_envs:Corridor")
assert "Mine-v0" in gym.registry, [id for id in gym.registry if "Mine" in id]
with warnings.catch_warnings():
    warnings.simplefilter("error")  # an env registered twice warns
    importlib.reload(registry)
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)])}
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.stdout.strip() == "ok", result.stderr
    assert result.stderr.count("this plugin is broken") == 1  # at import, not again on reload
