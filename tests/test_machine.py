"""metarl.machine names the CPU from /proc/cpuinfo's model name and falls back to platform."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from metarl import machine


def test_cpu_name_is_the_model_name_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                    "model name\t: AMD EPYC 7B13\nmodel name\t: AMD EPYC 7B13\n")  # fmt: skip
    assert machine.cpu_name(info) == "AMD EPYC 7B13"


def test_cpu_name_falls_back_where_cpuinfo_names_no_model(tmp_path: Path) -> None:
    fallback = platform.processor() or platform.machine()
    assert machine.cpu_name(tmp_path / "missing") == fallback
    empty = tmp_path / "cpuinfo"
    empty.write_text("processor\t: 0\nmodel name\t:\n")
    assert machine.cpu_name(empty) == fallback


def test_describe_is_a_json_record_naming_the_cpu() -> None:
    record = json.loads(json.dumps(machine.describe()))
    assert record["cpu"] == machine.cpu_name() and record["cpu"]
    assert record["cpus"] >= 1 and record["torch"] and len(record["date"]) == 10
