"""Chunked SB3 training with checkpoints: chunks train exactly as one ``learn``, a checkpoint
restores the model and the env state, a resumed pretraining is deterministic, and a broken
checkpoint is one clear error."""

from __future__ import annotations

import pickle
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from metarl.agents import seeding
from metarl.baselines import chunked, scratch
from metarl.baselines.config import BaselineConfig
from metarl.baselines.multitask import MODEL, NORMALIZER, TaskSampler, env_state, pretrain
from metarl.envs import family_tasks, make_env
from metarl.runs import RunError

HP = {"n_steps": 32, "batch_size": 32, "n_epochs": 1}
KWARGS = {"horizon": 5}


def nav_model(normalize: bool = False) -> tuple[object, chunked.EnvState]:
    """A tiny task-blind PPO on nav as multitask builds it (seed 0), and its env state."""
    tasks = family_tasks("nav", "train", 4, 0, **KWARGS)
    samplers = [TaskSampler(make_env("nav", **KWARGS), tasks, seeding.numpy_rng(0, 0, 1))]
    hp = {**HP, "normalize": normalize}
    venv = scratch.vector_env(samplers, hp)
    venv.seed(7)
    model = scratch.new_model("ppo", venv, hp, 3, "cpu")
    return model, env_state(samplers, venv)


def weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_chunks_of_whole_rollouts_train_exactly_as_one_learn(tmp_path: Path) -> None:
    one, state = nav_model()
    one = chunked.learn(one, 128, tmp_path / "one", 10**9, state, 0, "one", 30.0)
    assert not (tmp_path / "one" / chunked.CHECKPOINT).exists()  # a single chunk: none needed
    parts, state = nav_model()
    parts = chunked.learn(parts, 128, tmp_path / "parts", 20, state, 0, "parts", 30.0)
    assert parts.num_timesteps == one.num_timesteps == 128
    assert same(weights(one), weights(parts))
    assert chunked.chunk_steps(parts, 20) == 32 and chunked.chunk_steps(parts, 33) == 64


def test_training_leaves_no_sb3_log_folder_in_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SB3's default logger makes an empty SB3-<date> folder in the temp dir per learn call
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    model, state = nav_model()
    model = chunked.learn(model, 64, tmp_path / "run", 32, state, 0, "t", 30.0)
    job = SimpleNamespace(index=0, eval_episodes=1, deterministic=True)
    returns, trained = scratch.train_and_evaluate(
        model, [96, 128], make_env("nav", **KWARGS), 0, job, lambda *_: None
    )
    assert trained == [96, 128] and len(returns) == 2
    assert not list(temp.glob("SB3-*"))


def test_a_checkpoint_restores_weights_optimizer_steps_and_env_state(tmp_path: Path) -> None:
    model, state = nav_model(normalize=True)
    model = chunked.learn(model, 64, tmp_path, 32, state, 0, "t", 30.0)  # checkpoint at 32
    path = tmp_path / chunked.CHECKPOINT
    saved = pickle.loads(path.read_bytes())
    assert saved["num_timesteps"] == 32
    fresh, fresh_state = nav_model(normalize=True)
    loaded = chunked.load_checkpoint(path, fresh, fresh_state, 0)
    assert loaded.num_timesteps == 32 and loaded._last_obs is None
    assert loaded.get_env() is fresh.get_env()  # trains on the new run's envs
    np.testing.assert_array_equal(
        loaded.get_env().obs_rms.mean, saved["env"]["normalizer"]["obs_rms"].mean
    )
    assert fresh_state.get()["samplers"] == saved["env"]["samplers"]
    assert loaded.policy.optimizer.state_dict()["state"]  # Adam's moments came back


def test_a_stopped_pretraining_goes_on_from_its_checkpoint_deterministically(
    tmp_path: Path,
) -> None:
    import stable_baselines3 as sb3

    config = BaselineConfig(algo="multitask", env="nav", env_kwargs=KWARGS, seed=0,
                            pretrain_steps=128, checkpoint_every=32, train_tasks=4,
                            num_envs=1)  # fmt: skip
    hp = scratch.hyperparameters("ppo", "nav", HP)
    results = []
    for name in ("a", "b"):
        folder = tmp_path / name
        model, state = nav_model()  # a run stopped between 32 and 64: its checkpoint at 32
        chunked.learn(model, 64, folder, 32, state, 0, "stopped", 30.0)
        assert pickle.loads((folder / chunked.CHECKPOINT).read_bytes())["num_timesteps"] == 32
        path = pretrain(config, folder, hp, 30.0)  # goes on from 32 to 128
        assert path == folder / MODEL
        assert not (folder / chunked.CHECKPOINT).exists()  # removed once the model is saved
        results.append(sb3.PPO.load(path))
    fresh = sb3.PPO.load(pretrain(config, tmp_path / "c", hp, 30.0))  # never stopped
    assert results[0].num_timesteps == results[1].num_timesteps == fresh.num_timesteps == 128
    assert same(weights(results[0]), weights(results[1]))
    assert not same(weights(results[0]), weights(fresh))  # it went on from the checkpoint
    assert not (tmp_path / "a" / NORMALIZER).exists()  # nav does not normalize


@pytest.mark.parametrize("damage", ["truncate", "garbage", "version"])
def test_a_broken_checkpoint_is_one_error_naming_the_file(tmp_path: Path, damage: str) -> None:
    model, state = nav_model()
    model = chunked.learn(model, 64, tmp_path, 32, state, 0, "t", 30.0)
    path = tmp_path / chunked.CHECKPOINT
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a pickle")
    else:
        path.write_bytes(pickle.dumps({**pickle.loads(data), "version": 99}))
    fresh, fresh_state = nav_model()
    with pytest.raises(RunError, match=f"{path}.*delete it"):
        chunked.learn(fresh, 128, tmp_path, 32, fresh_state, 0, "t", 30.0)


def test_recurrent_ppo_meta_training_goes_on_from_its_checkpoint(tmp_path: Path) -> None:
    from sb3_contrib import RecurrentPPO

    from metarl.baselines import recurrent

    config = BaselineConfig(algo="recurrent-ppo", env="nav", env_kwargs=KWARGS, seed=0,
                            pretrain_steps=128, checkpoint_every=64, train_tasks=8,
                            episodes_per_trial=2, num_envs=4,
                            algo_kwargs={"n_steps": 16, "batch_size": 32, "n_epochs": 1})  # fmt: skip
    venv = recurrent.trial_vec_env(config, family_tasks("nav", "train", 8, 0, **KWARGS), 4, 5)
    generator = venv.trials.generator
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=1, **config.algo_kwargs)
    state = chunked.EnvState(generator.get_state, generator.set_state)
    chunked.learn(model, 128, tmp_path / "a", 64, state, 0, "stopped", 30.0)  # checkpoint at 64
    saved = pickle.loads((tmp_path / "a" / chunked.CHECKPOINT).read_bytes())
    assert isinstance(saved["env"], torch.Tensor)  # the task generator's state travels with it
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / chunked.CHECKPOINT, tmp_path / "b" / chunked.CHECKPOINT)
    runs = [RecurrentPPO.load(recurrent.meta_train(config, tmp_path / n, 30.0)) for n in "abc"]
    assert [m.num_timesteps for m in runs] == [128, 128, 128]
    assert not (tmp_path / "a" / chunked.CHECKPOINT).exists()
    assert same(weights(runs[0]), weights(runs[1]))  # resumed alike from the same checkpoint ...
    assert not same(weights(runs[0]), weights(runs[2]))  # ... and not trained from scratch
