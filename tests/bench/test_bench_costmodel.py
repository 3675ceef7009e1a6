"""``accel-run bench-costmodel`` end to end (slow: simulates dozens of schedules; `pytest -m slow`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ACCEL_RUN = Path(sys.executable).parent / "accel-run"


@pytest.mark.slow
def test_bench_costmodel_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([str(ACCEL_RUN), "bench-costmodel", "--quick", "--schedules", "6", "--json", str(out), "-q"],
                          capture_output=True, text=True, timeout=3000, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    s = doc["summary"]
    assert s["mismatches"] == 0 and s["within_10pct"] == 1.0 and s["pick_accuracy"] >= 0.9
    assert "| **all** |" in proc.stdout


def test_bench_costmodel_rejects_a_bad_shape() -> None:
    from click.testing import CliRunner

    from accel.cli import _register, cli

    _register()
    res = CliRunner().invoke(cli, ["bench-costmodel", "--shape", "4x4"])
    assert res.exit_code == 2 and "MxNxK" in res.output and "Traceback" not in res.output
