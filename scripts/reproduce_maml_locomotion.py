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

from metarl.config import ConfigError

FAMILIES = ("cheetah-vel", "cheetah-dir", "ant-dir")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the paired report of each family of ``--envs`` in turn."""
    p = nav.parser(None, __doc__.split("\n")[0])
    p.add_argument("--envs", default=",".join(FAMILIES),
                   help=f"comma-separated families (default {','.join(FAMILIES)})")  # fmt: skip
    args = p.parse_args(argv)
    families = args.envs.split(",")
    if args.out and len(families) > 1:
        raise ConfigError(f"--out names one JSON but --envs names {len(families)} families: "
                          "give one family in --envs, or drop --out (each family writes "
                          "docs/reproduce_maml_ENV.json)")  # fmt: skip
    for env in families:
        nav.reproduce(argparse.Namespace(**{**vars(args), "env": env}))
    return 0


if __name__ == "__main__":  # user errors (a corrupt checkpoint ...) as one line, exit 2
    raise SystemExit(nav.cli.run_main(main, None))
