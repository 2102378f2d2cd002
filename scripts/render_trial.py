"""Render one RL² trial (several episodes of one held-out task) of a MuJoCo family to GIF or MP4.

    python scripts/render_trial.py --env cheetah-vel --out trial.gif             # random actions
    python scripts/render_trial.py --run runs/rl2-cheetah-vel-0 --out trial.mp4  # trained agent

Without ``--run`` the task is held-out task ``--task-index`` of ``family_tasks(env, "test", ...,
seed=--seed)`` (family parameters from ``--env-kwargs``) and the actions are uniformly random. With ``--run`` the env, its parameters, the
held-out tasks (``tasks.json``) and the trial length come from the run directory, and the agent
acts from its checkpoint on the CPU through its ``act`` method (RL² samples its actions, as in its
evaluation). An agent without ``act`` has its run rendered with random actions, and the script
says so.

Rendering is offscreen (MuJoCo's EGL backend by default on a headless Linux machine; set
``MUJOCO_GL=osmesa`` for OSMesa). GIFs need nothing more; MP4 needs ``imageio-ffmpeg`` or ``av``.
Exit status 0, or 2 with one line on stderr for a bad argument.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch

from metarl import cli
from metarl.envs import TaskError, family_tasks, make_env, make_family, resolve_env_id
from metarl.envs.family import MetaEnv, Task
from metarl.envs.trials import TrialVectorEnv
from metarl.envs.vector import GymTaskVectorEnv
from metarl.evaluate import load_trained

# A policy maps the trial observation (1, obs_dim + act_dim + 2) and "a new trial starts" to an
# env action (1, act_dim).
Policy = Callable[[torch.Tensor, bool], torch.Tensor]


def random_policy(env: MetaEnv, seed: int) -> Policy:
    """Uniformly random actions from a seeded generator."""
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high

    def act(obs: torch.Tensor, first: bool) -> torch.Tensor:
        return torch.as_tensor(rng.uniform(low, high, size=(1, len(low))), dtype=torch.float32)

    return act


def agent_policy(agent: Any, seed: int) -> Policy:
    """A trained agent's policy (its ``act``), its state reset at the start of the trial."""
    dev = agent.device
    gen = torch.Generator(device=dev).manual_seed(seed)
    state = {"h": agent.net.initial_state(1, dev)}

    def act(obs: torch.Tensor, first: bool) -> torch.Tensor:
        reset = torch.full((1,), first, dtype=torch.bool, device=dev)
        action, state["h"] = agent.act(obs.to(dev), state["h"], reset, gen)
        return action.cpu()

    return act


def load_run(run_dir: str) -> tuple[Any, list[Task], Any]:
    """``(config, held-out tasks, agent or None)`` of a run directory, the agent on the CPU.

    None for an agent without a per-step ``act``: its trial is rendered with random actions.
    """
    _, tasks, agent = load_trained(run_dir, device="cpu")
    if not callable(getattr(agent, "act", None)):
        print(
            f"note: the {agent.name} agent has no acting interface for rendering yet: random actions"
        )
        return agent.config, tasks, None
    agent.net.eval()
    return agent.config, tasks, agent


def check_offscreen_gl() -> None:
    """Exit with one line if MuJoCo's offscreen backend (``MUJOCO_GL`` egl or osmesa) cannot open
    a context; other values (glfw with a display) are left to MuJoCo."""
    backend = os.environ.get("MUJOCO_GL", "")
    try:
        if backend == "egl":
            from mujoco.egl import GLContext
        elif backend == "osmesa":
            from mujoco.osmesa import GLContext
        else:
            return
        GLContext(8, 8).free()
    except Exception as e:  # a missing library surfaces as ImportError, AttributeError, ...
        cli.fail(
            f"MuJoCo cannot render offscreen with MUJOCO_GL={backend} ({type(e).__name__}: {e}): "
            "install EGL (make render-deps) or OSMesa, or choose the other with MUJOCO_GL"
        )


