"""``accel-run`` commands in-process through click's runner: demo, matmul, info, the overlays
room's generated views (spec, hwh, irdl, vivado-params), registration and the recorded command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def cli():
    from accel.cli import _register
    from accel.cli import cli as group

    _register()
    return group


def test_demo_checks_every_shape(cli) -> None:
    res = CliRunner().invoke(cli, ["demo", "--backend", "sim"])
    assert res.exit_code == 0, res.output
    assert "all 8 matmuls equal numpy" in res.output
    assert "1x1x1" in res.output and "33x17x9" in res.output and "MISMATCH" not in res.output


def test_matmul_json(cli) -> None:
    res = CliRunner().invoke(cli, ["matmul", "-m", "37", "-n", "21", "-k", "19", "--backend", "sim", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["correct"] is True and out["cpu_bytes_copied"] == 0
    for key in ("cycles", "ddr_bytes", "mmio_ops", "dma_transfers", "counters"):
        assert key in out
    assert out["counters"]["MACS"] == 37 * 21 * 19


def test_matmul_mismatch_exits_1(cli, monkeypatch) -> None:
    import accel.cli.runtime_cmds as rc

    monkeypatch.setattr(rc, "_check", lambda a, b, c: False)
    res = CliRunner().invoke(cli, ["matmul", "-m", "4", "-n", "4", "-k", "4", "--backend", "sim"])
    assert res.exit_code == 1
    assert "MISMATCH" in res.output


def test_matmul_int32_bias_and_zero_points(cli) -> None:
    args = ["matmul", "-m", "17", "-n", "9", "-k", "5", "--backend", "sim", "--json", "--bias-seed", "3",
            "--a-zero-point", "4", "--b-zero-point", "-2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["correct"] is True and out["out_dtype"] == "int32"
    assert out["epilogue_host_bytes"] == 17 * 5 + 5 * 9 + 2 * 17 * 9 * 4  # rowsum(A), colsum(B), a pass over C


@pytest.mark.parametrize("extra,needle", [
    (["--out-dtype", "int8"], "scale is required"),
    (["--out-dtype", "int8", "--scale", "0.1", "--clamp", "0,300"], "clamp=(0, 300)"),
    (["--out-dtype", "uint8", "--scale", "0.1,0.2"], "scale must be one float32 or one per output column"),
    (["--out-dtype", "int8", "--scale", "-1"], "scale[0]"),
    (["--out-dtype", "int8", "--scale", "x"], "--scale must be comma-separated numbers"),
    (["--scale", "0.5"], "scale applies to int8/uint8 output only"),
    (["--clamp", "1"], "--clamp must be 2 comma-separated integers"),
    (["--bias", "1,2"], "bias must have one int32 per output column"),
    (["--bias", "1,2,3,4", "--bias-seed", "1"], "not both"),
    (["--a-dtype", "uint8", "--a-zero-point", "-1"], "a_zero_point=-1"),
    (["--out-dtype", "uint8", "--scale", "1", "--zero-point", "256"], "zero_point=256"),
])
def test_matmul_epilogue_option_errors(cli, extra, needle) -> None:
    """Bad epilogue options fail with exit 2 and a message naming them, before a backend opens."""
    res = CliRunner().invoke(cli, ["matmul", "-m", "4", "-n", "4", "-k", "4", "--backend", "sim", *extra])
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output
    assert "opening the sim backend" not in res.output


@pytest.mark.epilogue_rtl
@pytest.mark.parametrize("extra", [
    ["--out-dtype", "int8", "--scale", "0.01", "--bias-seed", "1"],
    ["--out-dtype", "uint8", "--a-dtype", "uint8", "--a-zero-point", "128", "--scale", "0.02", "--zero-point", "3",
     "--clamp", "3,255"],
    ["--out-dtype", "int8", "--b-dtype", "uint8", "--b-zero-point", "128", "--scale", ",".join(["0.01"] * 21)],
    ["--a-dtype", "uint8", "--b-dtype", "uint8", "--a-zero-point", "10", "--b-zero-point", "250"],
])
def test_matmul_epilogue_on_the_fabric(cli, extra) -> None:
    res = CliRunner().invoke(cli, ["matmul", "-m", "37", "-n", "21", "-k", "19", "--backend", "sim", "--json", *extra])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    item = 4 if out["out_dtype"] == "int32" else 1
    assert out["correct"] is True and out["counters"]["BYTES_OUT"] == 37 * 21 * item


def test_user_errors_are_one_line(cli) -> None:
    res = CliRunner().invoke(cli, ["matmul", "-m", "4", "-n", "4", "-k", "4", "--spec", "nope"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "no spec 'nope'" in res.output


def test_info(cli) -> None:
    from accel.overlays.spec import load_spec

    res = CliRunner().invoke(cli, ["info"])
    assert res.exit_code == 0, res.output
    assert "pynq " in res.output and "numpy " in res.output and "verilator " in res.output
    assert load_spec("z2_default").hash in res.output and "backend (auto): sim" in res.output


def test_every_command_is_registered(cli) -> None:
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0, res.output
    for name in ("demo", "matmul", "info", "compile", "run", "opt", "irdl", "bench", "bench-costmodel", "bench-models",
                 "sim-speed", "docs", "spec", "hwh", "estimate", "sim-build", "vivado-params", "build-bitstream"):
        assert f"  {name} " in res.output, name


def test_help_imports_no_room() -> None:
    """`accel-run --help` on a board: no compiler, bench or runtime import (each command imports its room)."""
    import subprocess
    import sys

    code = ("import sys\nfrom accel.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['accel', 'compiler'], ['accel', 'bench'], "
            "['accel', 'runtime'])))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_spec_views(cli) -> None:
    from accel.overlays.spec import load_spec

    spec = load_spec("z2_default")
    res = CliRunner().invoke(cli, ["spec"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["name"] == "z2_default" and doc["hash"] == spec.hash and doc["params"] == spec.verilog_params()
    assert CliRunner().invoke(cli, ["spec", "--verilog"]).stdout == spec.verilog_header()
    assert CliRunner().invoke(cli, ["spec", "kv260", "--c"]).stdout == load_spec("kv260").c_header()
    res = CliRunner().invoke(cli, ["spec", "nope"])
    assert res.exit_code == 2 and "no spec 'nope'" in res.output


def test_generated_files_are_current(cli) -> None:
    for args in (["hwh", "--check"], ["irdl", "--check"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, (args, res.output)


def test_vivado_params_prints_the_params_file(cli) -> None:
    from accel.overlays.spec import load_spec
    from accel.overlays.vivado_params import render_params, tcl_params

    spec = load_spec("kv260")
    res = CliRunner().invoke(cli, ["vivado-params", "kv260", "--build-dir", "b"])
    assert res.exit_code == 0, res.output
    assert res.stdout == render_params(spec, tcl_params(spec, Path("b") / "kv260", None))


def test_command_line_is_recorded(cli) -> None:
    import click

    from accel.cli import command_line

    @click.command("echo-line")
    @click.argument("words", nargs=-1)
    def echo_line(words: tuple[str, ...]) -> None:
        click.echo(command_line())

    cli.add_command(echo_line)
    try:
        res = CliRunner().invoke(cli, ["echo-line", "a b", "--", "c"])
    finally:
        cli.commands.pop("echo-line")
    assert res.stdout.strip() == "accel-run echo-line 'a b' -- c"
