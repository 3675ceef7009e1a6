"""Helpers of the board-flow tests: tclsh runs of the params file and of build_overlay.tcl
under the recording Vivado mock (``vivado_mock.tcl``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MOCK_TCL = HERE / "vivado_mock.tcl"

TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh is not installed (apt-get install tcl)")

# Which params are TCL dicts / lists (everything else is a scalar).
DICT_PARAMS = {"PS_PINS", "PS_CONFIG", "ACCEL_PARAMS", "DMA_CONFIG"}
LIST_PARAMS = {"RTL_SOURCES", "PARAM_NAMES", "ACCEL_REGISTERS", "ACCEL_REGISTER_FIELDS"}

_DUMP = r"""
source [lindex $argv 0]
foreach name [concat $PARAM_NAMES PARAM_NAMES] {{
    set v [set $name]
    if {{$name in {{{}}}}} {{
        dict for {{k x}} $v {{ puts "dict\t$name\t$k\t$x" }}
    }} elseif {{$name in {{{}}}}} {{
        foreach x $v {{ puts "list\t$name\t$x" }}
    }} else {{
        puts "scalar\t$name\t$v"
    }}
}}
""".format(" ".join(sorted(DICT_PARAMS)), " ".join(sorted(LIST_PARAMS)))


def source_params(path: Path) -> dict[str, object]:
    """The variables a params file sets, as tclsh sees them (dicts, lists and strings)."""
    proc = subprocess.run([TCLSH], input=_DUMP.replace("[lindex $argv 0]", f"{{{path}}}"), capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = {}
    for line in proc.stdout.splitlines():
        kind, name, *rest = line.split("\t")
        if kind == "dict":
            out.setdefault(name, {})[rest[0]] = rest[1]  # type: ignore[index]
        elif kind == "list":
            out.setdefault(name, []).append(rest[0])  # type: ignore[union-attr]
        else:
            out[name] = rest[0]
    for name in DICT_PARAMS:
        out.setdefault(name, {})
    return out


def rtl_param_names(path: Path) -> list[str]:
    """Parameter names of the module header of a Verilog file (``parameter [..] NAME =``)."""
    text = path.read_text()
    header = text[: text.find(");")] if ");" in text else text
    return re.findall(r"\bparameter\s+(?:\[[^\]]*\]\s*)?(?:integer\s+)?(\w+)\s*=", header)


@dataclass
class MockRun:
    returncode: int
    stdout: str
    stderr: str
    records: list[list[str]] = field(default_factory=list)

    def get(self, kind: str) -> list[list[str]]:
        return [r[1:] for r in self.records if r[0] == kind]

    def props(self, obj: str) -> dict[str, str]:
        return {r[1]: r[2] for r in self.get("prop") if r[0] == obj}


def run_mock(build_tcl: Path, params: Path, log: Path, *steps: str, rtl_params: list[str] | None = None,
             env: dict[str, str] | None = None) -> MockRun:
    """Run build_overlay.tcl under tclsh with the Vivado mock; return its records."""
    e = dict(os.environ if env is None else env)
    if rtl_params is not None:
        e["MOCK_RTL_PARAMS"] = " ".join(rtl_params)
    proc = subprocess.run([TCLSH, str(MOCK_TCL), str(build_tcl), str(log), str(params), *steps],
                          capture_output=True, text=True, env=e, check=False, timeout=120)
    records = [line.split("\t") for line in log.read_text().splitlines()] if log.is_file() else []
    return MockRun(proc.returncode, proc.stdout, proc.stderr, records)