def render_trial(
    env: MetaEnv,
    task: Task,
    policy: Policy,
    episodes: int,
    seed: int,
    every: int,
    make_trials: Callable[..., TrialVectorEnv] = TrialVectorEnv,
) -> tuple[list[np.ndarray], list[float]]:
    """Frames (every ``every``-th step, before the step) and the return of each episode.

    ``make_trials(vec_env, episodes, tasks, seed)`` builds the trials: an agent's ``trial_env``
    gives them the inputs that agent reads.
    """
    vec = GymTaskVectorEnv([lambda: env])
    trials = make_trials(vec, episodes, [task], seed)
    obs, _ = trials.reset(seed=seed, options={"tasks": [task]})
    frames: list[np.ndarray] = []
    returns: list[float] = []
    first, step = True, 0
    while len(returns) < episodes:
        if step % every == 0:
            frames.append(env.render())
        obs, _, _, _, info = trials.step(policy(obs, first))
        first, step = False, step + 1
        if bool(info["episode_done"][0]):
            returns.append(float(info["episode_return"][0]))
    return frames, returns


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float) -> None:
    """Write ``frames`` (each ``(H, W, 3)`` uint8) as a looping GIF or an MP4, by suffix."""
    if path.suffix.lower() == ".gif":
        iio.imwrite(path, np.stack(frames), duration=1000.0 / fps, loop=0)
        return
    try:
        iio.imwrite(path, np.stack(frames), fps=fps)
    except (ImportError, ValueError, OSError):
        raise TaskError(
            f"cannot write {path.name}: MP4 needs an imageio video plugin "
            "(pip install imageio-ffmpeg, or av); or write a .gif"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    p = cli.ArgumentParser(
        prog="python scripts/render_trial.py",
        description="Render one trial of a held-out task of a MuJoCo family to GIF or MP4.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--env", default="cheetah-vel", help="family (ignored with --run)")
    p.add_argument(
        "--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE", help="family parameters"
    )
    p.add_argument("--run", default=None, help="a run directory: its env, tasks and agent")
    p.add_argument("--task-index", type=int, default=0, help="which held-out task")
    p.add_argument("--episodes", type=int, default=None, help="episodes (default: the run's, 2)")
    p.add_argument("--seed", type=int, default=0, help="task split seed, env and action seed")
    p.add_argument("--out", default="trial.gif", help="output file, .gif or .mp4")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--every", type=int, default=2, help="keep every n-th frame")
    args = p.parse_args(argv)
    if args.task_index < 0 or args.every < 1 or (args.episodes is not None and args.episodes < 1):
        cli.fail("--task-index must be >= 0, --every and --episodes >= 1")
    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".mp4"):
        cli.fail(f"--out must end in .gif or .mp4, got {out.name!r}")

    agent = None
    if args.run:
        config, tasks, agent = load_run(args.run)
        env_name, env_kwargs = config.env, dict(config.env_kwargs)
        episodes = args.episodes or getattr(config, "episodes_per_trial", 2)
    else:
        env_name, env_kwargs = args.env, cli.env_kwargs(args.env, args.env_kwargs)
        episodes = args.episodes or 2
        tasks = family_tasks(env_name, "test", args.task_index + 1, seed=args.seed, **env_kwargs)
    if args.task_index >= len(tasks):
        cli.fail(f"--task-index {args.task_index}: the run has {len(tasks)} held-out tasks")
    task = tasks[args.task_index]
    family = make_family(env_name, **env_kwargs)
    if "rgb_array" not in family.metadata.get("render_modes", []):
        cli.fail(
            f"{resolve_env_id(env_name)} cannot render rgb_array frames: choose a family that "
            "can (the MuJoCo ones: cheetah-vel, cheetah-dir, ant-dir, ant-goal)"
        )
    family.close()
    env = make_env(
        env_name, render_mode="rgb_array", width=args.width, height=args.height, **env_kwargs
    ).unwrapped
    # A MUJOCO_GL that breaks `import mujoco` already failed in one line where the family was
    # resolved; this checks that the backend in use (the user's, or the EGL default that the env
    # selected on a headless machine) opens a context.
    check_offscreen_gl()
    policy = random_policy(env, args.seed) if agent is None else agent_policy(agent, args.seed)
    trials = TrialVectorEnv if agent is None else agent.trial_env
    frames, returns = render_trial(env, task, policy, episodes, args.seed, args.every, trials)
    env.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    fps = env.metadata.get("render_fps", 20) / args.every
    write_video(out, frames, fps)
    who = "random actions" if agent is None else f"the agent of {args.run}"
    print(f"{resolve_env_id(env_name)} task {task}: {who}")
    print("episode returns: " + ", ".join(f"{r:.1f}" for r in returns))
    print(f"wrote {len(frames)} frames to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main, None))
