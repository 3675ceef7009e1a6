"""``accel-run sim-speed`` keeps working (a short run; the real measurement is the command itself)."""

from __future__ import annotations

import json

from click.testing import CliRunner


def test_sim_speed_short_run():
    from accel.bench.sim_speed import measure

    r = measure("z2_default", 2e5)  # checks one drained tile against numpy itself
    assert r["cycles"] > 2e5 and r["cycles_per_second"] > 0 and r["cycles_per_cpu_second"] > 0
    assert r["stream_b"] >= 2


def test_sim_speed_command_writes_a_stamped_result(tmp_path):
    from accel.bench.provenance import stamp_problems
    from accel.cli import _register, cli

    _register()
    out = tmp_path / "sim_speed.json"
    res = CliRunner().invoke(cli, ["sim-speed", "--spec", "z2_default", "--cycles", "1e5", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "M cycles/s" in res.output
    doc = json.loads(out.read_text())
    (r,) = doc["results"]
    assert r["spec"] == "z2_default" and r["cycles"] > 1e5
    assert doc["stamp"]["command"] == f"accel-run sim-speed --spec z2_default --cycles 1e5 --json {out}"
    assert stamp_problems(doc, out) == []
