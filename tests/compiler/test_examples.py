"""The README's example MLIR compiles and runs correctly on the simulator (examples must not rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "matmul.mlir"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from accel.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


def test_example_compiles_and_runs_checked(tmp_path: Path) -> None:
    out = tmp_path / "mm.json"
    proc = _cli("compile", str(EXAMPLE), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(out.read_text())["functions"]) == {"layer", "axi4mlir_as"}
    proc = _cli("run", str(out), "--check", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [f["function"] for f in report["functions"]] == ["layer", "axi4mlir_as"]
    assert all(f["correct"] for f in report["functions"])
    # tensor form (C from linalg.fill 0): zero-copy; the memref form accumulates into C on the CPU
    assert report["functions"][0]["run"]["cpu_bytes_copied"] == 0
    assert report["functions"][1]["run"]["cpu_bytes_copied"] == 60 * 72 * 4
