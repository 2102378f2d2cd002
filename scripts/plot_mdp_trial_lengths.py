"""Plot RL² agents trained on tabular-MDP trials of one length, run on trials of another.

Reads the adaptation curves that ``python -m metarl.evaluate RUN --budget N`` wrote (the
``adaptation.csv`` files committed under ``docs/results/``) and the classic algorithms' totals of
``scripts/classic_mdps.py`` (``docs/classic_mdps.json``), and draws the mean return per episode
of a trial of n episodes against n, one line per agent, beside PSRL, posterior greedy, random
and the RL² paper's Table 2 (Duan et al. 2016). Prints the totals it plots.

    python scripts/plot_mdp_trial_lengths.py --out docs/mdp_trial_lengths.png
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
TRIALS = (10, 25, 50, 75, 100)
PAPER_RL2 = {10: 156.2, 25: 445.7, 50: 936.1, 75: 1428.8, 100: 1913.7}
"""The RL² paper's Table 2 (Duan et al. 2016), total reward per trial of n episodes."""
AGENTS = {
    "RL², trained on 10 episodes": ("rl2-tabular-mdp-100m-s30000", 10, "-seed-0"),
    "RL², trained on 25 (γ 0.996)": ("rl2-mdp-n25-g0996", 25, ""),
    "RL², trained on 50": ("rl2-tabular-mdp-n50", 50, ""),
    "RL², trained on 75 (γ 0.998667)": ("rl2-mdp-n75", 75, ""),
    "RL², trained on 100 (γ 0.999)": ("rl2-mdp-n100", 100, ""),
}
"""Label: (results folder, the trial length it was trained on, the suffix of its evaluations on
the seed-0 MDPs: the preset's agent was trained with seed 30000, so ``evaluate --seed 0``)."""
CLASSIC = {"psrl": "PSRL", "greedy": "greedy (posterior)", "random": "random"}


def curve_total(folder: Path) -> float:
    """The total return per trial of an ``adaptation.csv`` (the sum of its per-episode means)."""
    with (folder / "adaptation.csv").open() as f:
        return sum(float(row["mean"]) for row in csv.DictReader(f))


def curve_folder(results: Path, run: str, trained: int, suffix: str, n: int) -> Path:
    """Where ``metarl.evaluate`` put the curve of ``run`` in trials of ``n`` episodes: the run's
    own folder at its trained length (``eval-seed-0`` on another seed's tasks), else
    ``eval-N-episodes`` with the seed suffix."""
    if n == trained:
        return results / run / (f"eval{suffix}" if suffix else "")
    return results / run / f"eval-{n}-episodes{suffix}"


def agent_totals(results: Path) -> dict[str, dict[int, float]]:
    """Per agent, the total of each trial length n that has a curve."""
    totals: dict[str, dict[int, float]] = {}
    for label, (run, trained, suffix) in AGENTS.items():
        folders = {n: curve_folder(results, run, trained, suffix, n) for n in TRIALS}
        totals[label] = {
            n: curve_total(f) for n, f in folders.items() if (f / "adaptation.csv").is_file()
        }
    return totals


def classic_totals(path: Path) -> dict[str, dict[int, float]]:
    """Per classic algorithm, its total at each n of ``docs/classic_mdps.json``."""
    results = json.loads(path.read_text())["results"]
    return {
        label: {int(n): v["mean"] for n, v in results[key]["totals"].items()}
        for key, label in CLASSIC.items()
    }


def plot(lines: dict[str, dict[int, float]], out: Path) -> None:
    """Mean return per episode against the trial's length n, one line per entry."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in lines.items():
        ns = sorted(points)
        style = "--" if label in CLASSIC.values() else ("s:" if "paper" in label else "o-")
        ax.plot(ns, [points[n] / n for n in ns], style, label=label)
    ax.set_xlabel("episodes per trial (n)")
    ax.set_ylabel("mean return per episode over the trial")
    ax.set_title("Tabular MDPs: 1000 held-out MDPs of seed 0")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Print the totals and write the plot; 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of the run folders")
    p.add_argument("--classic", type=Path, default=ROOT / "docs" / "classic_mdps.json")
    p.add_argument("--out", type=Path, default=Path("mdp_trial_lengths.png"), help="PNG to write")
    args = p.parse_args(argv)
    lines = {**agent_totals(args.results), "RL², the paper": PAPER_RL2}
    lines.update(classic_totals(args.classic))
    for label, points in lines.items():
        print(f"{label:32s}" + "".join(f"  n={n}: {v:7.1f}" for n, v in sorted(points.items())))
    plot(lines, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
