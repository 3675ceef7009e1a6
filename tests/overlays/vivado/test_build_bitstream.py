"""``accel-run build-bitstream`` without Vivado: inputs generated, a clear message, a non-zero exit;
and the overlay files land where the runtime's board backend looks for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accel.overlays.spec import load_spec
from accel.overlays.vivado_params import BITSTREAM_DIR, BUILD_TCL, overlay_name

ACCEL_RUN = Path(sys.executable).parent / "accel-run"


def _run(*args: str, path: str = "/usr/bin:/bin") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=path)
    env.pop("VIVADO", None)
    return subprocess.run([str(ACCEL_RUN), "build-bitstream", *args], capture_output=True, text=True, env=env,
                          check=False, timeout=120)


@pytest.mark.parametrize("spec_name", ["z2_default", "kv260"])
def test_without_vivado_says_what_is_needed(tmp_path, spec_name):
    proc = _run("--spec", spec_name, "--build-dir", str(tmp_path / "b"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3
    err = proc.stderr
    assert "`vivado` is not on PATH" in err
    assert "Vivado 2022.1 or newer" in err and "board files" in err
    spec = load_spec(spec_name)
    assert spec.part in err
    assert str(tmp_path / "out" / f"{spec.name}.bit") in err and str(tmp_path / "out" / f"{spec.name}.hwh") in err
    assert str(BUILD_TCL) in err
    # the inputs were generated all the same
    assert (tmp_path / "b" / f"params_{spec.name}.tcl").is_file()
    assert (tmp_path / "b" / "include" / "accel_spec.vh").read_text() == spec.verilog_header()


def test_params_only_prints_the_command(tmp_path):
    proc = _run("--params-only", "--build-dir", str(tmp_path), "--step", "ip", "--step", "bd")
    assert proc.returncode == 0, proc.stderr
    assert "-mode batch" in proc.stdout and proc.stdout.rstrip().endswith("ip bd")


def test_vivado_is_run_in_batch_mode_on_the_params(tmp_path):
    """A fake `vivado` on PATH: the command calls it with the TCL, the params and the steps."""
    fake = tmp_path / "bin" / "vivado"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho \"$PWD|$*\" > \"$(dirname \"$0\")/called\"\nexit 7\n")
    fake.chmod(0o755)
    proc = _run("--build-dir", str(tmp_path / "b"), "--step", "bit", path=f"{fake.parent}:/usr/bin:/bin")
    assert proc.returncode == 7
    cwd, args = (fake.parent / "called").read_text().strip().split("|")
    assert cwd == str(tmp_path / "b")
    assert f"-source {BUILD_TCL} -tclargs {tmp_path / 'b' / 'params_z2_default.tcl'} bit" in args
    assert "-mode batch" in args


def test_bad_spec_is_a_clear_error():
    proc = _run("--spec", "nope")
    assert proc.returncode == 2 and "no spec 'nope'" in proc.stderr


def test_output_is_where_the_board_backend_looks():
    board = pytest.importorskip("accel.runtime.backends.board")
    for name in ("z2_default", "kv260"):
        spec = load_spec(name)
        bit = BITSTREAM_DIR / f"{overlay_name(spec)}.bit"
        assert board.default_bitfile(spec) == bit
