"""``accel-run demo | matmul | info`` (in-process through click's runner)."""

from __future__ import annotations

import json

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
