"""Registration, ``--env`` resolution, plugin families and the ``python -m metarl.envs`` listing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from envtools import EXAMPLE
from rich.console import Console

from metarl.envs import (
    BUILTIN_FAMILIES,
    TaskError,
    family_names,
    family_tasks,
    has_native_vector_env,
    make_env,
    make_vector_env,
    plugin_families,
    resolve_env_id,
)
from metarl.envs.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_families_are_registered_with_versioned_ids() -> None:
    assert {
        "bandit",
        "tabular-mdp",
        "nav",
        "cheetah-vel",
        "cheetah-dir",
        "ant-dir",
        "ant-goal",
    } <= set(BUILTIN_FAMILIES)
    for name, env_id in BUILTIN_FAMILIES.items():
        spec = gym.spec(env_id)
        assert env_id.startswith("metarl/") and spec.version is not None
        assert spec.vector_entry_point is not None
        assert resolve_env_id(name) == env_id == resolve_env_id(env_id)
    for name in ("bandit", "tabular-mdp", "nav"):
        assert has_native_vector_env(name)
    assert not has_native_vector_env(EXAMPLE)


def test_module_colon_id_imports_and_resolves_the_example() -> None:
    assert resolve_env_id(EXAMPLE) == "WindyLine-v0"
    env = make_env(EXAMPLE, horizon=7)
    assert env.unwrapped.horizon == 7


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(TaskError) as err:
        resolve_env_id("navv")
    message = str(err.value)
    assert message.startswith("unknown env 'navv': use one of ")
    for name in BUILTIN_FAMILIES:
        assert name in message
    for call in (lambda: make_vector_env("navv", 2), lambda: family_tasks("navv", "train", 1, 0)):
        with pytest.raises(TaskError, match="unknown env 'navv'"):
            call()


def test_bad_module_id_and_non_meta_env() -> None:
    with pytest.raises(
        TaskError, match=re.escape("cannot import 'no_such_pkg.fam' for --env no_such_pkg.fam:X-v0")
    ):
        resolve_env_id("no_such_pkg.fam:X-v0")
    with pytest.raises(
        TaskError, match=re.escape("importing 'examples.windy_line' did not register 'Other-v0'")
    ):
        resolve_env_id("examples.windy_line:Other-v0")
    with pytest.raises(TaskError, match="CartPole-v1 is not a metarl task family"):
        make_env("CartPole-v1")
    with pytest.raises(TaskError, match="metarl/Nav2D-v0 has no parameter 'speed'"):
        make_env("nav", speed=3)


def test_registered_id_whose_module_cannot_be_imported() -> None:
    env_id = "metarl-test/MissingModule-v0"
    gym.register(env_id, entry_point="no_such_pkg.envs:Env")
    try:
        with pytest.raises(
            TaskError, match=re.escape(f"cannot import no_such_pkg.envs for {env_id}")
        ):
            make_env(env_id)
    finally:
        del gym.registry[env_id]


def install_plugin(root: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str]) -> None:
    """A real installed distribution (a dist-info folder on sys.path) with ``metarl.families`` entry points."""
    dist = root / "metarl_test_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: metarl-test-plugin\nVersion: 0.1\n"
    )
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (dist / "entry_points.txt").write_text(f"[metarl.families]\n{lines}\n")
    monkeypatch.syspath_prepend(str(root))


def test_plugin_family_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(tmp_path, monkeypatch, {"windy-line": "examples.windy_line:register"})
    assert plugin_families() == {"windy-line": "WindyLine-v0"}
    assert family_names()["windy-line"] == "WindyLine-v0"
    assert resolve_env_id("windy-line") == "WindyLine-v0"
    env = make_vector_env("windy-line", 2)  # no native env: Gymnasium's SyncVectorEnv
    obs, _ = env.reset(seed=0, options={"tasks": family_tasks("windy-line", "train", 2, seed=0)})
    assert obs.shape == (2, 1)
    env.close()
    console = Console(width=200, record=True)
    assert main([], console=console) == 0
    assert "windy-line" in console.export_text()


BROKEN_FAMILY = """
import gymnasium as gym


def register() -> str:
    gym.register("MissingDep-v0", entry_point="no_such_dependency.envs:Env")
    return "MissingDep-v0"
"""


def test_broken_plugins_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "metarl_missing_dep_family.py").write_text(BROKEN_FAMILY)
    install_plugin(
        tmp_path,
        monkeypatch,
        {"broken": "builtins:str", "missing-dep": "metarl_missing_dep_family:register"},
    )
    with pytest.raises(
        TaskError, match=r"plugin family 'broken' \(builtins:str\) must register its env"
    ):
        plugin_families()
    console = Console(width=200, record=True)
    assert main([], console=console) == 0  # the listing still shows the other families
    text = console.export_text()
    assert "plugin broken (builtins:str): must register its env with Gymnasium" in text
    assert (
        "missing-dep (MissingDep-v0): could not be loaded: cannot import no_such_dependency.envs "
        "for MissingDep-v0: No module named 'no_such_dependency'" in text
    )
    assert "metarl/Nav2D-v0" in text
    gym.registry.pop("MissingDep-v0", None)


def test_listing_shows_every_family() -> None:
    console = Console(width=200, record=True)
    assert main([], console=console) == 0
    text = console.export_text()
    for name, env_id in BUILTIN_FAMILIES.items():
        assert name in text and env_id in text
    for expected in (
        "Discrete(5)",
        "Box(-0.1, 0.1, (2,), float32)",
        "num_arms=5",
        "means: float, shape (5,)",
        "distance='l2'",
        "transitions: float, shape (10, 5, 10)",
    ):
        assert expected in text
    assert text.count("│ yes") >= 3  # bandit, tabular MDP and nav have native vector envs
    for name, env_id in BUILTIN_FAMILIES.items():  # a family that cannot load gets one line
        reasons = [ln for ln in text.splitlines() if ln.startswith(f"{name} ({env_id}): could not")]
        assert len(reasons) <= 1
        assert not reasons or name not in ("bandit", "tabular-mdp", "nav")


def test_listing_of_named_families_and_unknown_names() -> None:
    console = Console(width=200, record=True)
    assert main([EXAMPLE], console=console) == 0
    text = console.export_text()
    assert "WindyLine-v0" in text and "target: float" in text and "no (Sync/Async)" in text
    assert "metarl/Bandit-v0" not in text
    console = Console(width=200, record=True)
    assert main(["navv"], console=console) == 2
    assert "error: unknown env 'navv'" in console.export_text()


def test_python_dash_m_metarl_envs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "metarl.envs", "nav", "bandit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "metarl/Nav2D-v0" in out.stdout and "metarl/Bandit-v0" in out.stdout
