"""How much a sampled Gaussian policy's noise alone costs on mirrored-controls.

The oracle's action (each axis straight at the goal, as far as the gain allows) plus Gaussian
noise of standard deviation ``s`` per axis in the unit action scale, clipped to [-1, 1] as the
env clips, at gains 0.5, 0.75, 1, 1.25 and 1.5 (both axes unmirrored: mirroring does not change
the oracle's return), run by the family's own reference roll-out (its 512 goals, so ``s = 0`` is
the oracle itself). Prints the normalized score (0 = uniformly random actions,
1 = the oracle, the family's own references) for each ``s``: the most that a policy which samples
its actions with that std can score, however well it has adapted its mean.

    PYTHONPATH=. python scripts/noise_cap.py --stds 0 0.29 0.58
"""

from __future__ import annotations

import argparse

import numpy as np

from examples.mirrored_controls import MirroredControlsEnv, MirroredControlsTask

GAINS = (0.5, 0.75, 1.0, 1.25, 1.5)


def noisy_oracle_score(env: MirroredControlsEnv, std: float, rng: np.random.Generator) -> float:
    """Mean normalized score over :data:`GAINS` of the oracle with action noise ``std``."""
    scores = []
    for gain in GAINS:
        task = MirroredControlsTask(1.0, 1.0, gain)
        reach = gain * env.max_step

        def noisy(pos: np.ndarray, goal: np.ndarray, _: object, reach: float = reach) -> np.ndarray:
            action = np.clip((goal - pos) / reach, -1, 1) + std * rng.standard_normal(pos.shape)
            return reach * np.clip(action, -1, 1)

        low, high = env.random_return(task), env.oracle_return(task)
        scores.append((env._mean_return(noisy) - low) / (high - low))
    return float(np.mean(scores))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stds", type=float, nargs="+", default=[0.0, 0.12, 0.29, 0.41, 0.58],
                   help="noise standard deviations (unit action scale)")  # fmt: skip
    args = p.parse_args()
    env = MirroredControlsEnv()
    print("| action noise std | normalized score |\n|---:|---:|")
    for std in args.stds:  # the same noise stream for each std: its score is not the list's
        print(f"| {std:.2f} | {noisy_oracle_score(env, std, np.random.default_rng(1)):.3f} |")


if __name__ == "__main__":
    main()
