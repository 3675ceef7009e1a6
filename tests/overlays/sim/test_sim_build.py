"""Build and cache of the simulation library (verilated accel_top + harness in one .so)."""

from __future__ import annotations

import json
import time

import pytest

from accel.errors import SimulatorBuildError
from accel.overlays import sim_build
from accel.overlays.sim import SimModel


def test_second_build_is_a_cache_hit(z2_spec):
    first = sim_build.build_sim(z2_spec)  # cold or warm: whatever the cache holds
    t0 = time.monotonic()
    second = sim_build.build_sim(z2_spec)
    elapsed = time.monotonic() - t0
    assert second == first and second.is_file()
    assert elapsed < 1.0, f"a cached build took {elapsed:.2f} s"
    assert second.parent.name == sim_build.build_key(z2_spec)
    info = json.loads((second.parent / "build.json").read_text())
    assert info["spec_hash"] == z2_spec.hash
    assert info["params"] == z2_spec.verilog_params()
    assert (second.parent / "build.log").is_file()


def test_cache_key_covers_params_and_sources(z2_spec, kv260_spec, tmp_path):
    assert sim_build.build_key(z2_spec) != sim_build.build_key(kv260_spec)
    assert sim_build.build_key(z2_spec) == sim_build.build_key(z2_spec)
    a = tmp_path / "a.v"
    a.write_text("module accel_top; endmodule\n")
    k1 = sim_build.build_key(z2_spec, sources=[a])
    a.write_text("module accel_top; wire x; endmodule\n")
    assert sim_build.build_key(z2_spec, sources=[a]) != k1


def test_library_matches_spec(sim, z2_spec):
    # the loaded harness was compiled from this spec's accel_spec.h and talks to the real RTL
    assert sim.library_path.parent.name == sim_build.build_key(z2_spec)
    assert sim.read32(z2_spec.accel_base + z2_spec.reg("ID").offset) == z2_spec.id_magic
    assert sim.read32(z2_spec.accel_base + z2_spec.reg("SPEC_HASH").offset) == z2_spec.hash32
    assert sim.read32(z2_spec.accel_base + z2_spec.reg("ROWS").offset) == z2_spec.rows
    assert sim.read32(z2_spec.accel_base + z2_spec.reg("LANES").offset) == z2_spec.lanes


def test_build_failure_raises_with_verilator_text(z2_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "broken.v"
    bad.write_text("module accel_top(input wire clk;\nendmodule\n")
    with pytest.raises(SimulatorBuildError) as info:
        sim_build.build_sim(z2_spec, sources=[bad])
    msg = str(info.value)
    assert "verilator failed" in msg and "%Error" in msg and "broken.v" in msg
    # nothing half-built is left in the cache, the log is kept
    root = tmp_path / "cache" / "sim"
    assert not [p for p in root.iterdir() if p.is_dir()]
    assert list(root.glob("*.build.log"))
    with pytest.raises(SimulatorBuildError):
        SimModel(z2_spec, rtl_sources=[bad])


def _fake_build(spec, srcs, tmp, log, verbose):
    """Stands in for the compiler: slow enough for the builders to overlap, counts its runs."""
    with open(tmp.parent / "builds.count", "a") as fh:
        fh.write("x")
    time.sleep(1.0)
    (tmp / sim_build.LIB_NAME).write_bytes(b"not a real library")
    return {"seconds": {}}


def _build_in_child(spec_name, src, out):
    from accel.overlays.spec import load_spec

    out.put(str(sim_build.build_sim(load_spec(spec_name), sources=[src])))


def test_concurrent_builders_build_once(tmp_path, monkeypatch):
    """pytest-xdist workers asking for the same configuration: one compiles, the others wait for it."""
    import multiprocessing as mp

    src = tmp_path / "top.v"
    src.write_text("module accel_top; endmodule\n")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sim_build, "_build", _fake_build)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=("z2_default", src, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    paths = {out.get(timeout=5) for _ in procs}
    assert len(paths) == 1
    assert (tmp_path / "cache" / "sim" / "builds.count").read_text() == "x"
