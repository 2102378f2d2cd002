"""RunDir: metrics.csv on resume (truncated to the checkpoint, new columns extend the header) and
the advice when a checkpoint is missing."""

import csv
from pathlib import Path

import pytest

from metarl.runs import MetricsLog, RunDir, RunError


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_resume_drops_rows_after_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    log = MetricsLog(path)
    for i in (1, 2, 3):
        log.append({"iteration": i, "loss": 0.5 * i})
    MetricsLog(path, resume_iteration=2).append({"iteration": 3, "loss": 9.0})
    _, rows = _read(path)
    assert [(r["iteration"], r["loss"]) for r in rows] == [("1", "0.5"), ("2", "1.0"), ("3", "9.0")]


def test_a_new_column_on_resume_extends_the_header(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    MetricsLog(path).append({"iteration": 1, "loss": 0.5})  # written by an older version
    log = MetricsLog(path, resume_iteration=1)
    log.append({"iteration": 2, "loss": 0.25, "lr": 1e-3})
    log.append({"iteration": 3, "loss": 0.125, "lr": 5e-4})
    fields, rows = _read(path)
    assert fields == ["iteration", "loss", "lr"]
    assert [r["lr"] for r in rows] == ["", "0.001", "0.0005"]
    assert [r["loss"] for r in rows] == ["0.5", "0.25", "0.125"]


def test_a_fresh_log_replaces_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("iteration,old\n7,1\n")
    MetricsLog(path).append({"iteration": 1, "loss": 2.0})
    fields, rows = _read(path)
    assert fields == ["iteration", "loss"] and len(rows) == 1


def test_a_missing_checkpoint_advises_deleting_only_a_run_without_results(tmp_path: Path) -> None:
    fresh = RunDir(tmp_path / "fresh")
    fresh.path.mkdir()
    with pytest.raises(RunError, match=r"stopped before its first checkpoint.*delete"):
        fresh.load_checkpoint()
    kept = RunDir(tmp_path / "kept")
    (kept.path / "eval").mkdir(parents=True)
    (kept.path / "eval" / "adaptation.json").write_text("{}")
    with pytest.raises(RunError, match=r"keeps its results \(eval\)") as error:
        kept.load_checkpoint()
    assert "delete" not in str(error.value)
    assert (kept.path / "eval" / "adaptation.json").read_text() == "{}"
