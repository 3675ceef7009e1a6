"""The cost model (its broad comparison with the simulator is the bench room's cost-model sweep
and tests/compiler/test_e2e.py; here only a few scatter-gather programs whose descriptor traffic
shapes the timeline run on the simulator)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accel.contract import costmodel
from accel.contract.lowering import build_program
from accel.contract.schedule import Schedule, check_schedule
from accel.overlays.spec import load_spec

Z2 = load_spec("z2_default")
KV = load_spec("kv260")
SHAPES = [(1, 1, 1), (5, 3, 7), (17, 9, 33), (64, 64, 64), (37, 600, 45), (33, 100, 5000), (256, 1, 256)]


@pytest.mark.parametrize("spec", [Z2, KV], ids=["z2", "kv260"])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_candidates_are_valid_and_distinct(spec, shape) -> None:
    m, n, k = shape
    ranked = costmodel.rank(spec, m, n, k, exhaustive=True, max_packets=2000)
    assert ranked, "at least one schedule"
    keys = set()
    for r in ranked:
        check_schedule(spec, r.schedule)  # raises if invalid
        prog = build_program(spec, r.schedule)
        keys.add(costmodel.program_key(prog))
        assert r.prediction.cycles > 0
        assert r.prediction.breakdown["array_busy"] <= r.prediction.cycles
    assert len(keys) == len(ranked), "ranking holds no duplicate programs"
    objectives = [r.objective for r in ranked]
    assert objectives == sorted(objectives)
    assert costmodel.choose(spec, m, n, k).schedule == ranked[0].schedule or \
        costmodel.choose(spec, m, n, k).prediction.cycles <= ranked[0].prediction.cycles


def test_prediction_is_bounded_below_by_the_roofline() -> None:
    for m, n, k in SHAPES:
        best = costmodel.choose(Z2, m, n, k)
        roof = costmodel.roofline(Z2, m, n, k)
        assert best.prediction.cycles >= roof["compute"]
        assert best.prediction.breakdown["array_busy"] >= roof["compute"]


def test_model_terms_respond_to_the_spec() -> None:
    """More MMIO cycles or memory latency cost more; a wider array computes faster."""
    s = Schedule(64, 64, 64, 16, 64, 64)
    base = costmodel.predict(Z2, s).cycles
    slow_mmio = dataclasses.replace(Z2, mmio_cycles=Z2.mmio_cycles * 2)
    slow_mem = dataclasses.replace(Z2, latency_cycles=Z2.latency_cycles * 4)
    assert costmodel.predict(slow_mmio, s).cycles > base
    assert costmodel.predict(slow_mem, s).cycles > base
    kv, z2 = costmodel.choose(KV, 256, 256, 256), costmodel.choose(Z2, 256, 256, 256)
    assert kv.prediction.cycles < z2.prediction.cycles


def test_double_buffering_overlaps_drains() -> None:
    """N tiles of one panel: the next tile streams while the previous one drains."""
    single = costmodel.predict(Z2, Schedule(16, 1024, 64, 16, 512, 64, "A", double_buffer=False)).cycles
    double = costmodel.predict(Z2, Schedule(16, 1024, 64, 16, 512, 64, "A", double_buffer=True)).cycles
    assert double < single


def test_fixed_parameters_are_honoured() -> None:
    fixed = {"tile_k": 16, "stationarity": "C", "double_buffer": False, "order": "nm"}
    for r in costmodel.rank(Z2, 40, 40, 64, fixed=fixed):
        assert {k: getattr(r.schedule, k) for k in fixed} == fixed
    assert costmodel.rank(Z2, 4, 600, 4, fixed={"tile_n": 600}) == []


def test_board_objective_avoids_host_copies() -> None:
    """Staging looks free to the fabric but costs the CPU: the board objective charges it."""
    fab = costmodel.rank(Z2, 64, 600, 64, include_staging=True, objective="fabric")
    board = costmodel.rank(Z2, 64, 600, 64, include_staging=True, objective="board")
    assert fab[0].schedule.staging
    assert not board[0].schedule.staging


# --------------------------------------------------------------------------- scatter-gather mode
Z2_SG, KV_SG = Z2.with_dma_mode("sg"), KV.with_dma_mode("sg")


@pytest.mark.parametrize("spec", [Z2_SG, KV_SG], ids=["z2", "kv260"])
def test_sg_register_accesses_and_driver_calls_are_constant(spec) -> None:
    """A chain pair: 6 bind writes, 2 kicks, <= 3 DMASR reads and the STATUS read, whatever the shape;
    simple mode pays per transfer."""
    seen = set()
    for m, n, k in [(1, 64, 64), (64, 64, 64), (256, 256, 256), (37, 600, 45), (256, 1024, 256)]:
        sched = costmodel.choose(spec, m, n, k).schedule
        sg = costmodel.predict(spec, sched).host
        simple = costmodel.predict(spec.with_dma_mode("simple"), sched).host
        assert sg["driver_calls"] == 2 and sg["cpu_bytes_copied"] == 0
        assert simple["driver_calls"] == simple["dma_transfers"] and simple["mmio_ops"] > sg["mmio_ops"]
        seen.add(sg["mmio_ops"])
    assert seen <= {10, 12}, seen  # 12 unless MM2S is already idle when the wait starts


def test_sg_chains_have_no_host_gaps() -> None:
    """No host work between packets: a many-packet program runs faster than in simple mode, and the
    descriptor fetches still cost: a higher memory latency costs more in SG mode too."""
    s = costmodel.choose(Z2, 256, 256, 256).schedule
    sg, simple = costmodel.predict(Z2_SG, s).cycles, costmodel.predict(Z2, s).cycles
    assert sg < simple
    slow_mem = dataclasses.replace(Z2_SG, latency_cycles=Z2.latency_cycles * 4)
    assert costmodel.predict(slow_mem, s).cycles > sg
    assert costmodel.roofline(Z2, 256, 256, 256)["compute"] < sg


def test_scatter_segments_follow_the_unpack_blocks() -> None:
    """N > nmax: each drain's block becomes one descriptor per row segment of C (EOF on the last)."""
    from accel.contract.scatter import chainable, s2mm_segments, scatters

    prog = build_program(Z2, Schedule(37, 600, 45, tile_m=16, tile_n=512, tile_k=45, stationarity="A"))
    assert chainable(prog, Z2.lanes) and all(scatters(prog, e) for e in prog.s2mm)
    covered = np.zeros((37, 600), dtype=np.int64)
    for e in prog.s2mm:
        segs = s2mm_segments(prog, e)
        assert len(segs) == e[3]["rows"] and sum(n for _b, _o, n in segs) == e[2]
        for b, off, n in segs:
            assert b == "c" and off % 4 == 0 and n % 4 == 0
            row, col = divmod(off // 4, 600)
            covered[row, col : col + n // 4] += 1
    assert (covered == 1).all()  # every element of C written exactly once
    whole = build_program(Z2, Schedule(37, 64, 45, tile_m=16, tile_n=64, tile_k=45, stationarity="A"))
    assert all(len(s2mm_segments(whole, e)) == 1 for e in whole.s2mm)  # contiguous drains: one descriptor
    staged = build_program(Z2, Schedule(20, 24, 40, tile_m=8, tile_n=8, tile_k=8, stationarity="N", staging=True))
    assert not chainable(staged, Z2.lanes)  # K partials added on the CPU
    assert any(e[3] and e[3].get("add") and not scatters(staged, e) for e in staged.s2mm)


def test_gathered_b_windows_reach_the_roofline() -> None:
    """N > nmax on z2: in simple mode whole B rows stream while the array uses one window (~2x the
    compute bound); a scatter-gather DMA gathers the window's row segments (a staged schedule whose
    packs and unpacks the descriptors do: no CPU copy), so the pick is within 1.1x of the bound."""
    from accel.contract.scatter import chainable, gathers, mm2s_segments

    for m, n, k in [(256, 1024, 256), (64, 1024, 128)]:
        bound = costmodel.roofline(Z2, m, n, k)["bound"]
        simple = costmodel.choose(Z2, m, n, k)
        sg = costmodel.choose(Z2_SG, m, n, k)
        assert simple.prediction.cycles > 1.9 * bound and sg.prediction.cycles <= 1.1 * bound
        prog = build_program(Z2, sg.schedule)
        assert sg.schedule.staging and chainable(prog, Z2.lanes) and sg.prediction.host["cpu_bytes_copied"] == 0
        b_windows = [e for e in prog.mm2s if e[3] and e[3]["src"] == "b"]
        assert b_windows and all(gathers(prog, e, Z2.lanes) for e in b_windows)
        tn = sg.schedule.tile_n  # < n: the window the array holds
        segs = mm2s_segments(prog, b_windows[1], Z2.lanes)  # the second window: columns tn..2tn-1 of each row
        assert tn < n and [o for _b, o, _n in segs[:2]] == [tn, tn + n] and {s[2] for s in segs} == {tn}
        assert len(segs) == k
    # a segment that is not a whole number of beats would split a beat between descriptors: not gathered
    odd = build_program(Z2, Schedule(20, 28, 32, tile_m=16, tile_n=16, tile_k=32, stationarity="A", staging=True))
    assert not chainable(odd, Z2.lanes)
    assert not costmodel.choose(Z2_SG, 20, 28, 32).schedule.staging


# descriptor-level SG effects, priced against the simulator: (shape, schedule, what it exercises)
SG_SIM_CASES = [
    # scattered drains (N tile < N: one S2MM descriptor per row segment of C); while a segment waits
    # for its descriptor the drain path holds the last beats and the reader frees the bank early
    ((20, 28, 32), Schedule(20, 28, 32, 8, 8, 16, "C", "mn", False), "scatter, K split"),
    ((17, 9, 33), Schedule(17, 9, 33, 9, 8, 8, "C", "nm", False), "scatter, K split, nm"),
    # gathered B windows (one MM2S descriptor per 128-byte row): each refill fetch takes the read port
    ((1, 256, 256), Schedule(1, 256, 256, 1, 128, 128, "C", "mn", True, staging=True), "gather, 16-beat rows"),
    ((256, 1, 256), Schedule(256, 1, 256, 8, 1, 64, "A", "mn", True, staging=True), "gather, K split"),
]


@pytest.mark.parametrize(("shape", "sched", "what"), SG_SIM_CASES, ids=[c[2] for c in SG_SIM_CASES])
def test_sg_descriptor_effects_match_the_simulator(accel_sim_sg, shape, sched, what) -> None:
    """Scatter-gather chains whose descriptor traffic shapes the timeline (the rows the model once
    missed by 5-10%): the prediction is within 2% of the simulated CYCLES, and the run is correct."""
    from accel.contract.scatter import chainable

    spec = accel_sim_sg.spec
    m, n, k = shape
    prog = build_program(spec, sched)
    assert chainable(prog, spec.lanes), "runs as descriptor chains (no CPU copies)"
    rng = np.random.default_rng(7)
    a = accel_sim_sg.allocate((m, k), np.int8)
    b = accel_sim_sg.allocate((k, n), np.int8)
    c = accel_sim_sg.allocate((m, n), np.int32)
    try:
        a[...] = rng.integers(-128, 128, (m, k))
        b[...] = rng.integers(-128, 128, (k, n))
        res = accel_sim_sg.run(prog, a=a, b=b, c=c)
        assert np.array_equal(c, a.astype(np.int64) @ b.astype(np.int64))
    finally:
        for buf in (a, b, c):
            buf.freebuffer()
    pred = costmodel.predict_program(spec, prog).cycles
    assert abs(pred - res.cycles) / res.cycles <= 0.02, (what, pred, res.cycles)
