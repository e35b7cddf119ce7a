"""registry.py: idempotent registration, module-prefixed ids in fresh processes, the catalog."""

from __future__ import annotations

import importlib
import textwrap
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env
from helpers import run_python

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
