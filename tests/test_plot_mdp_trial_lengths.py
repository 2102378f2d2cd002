"""scripts/plot_mdp_trial_lengths.py on the committed curves: every point found, totals right."""

from __future__ import annotations

import csv
from pathlib import Path


def test_plots_every_committed_curve_with_its_total(tmp_path: Path, load_script, capsys) -> None:
    script = load_script("plot_mdp_trial_lengths")
    totals = script.agent_totals(script.RESULTS)
    # the curves docs/BENCHMARKS.md (Table 2, note f) cites, at every n each agent was run on
    assert [sorted(v) for v in totals.values()] == [[10, 25, 50, 75, 100], [25, 50, 75, 100],
                                                   [50, 75, 100], [75, 100], [100]]  # fmt: skip
    folder = script.RESULTS / "rl2-tabular-mdp-100m-s30000" / "eval-25-episodes-seed-0"
    with (folder / "adaptation.csv").open() as f:
        means = [float(row["mean"]) for row in csv.DictReader(f)]
    assert len(means) == 25 and totals["RL², trained on 10 episodes"][25] == sum(means)
    classic = script.classic_totals(script.ROOT / "docs" / "classic_mdps.json")
    assert round(classic["PSRL"][25], 1) == 405.0 and round(classic["random"][100], 1) == 1015.3
    out = tmp_path / "plot.png"
    assert script.main(["--out", str(out)]) == 0
    assert out.stat().st_size > 0 and "n=100:  1837.0" in capsys.readouterr().out
