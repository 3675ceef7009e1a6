"""Adversarial: command-line input a user gets wrong. One line naming the problem, exit 2, never
"internal error" (exit 3) or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from accel.cli import _register, cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "matmul.mlir"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def test_output_into_a_missing_folder(runner, tmp_path):
    pytest.importorskip("iree.compiler")
    res = runner.invoke(cli, ["compile", str(EXAMPLE), "-o", str(tmp_path / "no" / "such" / "x.json")])
    assert res.exit_code == 2, res.output
    assert "cannot access" in res.output and "does its folder exist" in res.output
    assert "internal error" not in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("command", [["run", str(EXAMPLE)], ["demo"], ["matmul", "-m", "2", "-n", "2", "-k", "2"]])
def test_negative_seed(runner, command):
    res = runner.invoke(cli, [*command, "--seed", "-1"])
    assert res.exit_code == 2 and "--seed" in res.output and "internal error" not in res.output


@pytest.mark.parametrize("command", ["demo", "matmul", "run", "bench"])
def test_every_backend_option_defaults_to_auto(runner, command):
    res = runner.invoke(cli, [command, "--help"])
    assert res.exit_code == 0
    line = next(ln for ln in res.output.splitlines() if "--backend" in ln)
    block = res.output[res.output.index(line):][:400]
    assert "default: auto" in " ".join(block.split()), block


def test_a_hand_edited_program_file_is_one_line(runner, tmp_path, accel_spec):
    import json

    from accel.contract.lowering import build_program
    from accel.contract.schedule import default_schedule

    doc = build_program(accel_spec, default_schedule(accel_spec, 8, 8, 8)).to_dict()
    doc["mm2s"][1][1] = "0"  # an offset as a string
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    res = runner.invoke(cli, ["run", str(path), "--backend", "sim"])
    assert res.exit_code == 2, res.output
    assert "mm2s[1][1] (offset)" in res.output and "internal error" not in res.output
