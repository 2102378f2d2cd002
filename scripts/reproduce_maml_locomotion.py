"""MAML on cheetah-vel, cheetah-dir and ant-dir, the MAML paper's Figure 5, paired with pretrained.

The same machinery as ``scripts/reproduce_maml_nav.py`` (train or resume both agents, report the
returns after 0..3 steps, the paired MAML − pretrained difference and the paper's values) for each
locomotion family in turn. Criteria (the issue): MAML's curve rises from step 0 to step 1 and
beats pretrained after one step (paired interval above 0) on cheetah-vel and cheetah-dir; ant-dir
is reported whatever it gets. Our physics (Gymnasium v5) and rewards differ from rllab's, so the
absolute returns do not compare with the paper's: the shapes and orderings do.

    python scripts/reproduce_maml_locomotion.py                           # the preset's budgets
    python scripts/reproduce_maml_locomotion.py --envs cheetah-vel --steps 20000000
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import reproduce_maml_nav as nav  # scripts/ is on sys.path when run as a script

FAMILIES = ("cheetah-vel", "cheetah-dir", "ant-dir")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the paired report of each family of ``--envs`` in turn."""
    p = nav.parser("cheetah-vel")
    p.add_argument("--envs", default=",".join(FAMILIES),
                   help=f"comma-separated families (default {','.join(FAMILIES)})")  # fmt: skip
    args = p.parse_args(argv)
    for env in args.envs.split(","):
        nav.reproduce(_with_env(args, env))
    return 0


def _with_env(args: argparse.Namespace, env: str) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "env": env, "out": None})


if __name__ == "__main__":  # user errors (a corrupt checkpoint ...) as one line, exit 2
    raise SystemExit(nav.cli.run_main(main, None))
