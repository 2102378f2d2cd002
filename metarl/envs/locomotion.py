"""MuJoCo locomotion task families: cheetah-vel, cheetah-dir, ant-dir and ant-goal.

The robots are Gymnasium's v5 ``HalfCheetah`` and ``Ant`` (their MJCF models, actuators, frame
skip of 5 physics steps of 0.01 s, so one env step is ``dt = 0.05`` s, reset noise and health
check), simulated with the ``mujoco`` package (never ``mujoco-py``). A task changes the reward and
nothing else: the same actions from the same seed give the same physics under every task.

The families follow the MAML paper (Finn et al. 2017, Sec. 5.3) and its reference code (rllab,
reproduced by pytorch-maml-rl), and name in each docstring the values other papers use:

==============  ==================================  =======================================
family          default (MAML lineage)              other values in use
==============  ==================================  =======================================
cheetah-vel     v* ~ U[0, 2], horizon 200           U[0, 3] (VariBAD, AMAGO); horizon 100
                ctrl cost 0.05·|a|²                 (pytorch-maml-rl, garage examples)
cheetah-dir     direction ±1, ctrl cost 0.05·|a|²   horizon 100 (reproductions)
ant-dir         a direction on the unit circle      forward/backward (the MAML paper:
                (ProMP, VariBAD's 2-D variant),     ``directions="forward-backward"``);
                survive 0.05, ctrl cost 0.005·|a|²  survive 1.0 and ctrl cost 0.5
                                                    (Gymnasium Ant-v5, VariBAD)
ant-goal        goal uniform in a disk of radius 3  U[-3, 3]² (pytorch-maml-rl); L1 distance
                −L2 distance, no termination        and ctrl cost 0.1 (VariBAD)
==============  ==================================  =======================================

Rewards drop the small contact cost of the rllab and Gymnasium ants (Ant-v5 weighs the squared
clipped contact forces by 5e-4) and the observations leave out contact forces: the cheetah observes
``qpos[1:]`` and ``qvel`` (17 numbers), the ant ``qpos[2:]`` and ``qvel`` (27), ant-goal all of
``qpos`` and ``qvel`` (29: it must know where it is to reach a goal). Velocities are the root's
planar displacement over the step divided by ``dt``, from ``qpos`` (the state after the step).

:class:`LocomotionVectorEnv` steps ``num_envs`` copies of the model at once on MuJoCo's own thread
pool (``mujoco.batch.Batch``, bit-identical to ``mj_step``) and computes the task rewards on
arrays; it matches a Gymnasium ``SyncVectorEnv`` of the single env step for step, resets included.

Rendering (``render_mode="rgb_array"``) goes through Gymnasium's MuJoCo renderer; on a headless
Linux machine without ``MUJOCO_GL`` the envs select MuJoCo's EGL backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

import mujoco
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.envs.mujoco.ant_v5 import AntEnv as GymAntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv as GymHalfCheetahEnv
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.utils import seeding
from mujoco import batch as mjbatch

from metarl.envs.family import MetaEnv, Task, TaskError, check_positive, check_range
from metarl.envs.vector import TaskBatch, TaskVectorEnv

FRAME_SKIP = 5
RANDOM_EPISODES = 64
"""Episodes of the Monte Carlo estimate of the random policy's return."""
RANDOM_SEED = 0
"""Seed of those episodes (reset noise and actions)."""
DIRECTION_VARIANTS = ("forward-backward", "circle")
GOAL_REGIONS = ("disk", "square")
DISTANCES = ("l2", "l1")
_UNIT_TOL = 1e-6
_DEPRECATED_TOTALMASS = "compiler attribute 'settotalmass' is deprecated"


# --- tasks -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class VelocityTask(Task):
    """A target forward velocity, m/s."""

    velocity: float


@dataclasses.dataclass(frozen=True)
class DirectionTask(Task):
    """Run forward (``+1.0``) or backward (``-1.0``) along x."""

    direction: float


@dataclasses.dataclass(frozen=True)
class PlanarDirectionTask(Task):
    """A unit vector ``(dx, dy)`` in the ground plane to run along."""

    direction: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class GoalTask(Task):
    """A goal position ``(x, y)`` in the ground plane, m."""

    goal: tuple[float, float]


class Motion(NamedTuple):
    """What one env step did to the robot, whatever the task.

    Leading shape ``B`` is ``()`` for the single env and ``(num_envs,)`` for the vector env; ``k``
    is 1 for the cheetah (x) and 2 for the ant (x, y).
    """

    position: np.ndarray
    """``B + (k,)`` float64: the root's planar position after the step, m."""
    velocity: np.ndarray
    """``B + (k,)`` float64: its mean planar velocity over the step, m/s."""
    ctrl_cost: np.ndarray
    """``B`` float64: ``ctrl_cost_weight * sum(action ** 2)``."""
    healthy: np.ndarray
    """``B`` bool: the state is finite and the torso height in range (always True for cheetahs)."""


