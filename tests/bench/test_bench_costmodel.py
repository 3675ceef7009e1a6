"""scripts/bench_costmodel end to end (slow: simulates dozens of schedules; `pytest -m slow`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_costmodel"


@pytest.mark.slow
def test_bench_costmodel_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--schedules", "6", "--json", str(out), "-q"],
                          capture_output=True, text=True, timeout=3000, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    s = doc["summary"]
    assert s["mismatches"] == 0 and s["within_10pct"] == 1.0 and s["pick_accuracy"] >= 0.9
    assert "| **all** |" in proc.stdout
