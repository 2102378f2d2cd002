"""scripts/robust_defaults.py: scoring some families keeps the other families' rows."""

from __future__ import annotations

import json
from pathlib import Path


def test_new_rows_replace_their_own_and_keep_the_others(load_script, tmp_path: Path) -> None:
    script = load_script("robust_defaults")
    path = tmp_path / "rows.json"
    assert script.merged(path, [{"family": "a", "agent": "rl2", "defaults": "now"}]) == [
        {"family": "a", "agent": "rl2", "defaults": "now"}
    ]  # no file yet
    old = [
        {"family": "a", "agent": "rl2", "defaults": "now", "score": 1},
        {"family": "a", "agent": "rl2", "defaults": "before", "score": 2},
        {"family": "b", "agent": "rl2", "defaults": "now", "score": 3},
    ]
    path.write_text(json.dumps(old))
    new = [{"family": "a", "agent": "rl2", "defaults": "now", "score": 9}]
    assert script.merged(path, new) == [old[1], old[2], new[0]]
