"""The cost model (no simulator: its comparison with the simulator is the bench room's
cost-model sweep and tests/compiler/test_e2e.py)."""

from __future__ import annotations

import dataclasses

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
