"""lit-style FileCheck tests: every ``tests/compiler/filecheck/*.mlir`` holds ``// RUN:`` lines.

Substitutions: ``%s`` (the file), ``%t`` (a per-test temp path), ``%irdl`` (the dialect's IRDL
definition), ``accel-run``/``iree-opt``/``filecheck`` (the venv's tools). ``not CMD`` succeeds
when CMD fails (as in lit); pipelines run with ``pipefail``. The checks use the ``filecheck``
Python package (a clone of LLVM FileCheck).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CASES = sorted((HERE / "filecheck").glob("*.mlir"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    p = BIN / name
    return str(p) if p.exists() else name


def run_lines(path: Path) -> list[str]:
    lines, cur = [], ""
    for raw in path.read_text().splitlines():
        m = re.match(r"\s*//\s*RUN:\s?(.*)$", raw)
        if not m:
            continue
        part = m.group(1).rstrip()
        if part.endswith("\\"):
            cur += part[:-1] + " "
            continue
        lines.append(cur + part)
        cur = ""
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_filecheck(case: Path, tmp_path: Path) -> None:
    from accel.compiler.dialect import IRDL_PATH

    cmds = run_lines(case)
    assert cmds, f"{case.name} has no RUN lines"
    subs = {
        "%s": str(case),
        "%t": str(tmp_path / "t"),
        "%irdl": str(IRDL_PATH),
    }
    tools = {"accel-run": _tool("accel-run"), "iree-opt": _tool("iree-opt"), "filecheck": _tool("filecheck")}
    env = dict(os.environ, PYTHONWARNINGS="ignore", NO_COLOR="1")
    for cmd in cmds:
        for k, v in subs.items():
            cmd = cmd.replace(k, v)
        for k, v in tools.items():
            cmd = re.sub(rf"(^|[|;&(]\s*|\bnot\s+){re.escape(k)}\b", lambda m, v=v: m.group(1) + v, cmd)
        script = "set -o pipefail\nnot() { if \"$@\"; then return 1; else return 0; fi; }\n" + cmd + "\n"
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=300,
                              cwd=tmp_path)
        assert proc.returncode == 0, (
            f"{case.name}: RUN failed (exit {proc.returncode}):\n  {cmd}\n--- stdout ---\n{proc.stdout[-4000:]}\n"
            f"--- stderr ---\n{proc.stderr[-6000:]}"
        )