@dataclasses.dataclass(frozen=True)
class Robot:
    """A Gymnasium v5 MuJoCo robot as the families use it."""

    env_cls: type[MujocoEnv]
    planar_dims: int
    """Planar coordinates of the root in ``qpos`` (1: x; 2: x, y)."""
    has_health: bool
    """Whether the robot can fall (health check on the torso height ``qpos[2]``)."""


HALF_CHEETAH = Robot(GymHalfCheetahEnv, planar_dims=1, has_health=False)
ANT = Robot(GymAntEnv, planar_dims=2, has_health=True)

TaskT = TypeVar("TaskT", bound=Task)


@contextlib.contextmanager
def _quiet_model_warnings() -> Iterator[None]:
    """Drop MuJoCo's deprecation warning for Gymnasium's ``settotalmass`` while loading a model.

    MuJoCo's default handler prints it and writes ``MUJOCO_LOG.TXT`` into the working directory;
    any other warning is re-raised as a Python warning.
    """

    def handler(message: str) -> None:
        if _DEPRECATED_TOTALMASS not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(handler)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def _default_gl_backend() -> None:
    """Use MuJoCo's EGL backend for offscreen rendering on a headless Linux machine."""
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless and "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl"


def row_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, left to right: the same float64 rounding for any leading shape."""
    total = x[..., 0]
    for j in range(1, x.shape[-1]):
        total = total + x[..., j]
    return total


# --- the single env --------------------------------------------------------------------------
class LocomotionEnv(MetaEnv[TaskT]):
    """Base of the locomotion families: a Gymnasium v5 robot, a task reward and a horizon.

    Subclasses set ``task_type`` and ``robot`` and implement :meth:`sample_tasks`,
    :meth:`validate_task`, :meth:`task_arrays` and :meth:`reward`. Observation: float32
    ``(obs_dim,)`` (``qpos[obs_skip:]`` then ``qvel``); action: the robot's controls in
    ``[-1, 1]``, float32 ``(nu,)``. Episodes truncate after ``horizon`` steps and terminate early
    only when ``terminate_when_unhealthy`` and the robot is unhealthy (ants: a non-finite state
    or the torso height outside ``healthy_z_range``). ``step`` returns an empty info.

    Reset noise is Gymnasium's: ``qpos = init_qpos + U[-s, s]`` and ``qvel = init_qvel + s·N(0, 1)``
    with ``s = reset_noise_scale``, drawn from ``self.np_random`` (seeded by ``reset(seed=...)``).
    """

    robot: ClassVar[Robot]
    obs_skip: ClassVar[int]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        horizon: int,
        ctrl_cost_weight: float,
        reset_noise_scale: float,
        healthy_reward: float,
        terminate_when_unhealthy: bool,
        healthy_z_range: tuple[float, float],
        render_mode: str | None,
        width: int,
        height: int,
    ) -> None:
        super().__init__()
        check_positive("horizon", horizon, integer=True)
        _check_nonnegative("ctrl_cost_weight", ctrl_cost_weight)
        _check_nonnegative("reset_noise_scale", reset_noise_scale)
        if self.robot.has_health:
            _check_finite("healthy_reward", healthy_reward)
            check_range("healthy_z_range", *healthy_z_range)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise TaskError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        check_positive("width", width, integer=True)
        check_positive("height", height, integer=True)
        self.horizon = int(horizon)
        self.ctrl_cost_weight = float(ctrl_cost_weight)
        self.reset_noise_scale = float(reset_noise_scale)
        self.healthy_reward = float(healthy_reward)
        self.terminate_when_unhealthy = bool(terminate_when_unhealthy)
        self.healthy_z_range = (float(healthy_z_range[0]), float(healthy_z_range[1]))
        self.render_mode = render_mode
        if render_mode is not None:
            _default_gl_backend()
        with _quiet_model_warnings():
            self.sim = self.robot.env_cls(
                frame_skip=FRAME_SKIP,
                render_mode=render_mode,
                width=width,
                height=height,
                camera_name="track",
            )
        self.model: mujoco.MjModel = self.sim.model
        self.data: mujoco.MjData = self.sim.data
        self.dt = float(self.model.opt.timestep * FRAME_SKIP)
        self.init_qpos = self.sim.init_qpos.copy()
        self.init_qvel = self.sim.init_qvel.copy()
        obs_dim = self.model.nq - self.obs_skip + self.model.nv
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_dim,), dtype=np.float32)
        self.action_space = self.sim.action_space
        self._params_task: Task | None = None
        self._params: dict[str, np.ndarray] = {}

    def _common_parameters(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon, "ctrl_cost_weight": self.ctrl_cost_weight,
            "reset_noise_scale": self.reset_noise_scale,
        }  # fmt: skip

    def _health_parameters(self) -> dict[str, Any]:
        return {
            "healthy_reward": self.healthy_reward,
            "terminate_when_unhealthy": self.terminate_when_unhealthy,
            "healthy_z_range": self.healthy_z_range,
        }

    # --- task-dependent parts, shared with the vector env --------------------------------------
    def task_arrays(self, tasks: Sequence[TaskT]) -> dict[str, np.ndarray]:
        """The tasks' fields stacked as float64 arrays ``(len(tasks), *field_shape)``."""
        names = [f.name for f in dataclasses.fields(self.task_type)]
        return {k: np.array([getattr(t, k) for t in tasks], dtype=np.float64) for k in names}

    def reward(self, motion: Motion, params: dict[str, np.ndarray]) -> np.ndarray:
        """Task reward of a step, shape ``B`` float64 (see :class:`Motion` for ``B``).

        ``params`` is :meth:`task_arrays` output with the same leading shape ``B``.
        """
        raise NotImplementedError

    # --- physics, shared with the vector env -----------------------------------------------
    def initial_state(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(qpos (nq,), qvel (nv,))`` of a new episode, with Gymnasium's reset noise from ``rng``."""
        s = self.reset_noise_scale
        qpos = self.init_qpos + rng.uniform(low=-s, high=s, size=self.model.nq)
        qvel = self.init_qvel + s * rng.standard_normal(self.model.nv)
        return qpos, qvel

    def observe(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Observation float32 ``B + (obs_dim,)`` from ``qpos B + (nq,)`` and ``qvel B + (nv,)``."""
        return np.concatenate((qpos[..., self.obs_skip :], qvel), axis=-1).astype(np.float32)

    def motion(
        self, before: np.ndarray, qpos: np.ndarray, qvel: np.ndarray, action: np.ndarray
    ) -> Motion:
        """The task-independent outcome of a step.

        Args:
            before: the root's planar position before the step, ``B + (k,)``, m.
            qpos, qvel: the state after the step, ``B + (nq,)`` and ``B + (nv,)``.
            action: the controls applied, float64 ``B + (nu,)``.
        """
        position = qpos[..., : self.robot.planar_dims].copy()
        velocity = (position - before) / self.dt
        ctrl_cost = self.ctrl_cost_weight * row_sum(action * action)
        if self.robot.has_health:
            z = qpos[..., 2]
            low, high = self.healthy_z_range
            finite = np.isfinite(qpos).all(axis=-1) & np.isfinite(qvel).all(axis=-1)
            healthy = finite & (low <= z) & (z <= high)
        else:
            healthy = np.ones(qpos.shape[:-1], dtype=bool)
        return Motion(position, velocity, ctrl_cost, healthy)

    # --- episodes --------------------------------------------------------------------------
    def _reset_task_state(self) -> np.ndarray:
        mujoco.mj_resetData(self.model, self.data)
        qpos, qvel = self.initial_state(self.np_random)
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)
        return self.observe(self.data.qpos, self.data.qvel)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for ``dt`` seconds; returns ``(obs, reward, fell, timed_out, {})``."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (self.model.nu,):
            raise TaskError(f"an action of {type(self).__name__} has shape ({self.model.nu},)")
        data = self.data
        before = data.qpos[: self.robot.planar_dims].copy()
        data.ctrl[:] = a
        mujoco.mj_step(self.model, data, nstep=FRAME_SKIP)
        motion = self.motion(before, data.qpos, data.qvel, a)
        reward = float(self.reward(motion, self._task_params()))
        terminated = bool(self.terminate_when_unhealthy and not motion.healthy)
        self._t += 1
        truncated = self._t >= self.horizon and not terminated
        return self.observe(data.qpos, data.qvel), reward, terminated, truncated, {}

    def _task_params(self) -> dict[str, np.ndarray]:
        if self._params_task is not self._task:
            self._params = {k: v[0] for k, v in self.task_arrays([self.task]).items()}
            self._params_task = self._task
        return self._params

    def render(self) -> np.ndarray | None:
        """An RGB frame ``(height, width, 3)`` uint8 when ``render_mode="rgb_array"``, else None."""
        if self.render_mode is None:
            return None
        return self.sim.render()

    def close(self) -> None:
        """Free the renderer, if any."""
        self.sim.close()

    # --- references ------------------------------------------------------------------------
    def random_return(self, task: TaskT) -> float:
        """Mean return of one episode of uniformly random actions.

        Monte Carlo over ``RANDOM_EPISODES`` episodes with seed ``RANDOM_SEED`` (the physics does
        not depend on the task, so the rollouts are simulated once per parameter set and cached).
        """
        self.check_task(task)
        rollouts = _random_rollouts(type(self), tuple(sorted(self.parameters().items())))
        params = {k: v[0] for k, v in self.task_arrays([task]).items()}
        total = np.zeros(RANDOM_EPISODES)
        for motion, alive in rollouts:
            total += np.where(alive, self.reward(motion, params), 0.0)
        return float(total.mean())

    def oracle_return(self, task: TaskT) -> float | None:
        """None: no optimal controller is known for a MuJoCo robot (see the family docstring)."""
        return None


def _check_nonnegative(name: str, value: float) -> None:
    if not (np.isfinite(value) and value >= 0):
        raise TaskError(f"{name} must be a finite number >= 0, got {value!r}")


def _check_finite(name: str, value: float) -> None:
    if not np.isfinite(value):
        raise TaskError(f"{name} must be a finite number, got {value!r}")


def _check_plane_vector(name: str, value: tuple[float, float]) -> None:
    if len(value) != 2 or not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
        raise TaskError(f"{name} is two finite numbers (x, y), got {value!r}")


@functools.lru_cache(maxsize=32)
def _random_rollouts(
    cls: type[LocomotionEnv], parameters: tuple[tuple[str, Any], ...]
) -> tuple[tuple[Motion, np.ndarray], ...]:
    """Per step of ``RANDOM_EPISODES`` random-action episodes: ``(Motion (E,), alive (E,))``.

    ``alive[e]`` is whether episode ``e`` was still running at that step.
    """
    env = LocomotionVectorEnv(cls(**dict(parameters)), RANDOM_EPISODES, "cpu")
    rng = np.random.default_rng(RANDOM_SEED)
    env.reset(seed=RANDOM_SEED)
    low, high = env.family.action_space.low, env.family.action_space.high
    alive = np.ones(RANDOM_EPISODES, dtype=bool)
    steps = []
    for _ in range(env.horizon):
        motion, terminated = env.advance(rng.uniform(low, high, size=(RANDOM_EPISODES, len(low))))
        steps.append((motion, alive.copy()))
        alive &= ~terminated
    env.close()
    return tuple(steps)


# --- the four families -----------------------------------------------------------------------
class HalfCheetahVelEnv(LocomotionEnv[VelocityTask]):
    """cheetah-vel: run at a target forward velocity.

    Reward per step: ``-|v_x - v*| - ctrl_cost_weight·|a|²`` with ``v_x`` the forward velocity
    (m/s). Never terminates; truncates at ``horizon``.

    Args:
        velocity_low, velocity_high: training targets v* ~ U[low, high] m/s (MAML: U[0, 2];
            VariBAD and AMAGO: U[0, 3]).
        test_velocity_range: ``(low, high)`` of the held-out targets, for an out-of-distribution
            test set; None (default) draws them like the training targets.
        horizon: steps per episode (MAML: 200; pytorch-maml-rl and garage examples: 100).
        ctrl_cost_weight: 0.05 as in the MAML reference code (0.5·1e-1); Gymnasium's
            HalfCheetah-v5 uses 0.1.
        reset_noise_scale: Gymnasium's reset noise (0.1).
        render_mode, width, height: ``"rgb_array"`` frames of ``height × width`` pixels.

    References: random = uniformly random actions (Monte Carlo, see
    :meth:`LocomotionEnv.random_return`; per 200-step episode about -125 for v* = 0, -240 for
    v* = 1 and -434 for v* = 2; the MAML paper reports "below -200"). Oracle: none is stated; no
    controller is known to be optimal, and the reward's upper bound 0 is not reachable from a
    standing start.
    """

    task_type = VelocityTask
    robot = HALF_CHEETAH
    obs_skip = 1

    def __init__(
        self,
        velocity_low: float = 0.0,
        velocity_high: float = 2.0,
        test_velocity_range: tuple[float, float] | None = None,
        horizon: int = 200,
        ctrl_cost_weight: float = 0.05,
        reset_noise_scale: float = 0.1,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        check_range("velocity range (velocity_low, velocity_high)", velocity_low, velocity_high)
        if test_velocity_range is not None:
            check_range("test_velocity_range", *test_velocity_range)
        super().__init__(
            horizon, ctrl_cost_weight, reset_noise_scale, 0.0, False, (-np.inf, np.inf),
            render_mode, width, height,
        )  # fmt: skip
        self.velocity_low, self.velocity_high = float(velocity_low), float(velocity_high)
        self.test_velocity_range = (
            None if test_velocity_range is None else tuple(map(float, test_velocity_range))
        )
        self._task = VelocityTask(velocity=self.velocity_low)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (rendering aside)."""
        return {
            "velocity_low": self.velocity_low, "velocity_high": self.velocity_high,
            "test_velocity_range": self.test_velocity_range, **self._common_parameters(),
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[VelocityTask]:
        """``n`` target velocities ~ U[velocity_low, velocity_high]."""
        return _velocities(rng.uniform(self.velocity_low, self.velocity_high, size=n))

    def sample_test_tasks(self, n: int, rng: np.random.Generator) -> list[VelocityTask]:
        """``n`` held-out targets, from ``test_velocity_range`` when it is set."""
        if self.test_velocity_range is None:
            return self.sample_tasks(n, rng)
        return _velocities(rng.uniform(*self.test_velocity_range, size=n))

    def validate_task(self, task: VelocityTask) -> None:
        """The target must be a finite number."""
        if not math.isfinite(task.velocity):
            raise TaskError(f"a target velocity is a finite number, got {task.velocity!r}")

    def reward(self, motion: Motion, params: dict[str, np.ndarray]) -> np.ndarray:
        """``-|v_x - v*| - ctrl_cost``."""
        return -np.abs(motion.velocity[..., 0] - params["velocity"]) - motion.ctrl_cost


def _velocities(values: np.ndarray) -> list[VelocityTask]:
    return [VelocityTask(velocity=float(v)) for v in values]


class HalfCheetahDirEnv(LocomotionEnv[DirectionTask]):
    """cheetah-dir: run forward (direction +1) or backward (-1), each with probability 1/2.

    Reward per step: ``direction·v_x - ctrl_cost_weight·|a|²``. Never terminates.

    Args:
        horizon: steps per episode (MAML: 200; reproductions: 100).
        ctrl_cost_weight: 0.05 as in the MAML reference code; Gymnasium's HalfCheetah-v5: 0.1.
        reset_noise_scale: Gymnasium's reset noise (0.1).
        render_mode, width, height: ``"rgb_array"`` frames of ``height × width`` pixels.

    References: random = uniformly random actions (Monte Carlo; about -34 forward and -6
    backward per 200-step episode: random flailing drifts backward). Oracle: none is stated
    (running speed has no known optimum for this robot).
    """

    task_type = DirectionTask
    robot = HALF_CHEETAH
    obs_skip = 1

    def __init__(
        self,
        horizon: int = 200,
        ctrl_cost_weight: float = 0.05,
        reset_noise_scale: float = 0.1,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        super().__init__(
            horizon, ctrl_cost_weight, reset_noise_scale, 0.0, False, (-np.inf, np.inf),
            render_mode, width, height,
        )  # fmt: skip
        self._task = DirectionTask(direction=1.0)

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (rendering aside)."""
        return self._common_parameters()

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[DirectionTask]:
        """``n`` directions, each +1 or -1 with probability 1/2."""
        signs = rng.integers(0, 2, size=n) * 2 - 1
        return [DirectionTask(direction=float(s)) for s in signs]

    def validate_task(self, task: DirectionTask) -> None:
        """The direction must be +1.0 (forward) or -1.0 (backward)."""
        if task.direction not in (1.0, -1.0):
            raise TaskError(
                f"unknown direction {task.direction!r}: use 1.0 (forward) or -1.0 (backward)"
            )

    def reward(self, motion: Motion, params: dict[str, np.ndarray]) -> np.ndarray:
        """``direction·v_x - ctrl_cost``."""
        return params["direction"] * motion.velocity[..., 0] - motion.ctrl_cost


class AntDirEnv(LocomotionEnv[PlanarDirectionTask]):
    """ant-dir: run along a direction in the ground plane.

    Reward per step: ``v·d - ctrl_cost_weight·|a|² + healthy_reward·healthy`` with ``v`` the
    torso's planar velocity (m/s) and ``d`` the task's unit vector. The episode terminates when
    the ant is unhealthy (Gymnasium's check: a non-finite state, or torso height outside
    ``healthy_z_range``), if ``terminate_when_unhealthy``.

    Args:
        directions: ``"circle"`` (default: d uniform on the unit circle, as ProMP's and VariBAD's
            2-D variants) or ``"forward-backward"`` (the MAML paper: d = (±1, 0), each with
            probability 1/2).
        horizon: steps per episode (MAML: 200).
        ctrl_cost_weight: 0.005 as in the MAML reference code (rllab's 0.5·1e-2); Gymnasium's
            Ant-v5 and VariBAD: 0.5.
        healthy_reward: survive bonus per healthy step, 0.05 as in the MAML reference code;
            Gymnasium's Ant-v5 and VariBAD: 1.0.
        terminate_when_unhealthy, healthy_z_range: Gymnasium's Ant-v5 (True, (0.2, 1.0)).
        reset_noise_scale: Gymnasium's reset noise (0.1).
        render_mode, width, height: ``"rgb_array"`` frames of ``height × width`` pixels.

    References: random = uniformly random actions (Monte Carlo; with ``"forward-backward"``
    about +8 forward and -2 backward per 200-step episode, of which the default survive bonus
    contributes +10). Oracle: none is
    stated (running speed has no known optimum for this robot).
    """

    task_type = PlanarDirectionTask
    robot = ANT
    obs_skip = 2

    def __init__(
        self,
        directions: str = "circle",
        horizon: int = 200,
        ctrl_cost_weight: float = 0.005,
        healthy_reward: float = 0.05,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        reset_noise_scale: float = 0.1,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        if directions not in DIRECTION_VARIANTS:
            raise TaskError(
                f"unknown directions {directions!r}: use one of {', '.join(DIRECTION_VARIANTS)}"
            )
        super().__init__(
            horizon, ctrl_cost_weight, reset_noise_scale, healthy_reward,
            terminate_when_unhealthy, healthy_z_range, render_mode, width, height,
        )  # fmt: skip
        self.directions = directions
        self._task = PlanarDirectionTask(direction=(1.0, 0.0))

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (rendering aside)."""
        return {
            "directions": self.directions, **self._common_parameters(),
            **self._health_parameters(),
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[PlanarDirectionTask]:
        """``n`` directions: ±x with probability 1/2, or uniform on the unit circle."""
        if self.directions == "forward-backward":
            signs = rng.integers(0, 2, size=n) * 2 - 1
            return [PlanarDirectionTask(direction=(float(s), 0.0)) for s in signs]
        angles = rng.uniform(0.0, 2.0 * np.pi, size=n)
        return [PlanarDirectionTask(direction=(float(np.cos(a)), float(np.sin(a)))) for a in angles]

    def validate_task(self, task: PlanarDirectionTask) -> None:
        """A unit vector; (1, 0) or (-1, 0) for the forward-backward variant."""
        _check_plane_vector("an ant direction", task.direction)
        if self.directions == "forward-backward" and tuple(task.direction) not in (
            (1.0, 0.0),
            (-1.0, 0.0),
        ):
            raise TaskError(
                f"unknown direction {task.direction!r} for directions='forward-backward': "
                "use (1.0, 0.0) or (-1.0, 0.0), or directions='circle'"
            )
        if abs(math.hypot(*task.direction) - 1.0) > _UNIT_TOL:
            raise TaskError(f"an ant direction is a unit vector, got {task.direction!r}")

    def reward(self, motion: Motion, params: dict[str, np.ndarray]) -> np.ndarray:
        """``v·d - ctrl_cost + healthy_reward·healthy``."""
        d, v = params["direction"], motion.velocity
        forward = v[..., 0] * d[..., 0] + v[..., 1] * d[..., 1]
        return forward - motion.ctrl_cost + self.healthy_reward * motion.healthy


class AntGoalEnv(LocomotionEnv[GoalTask]):
    """ant-goal: walk to a goal position in the ground plane.

    Reward per step: ``-dist(p, goal) - ctrl_cost_weight·|a|² + healthy_reward·healthy`` with
    ``p`` the torso's planar position after the step (m). The observation includes ``p``.

    Args:
        radius: goals are uniform in the disk of this radius around the start (VariBAD: 3).
        region: ``"disk"`` (default) or ``"square"`` (U[-radius, radius]², pytorch-maml-rl).
        distance: ``"l2"`` (default) or ``"l1"`` (VariBAD's |dx| + |dy|).
        horizon: steps per episode (200, as VariBAD).
        ctrl_cost_weight: 0.005 as in ant-dir (VariBAD: 0.1).
        healthy_reward, terminate_when_unhealthy: 0.0 and False by default. The reward is
            negative, so terminating a fallen ant would pay the policy to fall; VariBAD never
            terminates either. ``healthy_z_range`` as Gymnasium's Ant-v5.
        reset_noise_scale: Gymnasium's reset noise (0.1).
        render_mode, width, height: ``"rgb_array"`` frames of ``height × width`` pixels.

    References: random = uniformly random actions (Monte Carlo; the randomly driven ant wanders
    about 1.5 m, so about -296 per 200-step episode for a goal at the start and -641 for one 3 m
    away). Oracle: none is stated (walking speed has no known optimum for this robot).
    """

    task_type = GoalTask
    robot = ANT
    obs_skip = 0

    def __init__(
        self,
        radius: float = 3.0,
        region: str = "disk",
        distance: str = "l2",
        horizon: int = 200,
        ctrl_cost_weight: float = 0.005,
        healthy_reward: float = 0.0,
        terminate_when_unhealthy: bool = False,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        reset_noise_scale: float = 0.1,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        check_positive("goal radius", radius)
        if not math.isfinite(radius):
            raise TaskError(f"goal radius must be finite, got {radius!r}")
        if region not in GOAL_REGIONS:
            raise TaskError(f"unknown goal region {region!r}: use one of {', '.join(GOAL_REGIONS)}")
        if distance not in DISTANCES:
            raise TaskError(f"unknown distance {distance!r}: use one of {', '.join(DISTANCES)}")
        super().__init__(
            horizon, ctrl_cost_weight, reset_noise_scale, healthy_reward,
            terminate_when_unhealthy, healthy_z_range, render_mode, width, height,
        )  # fmt: skip
        self.radius, self.region, self.distance = float(radius), region, distance
        self._task = GoalTask(goal=(0.0, 0.0))

    def parameters(self) -> dict[str, Any]:
        """Constructor parameters (rendering aside)."""
        return {
            "radius": self.radius, "region": self.region, "distance": self.distance,
            **self._common_parameters(), **self._health_parameters(),
        }  # fmt: skip

    def sample_tasks(self, n: int, rng: np.random.Generator) -> list[GoalTask]:
        """``n`` goals, uniform in the disk of ``radius`` (or the square ``[-radius, radius]²``)."""
        if self.region == "square":
            xy = rng.uniform(-self.radius, self.radius, size=(n, 2))
        else:
            r = self.radius * np.sqrt(rng.uniform(0.0, 1.0, size=n))
            angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
            xy = np.stack((r * np.cos(angle), r * np.sin(angle)), axis=1)
        return [GoalTask(goal=(float(x), float(y))) for x, y in xy]

    def validate_task(self, task: GoalTask) -> None:
        """The goal must be two finite numbers (goals outside the region are allowed)."""
        _check_plane_vector("an ant goal", task.goal)

    def reward(self, motion: Motion, params: dict[str, np.ndarray]) -> np.ndarray:
        """``-dist(p, goal) - ctrl_cost + healthy_reward·healthy``."""
        d = motion.position - params["goal"]
        if self.distance == "l1":
            dist = np.abs(d[..., 0]) + np.abs(d[..., 1])
        else:
            dist = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
        return -dist - motion.ctrl_cost + self.healthy_reward * motion.healthy


# --- the batched vector env ------------------------------------------------------------------
class LocomotionVectorEnv(TaskVectorEnv):
    """``num_envs`` sub-envs of a locomotion family stepped together on MuJoCo's thread pool.

    The physics runs on the host in ``mujoco.batch.Batch`` (``nthread`` threads, 0 = all CPUs),
    bit-identical to ``mj_step`` on one ``MjData`` per sub-env; rewards are computed on arrays by
    the family's own :meth:`LocomotionEnv.reward`. It matches a Gymnasium ``SyncVectorEnv`` of the
    single env step for step: sub-env ``i`` reset with ``seed + i`` draws its reset noise from the
    same generator as the single env reset with that seed, later autoresets continue it.

    Observations, rewards and flags come back as torch tensors on ``device`` (obs float32
    ``(num_envs, obs_dim)``, reward float32 ``(num_envs,)``); actions may be a tensor or an array
    ``(num_envs, nu)`` on any device. Task parameters are kept as float64 host arrays (the
    :class:`TaskBatch` tensors of this env live on the CPU).
    """

    family: LocomotionEnv

    def __init__(
        self,
        family: LocomotionEnv,
        num_envs: int,
        device: str | torch.device = "cpu",
        nthread: int = 0,
        validate_actions: bool = True,
    ) -> None:
        super().__init__(family, num_envs, device)
        if not isinstance(nthread, int) or nthread < 0:
            raise TaskError(f"nthread must be an integer >= 0 (0: all CPUs), got {nthread!r}")
        self.validate_actions = validate_actions
        self.batch = mjbatch.Batch(family.model, nsim=num_envs, nthread=nthread)
        self._qpos = self.batch.bind("qpos")
        self._qvel = self.batch.bind("qvel")
        self._ctrl = self.batch.bind("ctrl")
        self.params = family.task_arrays([family.task] * num_envs)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self._rngs: list[np.random.Generator] = []
        self._obs = np.zeros((num_envs, *family.observation_space.shape), dtype=np.float32)
        self._nu = family.model.nu
        self._k = family.robot.planar_dims

    # --- tasks -----------------------------------------------------------------------------
    def _task_tensors(self, tasks: tuple[Task, ...]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v) for k, v in self.family.task_arrays(tasks).items()}

    def _assign(self, batch: TaskBatch, index: torch.Tensor, mask: torch.Tensor | None) -> None:
        idx = index.cpu().numpy()
        keep = None if mask is None else mask.cpu().numpy()
        for k, value in batch.tensors.items():
            new = value.numpy()[idx]
            if keep is None:
                self.params[k] = new
            else:
                m = keep.reshape(-1, *([1] * (new.ndim - 1)))
                self.params[k] = np.where(m, new, self.params[k])

    # --- episodes --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Reset all sub-envs, or those in ``options["reset_mask"]``; seeds as in SyncVectorEnv.

        ``seed``: an int (sub-env ``i`` gets ``seed + i``), one per sub-env, or None (keep each
        sub-env's generator; fresh random ones on the first reset).
        """
        mask = self._apply_reset_options(options)
        ids = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask.cpu().numpy())
        self._seed(seed, ids)
        self._reset_ids(ids)
        return self._tensor(self._obs, torch.float32), {}

    def _seed(self, seed: int | list[int] | None, ids: np.ndarray) -> None:
        if seed is None:
            if not self._rngs:
                self._rngs = [seeding.np_random()[0] for _ in range(self.num_envs)]
            return
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed)
        if len(seeds) != self.num_envs:
            raise TaskError(f"got {len(seeds)} seeds for {self.num_envs} sub-envs")
        if not self._rngs:
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        for i in ids:
            self._rngs[i] = seeding.np_random(seeds[i])[0]

    def _reset_ids(self, ids: np.ndarray) -> None:
        """Start new episodes in sub-envs ``ids`` (sorted int array); updates ``self._obs``."""
        if len(ids) == 0:
            return
        self.batch.reset(ids, stage=mujoco.mjtStage.mjSTAGE_NONE)
        for i in ids:
            self._qpos[i], self._qvel[i] = self.family.initial_state(self._rngs[i])
        self.t[ids] = 0
        self._obs[ids] = self.family.observe(self._qpos[ids], self._qvel[ids])

    def advance(
        self, actions: np.ndarray, ids: np.ndarray | None = None
    ) -> tuple[Motion, np.ndarray]:
        """Step the physics of every sub-env, or of sub-envs ``ids`` only, without autoreset.

        Args:
            actions: float64 ``(num_envs, nu)``.
            ids: sorted int array of the sub-envs to step (None: all); the others are left
                exactly as they are.

        Returns:
            ``(motion, terminated)``: the :class:`Motion` with leading shape ``(len(ids),)``
            (``(num_envs,)`` for all) and bool of the same shape. Updates ``self._obs`` and the
            step counters of the stepped sub-envs.
        """
        rows = slice(None) if ids is None else ids
        before = self._qpos[rows][:, : self._k].copy()
        self._ctrl[:] = actions
        self.batch.step(ids, nstep=FRAME_SKIP)
        qpos, qvel = self._qpos[rows], self._qvel[rows]
        motion = self.family.motion(before, qpos, qvel, actions[rows])
        self._obs[rows] = self.family.observe(qpos, qvel)
        self.t[rows] += 1
        if self.family.terminate_when_unhealthy:
            return motion, ~motion.healthy
        return motion, np.zeros(len(before), dtype=bool)

    def step(
        self, actions: torch.Tensor | np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """One step of every sub-env, autoreset in ``SAME_STEP`` mode.

        ``info["final_obs"]`` is the full ``(num_envs, obs_dim)`` observation before any reset,
        valid where ``info["_final_obs"]`` (bool ``(num_envs,)``) is true.
        """
        return self.step_some(actions, None)

    def step_some(
        self, actions: torch.Tensor | np.ndarray, active: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """:meth:`step` for the sub-envs where ``active`` (bool ``(num_envs,)``; None: all) only.

        The others are not simulated and not reset: their state, step counter and observation
        stay as they were, their reward is 0 and their flags False. A sub-env that an episode
        rollout has finished with costs no physics (MAML runs one episode per sub-env in
        lockstep; on ant-dir most end long before the horizon). The active sub-envs get exactly
        what :meth:`step` gives them.
        """
        if not self._rngs:
            raise TaskError("call reset() before step()")
        a = self._host_actions(actions)
        on = np.ones(self.num_envs, dtype=bool) if active is None else active.cpu().numpy()
        ids = None if on.all() else np.flatnonzero(on)
        rows = slice(None) if ids is None else ids
        reward = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        if on.any():
            motion, terminated[rows] = self.advance(a, ids)
            params = self.params if ids is None else {k: v[ids] for k, v in self.params.items()}
            reward[rows] = self.family.reward(motion, params)
        truncated = (self.t >= self.horizon) & ~terminated & on
        done = terminated | truncated
        final = self._tensor(self._obs, torch.float32)
        self._reset_ids(np.flatnonzero(done))
        info = {"final_obs": final, "_final_obs": self._tensor(done, torch.bool)}
        return (
            self._tensor(self._obs, torch.float32),
            self._tensor(reward, torch.float32),
            self._tensor(terminated, torch.bool),
            self._tensor(truncated, torch.bool),
            info,
        )

    def _host_actions(self, actions: torch.Tensor | np.ndarray) -> np.ndarray:
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != (self.num_envs, self._nu):
            if a.size != self.num_envs * self._nu:
                raise TaskError(
                    f"actions must have shape ({self.num_envs}, {self._nu}), got {a.shape}"
                )
            a = a.reshape(self.num_envs, self._nu)
        if self.validate_actions and not np.isfinite(a).all():
            raise TaskError("actions must be finite numbers (got NaN or inf)")
        return a

    def _tensor(self, x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(x, dtype=dtype, device=self.device)

    def render(self) -> None:
        """Not supported: render a single env (see ``scripts/render_trial.py``)."""
        return None

    def close_extras(self, **kwargs: Any) -> None:
        """Close the family's single env (its renderer)."""
        self.family.close()


class _FamilyVectorEnv(LocomotionVectorEnv):
    """A locomotion vector env built from its family's constructor arguments (``kwargs``)."""

    family_cls: ClassVar[type[LocomotionEnv]]

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device = "cpu",
        nthread: int = 0,
        validate_actions: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(self.family_cls(**kwargs), num_envs, device, nthread, validate_actions)


class HalfCheetahVelVectorEnv(_FamilyVectorEnv):
    """Batched :class:`HalfCheetahVelEnv`; ``kwargs`` are its constructor arguments."""

    family_cls = HalfCheetahVelEnv


class HalfCheetahDirVectorEnv(_FamilyVectorEnv):
    """Batched :class:`HalfCheetahDirEnv`; ``kwargs`` are its constructor arguments."""

    family_cls = HalfCheetahDirEnv


class AntDirVectorEnv(_FamilyVectorEnv):
    """Batched :class:`AntDirEnv`; ``kwargs`` are its constructor arguments."""

    family_cls = AntDirEnv


class AntGoalVectorEnv(_FamilyVectorEnv):
    """Batched :class:`AntGoalEnv`; ``kwargs`` are its constructor arguments."""

    family_cls = AntGoalEnv
