"""Scatter-gather mode end to end: descriptor chains, constant register accesses, SG faults.

``accel_sim_sg`` runs the z2 configuration with a scatter-gather DMA (``spec.with_dma_mode("sg")``);
``accel_sim_simple`` is the configuration's default simple-mode DMA, for side-by-side checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from accel.contract.schedule import Schedule
from accel.errors import DMAError, InputError, LayoutError, ProgramError
from accel.runtime.sgdma import AccelDMA, SGChannel


def _operands(acc, rng, m, k, n):
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=a.shape, dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=b.shape, dtype=np.int8)
    return a, b


def _ref(a, b):
    return np.asarray(a).astype(np.int32) @ np.asarray(b).astype(np.int32)


def test_sg_driver_is_bound_from_the_hwh(accel_sim_sg, accel_sim_simple) -> None:
    assert isinstance(accel_sim_sg.dma, AccelDMA) and accel_sim_sg.dma.sg and accel_sim_sg.executor.sg
    assert isinstance(accel_sim_sg.dma.sendchannel, SGChannel) and isinstance(accel_sim_sg.dma.recvchannel, SGChannel)
    assert not accel_sim_simple.dma.sg and not accel_sim_simple.executor.sg
    # the DMA mode is a block-design choice: same accelerator, same programs, same spec hash
    assert accel_sim_sg.spec.hash == accel_sim_simple.spec.hash
    sgincld = accel_sim_sg.spec.dma.dmasr("SGINCLD")
    assert accel_sim_sg.dma.read(accel_sim_sg.spec.dma.offset("mm2s", "DMASR")) & sgincld
    assert not accel_sim_simple.dma.read(accel_sim_sg.spec.dma.offset("mm2s", "DMASR")) & sgincld


@pytest.fixture
def cycles_only(accel_sim_sg):
    """The SG accelerator with the default counter readout (SNAPSHOT + CYCLES LO/HI) for one test
    (the session fixture reads every counter, which the other tests check)."""
    accel_sim_sg.counters = "cycles"
    yield accel_sim_sg
    accel_sim_sg.counters = "all"


def test_register_accesses_do_not_grow_with_the_program(cycles_only, rng) -> None:
    """One chain pair per run: the same register accesses, at most 16 in all (program + counter
    readout), for 1x64x64, 64^3, 256^3 and three programs run back to back."""
    acc = cycles_only
    seen = set()
    calls = []
    for m, k, n in ((1, 64, 64), (64, 64, 64), (256, 256, 256), (7, 33, 5), (256, 256, 1024)):
        a, b = _operands(acc, rng, m, k, n)
        out = acc.allocate((m, n), np.int32)
        acc.matmul(a, b, out=out)
        r = acc.last
        np.testing.assert_array_equal(out, _ref(a, b))
        assert r.dma_mode == "sg" and r.driver_calls == 2 and r.chains == 1  # one TAILDESC kick per channel
        # one descriptor per packet; N > nmax: C's windows scattered, one descriptor per row segment
        assert r.descriptors == r.dma_transfers if n <= acc.spec.nmax else r.descriptors > r.dma_transfers
        assert set(r.counters) == {"CYCLES"} and r.cycles > 0 and r.cpu_bytes_copied == 0
        assert r.mmio_ops <= 16 and r.mmio_ops == r.run_mmio_ops + 3  # SNAPSHOT + CYCLES LO/HI
        seen.add(r.mmio_ops)
        calls.append((acc.program_for(m, n, k), {"a": a, "b": b, "c": out}))
    r = acc.run_many(calls[1:])
    assert r.programs == len(calls) - 1 and r.chains == 1 and r.driver_calls == 2
    seen.add(r.mmio_ops)
    assert seen == {16}, seen


def test_counter_readout_is_opt_in(accel_sim_any, rng) -> None:
    """counters="all" reads every counter; the default reads CYCLES only, with the same cycle count."""
    acc = accel_sim_any
    a, b = _operands(acc, rng, 20, 24, 28)
    acc.matmul(a, b)
    full = acc.last
    acc.counters = "cycles"
    try:
        acc.matmul(a, b)
        short = acc.last
    finally:
        acc.counters = "all"
    assert set(full.counters) == set(acc.spec.counters) and set(short.counters) == {"CYCLES"}
    assert full.cycles == short.cycles and full.counters["MACS"] == 20 * 24 * 28
    assert full.mmio_ops - short.mmio_ops == 2 * (len(acc.spec.counters) - 1)
    with pytest.raises(InputError, match="counters"):
        acc.counters = "some"


RUN_MANY = [(5, 3, 7), (64, 64, 64), (37, 45, 100), (1, 1, 1)]  # (M, K, N): edges, size 1, whole tiles


def test_run_many_is_one_chain_pair(accel_sim_any, rng) -> None:
    """Several programs back to back: right results, one counter readout; in SG mode one kick
    pair and one wait (the register accesses of a single run), fewer cycles than one by one."""
    acc = accel_sim_any
    calls, refs = [], []
    for m, k, n in RUN_MANY:
        a, b = _operands(acc, rng, m, k, n)
        c = acc.allocate((m, n), np.int32)
        c[:] = -1
        calls.append((acc.program_for(m, n, k), {"a": a, "b": b, "c": c}))
        refs.append((c, _ref(a, b)))
    r = acc.run_many(calls)
    for c, ref in refs:
        np.testing.assert_array_equal(c, ref)
    assert acc.last is r and r.programs == len(RUN_MANY)
    assert r.counters["MACS"] == sum(m * n * k for m, k, n in RUN_MANY)
    assert r.dma_transfers == sum(p.transfers for p, _ in calls)
    singles = [acc.run(p, **ops) for p, ops in calls]
    if r.dma_mode == "sg":
        assert r.chains == 1 and r.driver_calls == 2 and r.descriptors == r.dma_transfers
        assert r.run_mmio_ops == singles[0].run_mmio_ops  # as many register accesses as ONE program
        assert r.cycles < sum(s.cycles for s in singles)
    else:
        assert r.chains == 0 and r.driver_calls == r.dma_transfers


def test_run_many_splits_the_chain_at_a_read_after_write(accel_sim_sg, rng) -> None:
    """A program reading what an earlier one writes starts a new chain pair once that one is done."""
    acc = accel_sim_sg
    a1, b1 = _operands(acc, rng, 4, 8, 2)  # C1 is 4x2 int32 = 4x8 bytes, read back as program 2's A
    c1 = acc.allocate((4, 2), np.int32)
    _, b2 = _operands(acc, rng, 4, 8, 3)
    c2 = acc.allocate((4, 3), np.int32)
    a2 = c1.view(np.int8).reshape(4, 8)
    c3 = acc.allocate((4, 2), np.int32)
    calls = [(acc.program_for(4, 2, 8), {"a": a1, "b": b1, "c": c1}),
             (acc.program_for(4, 3, 8), {"a": a2, "b": b2, "c": c2}),
             (acc.program_for(4, 2, 8), {"a": a1, "b": b1, "c": c3})]  # independent of 2: same chain
    r = acc.run_many(calls)
    np.testing.assert_array_equal(c1, _ref(a1, b1))
    np.testing.assert_array_equal(c2, _ref(np.asarray(c1).view(np.int8).reshape(4, 8), b2))
    np.testing.assert_array_equal(c3, c1)
    assert r.chains == 2 and r.driver_calls == 4


def test_run_many_refusals(accel_sim_sg, rng) -> None:
    acc = accel_sim_sg
    a, b = _operands(acc, rng, 20, 40, 24)
    c = acc.allocate((20, 24), np.int32)
    staged = acc.program_for(20, 24, 40, Schedule(20, 24, 40, tile_m=8, tile_n=8, tile_k=8, stationarity="N",
                                                   staging=True))
    with pytest.raises(ProgramError, match="pack/unpack"):
        acc.run_many([(staged, {"a": a, "b": b, "c": c})])
    plain = acc.program_for(20, 24, 40)
    with pytest.raises(LayoutError, match="CMA"):
        acc.run_many([(plain, {"a": np.asarray(a).copy(), "b": b, "c": c})])
    with pytest.raises(ProgramError, match="missing"):
        acc.run_many([(plain, {"a": a, "b": b})])
    with pytest.raises(ProgramError, match="at least one"):
        acc.run_many([])
    acc.run_many([(plain, {"a": a, "b": b, "c": c})])  # still works after the refusals
    np.testing.assert_array_equal(c, _ref(a, b))


COSTMODEL_SHAPES = [(1, 64, 64), (5, 7, 3), (64, 64, 64), (96, 128, 72), (256, 256, 256), (20, 40, 24)]


@pytest.mark.parametrize("shape", COSTMODEL_SHAPES, ids=["x".join(map(str, s)) for s in COSTMODEL_SHAPES])
def test_cost_model_prices_sg_runs(accel_sim_sg, rng, shape) -> None:
    """The cost model's scatter-gather branch: within 2% of the simulated cycles, the predicted
    register accesses those of the run (without the CLEAR_COUNTERS write)."""
    from accel.contract.costmodel import predict_program

    m, k, n = shape
    a, b = _operands(accel_sim_sg, rng, m, k, n)
    staged = shape == (20, 40, 24)
    sched = Schedule(m, n, k, tile_m=8, tile_n=8, tile_k=8, stationarity="N", staging=True) if staged else None
    prog = accel_sim_sg.program_for(m, n, k, sched)
    c = accel_sim_sg.allocate((m, n), np.int32)
    accel_sim_sg.run(prog, a=a, b=b, c=c)
    r = accel_sim_sg.run(prog, a=a, b=b, c=c)  # steady state: chains cached and bound
    np.testing.assert_array_equal(c, _ref(a, b))
    pred = predict_program(accel_sim_sg.spec, prog)
    assert abs(pred.cycles - r.cycles) <= 0.02 * r.cycles, (pred.cycles, r.cycles)
    assert pred.host["mmio_ops"] == r.run_mmio_ops - 1


def test_sg_is_faster_than_simple_mode_and_agrees(accel_sim_sg, accel_sim_simple, rng) -> None:
    """Same results; fewer cycles (no host gaps between packets) and far fewer register accesses."""
    out = {}
    for name, acc in (("sg", accel_sim_sg), ("simple", accel_sim_simple)):
        a, b = _operands(acc, np.random.default_rng(7), 96, 128, 72)
        c = acc.matmul(a, b)
        np.testing.assert_array_equal(c, _ref(a, b))
        out[name] = acc.last
    assert out["sg"].cycles < out["simple"].cycles
    assert out["sg"].mmio_ops < out["simple"].mmio_ops
    assert out["sg"].dma_transfers == out["simple"].dma_transfers
    assert out["simple"].driver_calls == out["simple"].dma_transfers


def test_staged_program_runs_per_transfer_in_sg_mode(accel_sim_sg, rng) -> None:
    """Programs that pack/unpack between transfers run one descriptor per kick."""
    a, b = _operands(accel_sim_sg, rng, 20, 40, 24)
    sched = Schedule(20, 24, 40, tile_m=8, tile_n=8, tile_k=8, stationarity="N", staging=True)
    c = accel_sim_sg.matmul(a, b, schedule=sched)
    np.testing.assert_array_equal(c, _ref(a, b))
    r = accel_sim_sg.last
    assert r.driver_calls == r.dma_transfers and r.cpu_bytes_copied > 0


SG_FAULTS = [
    ("sg_fetch_error", "mm2s", "SGSlvErr"),
    ("sg_fetch_error", "s2mm", "SGSlvErr"),
    ("sg_bad_pointer", "mm2s", "SGDecErr"),
    ("sg_bad_pointer", "s2mm", "SGDecErr"),
    ("sg_reused", "mm2s", "SGIntErr"),
    ("sg_reused", "s2mm", "SGIntErr"),
    ("dma_slverr", "mm2s", "DMASlvErr"),
    ("dma_decerr", "s2mm", "DMADecErr"),
]


@pytest.mark.parametrize(("fault", "channel", "text"), SG_FAULTS, ids=[f"{f}-{c}" for f, c, _ in SG_FAULTS])
def test_sg_fault_is_typed_then_recovered(accel_sim_sg, rng, fault, channel, text) -> None:
    a, b = _operands(accel_sim_sg, rng, 40, 24, 24)
    accel_sim_sg.sim.inject(fault, channel)
    with pytest.raises(DMAError, match=f"{channel.upper()}.*{text}"):
        accel_sim_sg.matmul(a, b)
    np.testing.assert_array_equal(accel_sim_sg.matmul(a, b), _ref(a, b))  # recovered


def test_completed_descriptor_reused_is_sgintErr(accel_sim_sg, rng) -> None:
    """A descriptor left with Cmplt set (not re-armed) is refused by the DMA itself (SGIntErr)."""
    a, b = _operands(accel_sim_sg, rng, 16, 16, 16)
    out = accel_sim_sg.allocate((16, 16), np.int32)
    accel_sim_sg.matmul(a, b, out=out)
    ex = accel_sim_sg.executor
    (_mm2s, s2mm), = [pair for pair in ex._chains.values() if pair[1].nbytes.sum() == out.nbytes]
    orig = s2mm.rearm
    s2mm.rearm = lambda: 0  # the chain runs again with every STATUS still Cmplt
    try:
        with pytest.raises(DMAError, match="SGIntErr"):
            accel_sim_sg.matmul(a, b, out=out)
    finally:
        s2mm.rearm = orig
    accel_sim_sg.matmul(a, b, out=out)
    np.testing.assert_array_equal(out, _ref(a, b))


WIDE = [(37, 45, 600), (3, 5, 530), (20, 70, 1100)]  # (M, K, N), N > nmax = 512


@pytest.mark.parametrize("shape", WIDE, ids=["x".join(map(str, s)) for s in WIDE])
def test_wide_outputs_are_scattered_by_the_dma(accel_sim_sg, accel_sim_simple, rng, shape) -> None:
    """N > nmax: simple mode drains C's windows into a staging buffer the CPU unpacks; in SG mode the
    S2MM descriptors write each row segment straight into C: one chain pair, nothing copied."""
    from accel.contract.costmodel import predict_program

    m, k, n = shape
    out = {}
    for name, acc in (("sg", accel_sim_sg), ("simple", accel_sim_simple)):
        a, b = _operands(acc, np.random.default_rng(m), m, k, n)
        c = acc.allocate((m, n), np.int32)
        c[:] = 0x5A5A5A5A
        prog = acc.program_for(m, n, k, Schedule(m, n, k, tile_m=16, tile_n=512, tile_k=k, stationarity="A"))
        r = acc.run(prog, a=a, b=b, c=c)
        np.testing.assert_array_equal(c, _ref(a, b))
        out[name] = (r, predict_program(acc.spec, prog))
    (sg, sg_pred), (simple, _) = out["sg"], out["simple"]
    assert simple.cpu_bytes_copied > 0 and sg.cpu_bytes_copied == 0
    assert sg.chains == 1 and sg.driver_calls == 2
    assert sg.descriptors == len(prog.mm2s) + sum(e[3]["rows"] for e in prog.s2mm)  # one per row segment
    assert abs(sg_pred.cycles - sg.cycles) <= 0.02 * sg.cycles, (sg_pred.cycles, sg.cycles)


@pytest.mark.slow
def test_1024_cubed_is_one_chain_pair(cycles_only, rng) -> None:
    """The issue's largest shape: N = 2 x nmax on z2, still 16 register accesses and no CPU copy."""
    acc = cycles_only
    a, b = _operands(acc, rng, 1024, 1024, 1024)
    c = acc.matmul(a, b)
    np.testing.assert_array_equal(c, _ref(a, b))
    r = acc.last
    assert r.mmio_ops == 16 and r.chains == 1 and r.cpu_bytes_copied == 0
    assert r.cycles <= 1.1 * 64 * 128 * 1024  # the compute bound: ceil(M/rows) x ceil(N/lanes) x K


def test_gathered_b_windows_run_at_the_roofline(accel_sim_sg, accel_sim_simple, rng) -> None:
    """N > nmax: the SG pick gathers each B window's row segments and scatters C's (no CPU copy),
    within 1.1x of the compute bound (simple mode streams whole B rows: ~2x), as the model predicts."""
    from accel.contract.costmodel import predict_program, roofline

    m, k, n = 256, 256, 1024
    bound = roofline(accel_sim_sg.spec, m, n, k)["bound"]
    runs = {}
    for name, acc in (("sg", accel_sim_sg), ("simple", accel_sim_simple)):
        a, b = _operands(acc, np.random.default_rng(3), m, k, n)
        c = acc.matmul(a, b)
        np.testing.assert_array_equal(c, _ref(a, b))
        runs[name] = acc.last
    sg, simple = runs["sg"], runs["simple"]
    assert sg.cycles <= 1.1 * bound < 1.9 * bound < simple.cycles
    assert sg.chains == 1 and sg.cpu_bytes_copied == 0 and sg.descriptors > k  # a descriptor per B row segment
    prog = accel_sim_sg.program_for(m, n, k)
    assert prog.schedule["staging"]  # the packs the DMA gathers
    assert abs(predict_program(accel_sim_sg.spec, prog).cycles - sg.cycles) <= 0.02 * sg.cycles


GATHERS = [(64, 64, 64, 16), (20, 32, 28, 16), (37, 45, 600, 45)]  # (M, K, N, tile_k): small row segments too


@pytest.mark.parametrize("case", GATHERS, ids=["x".join(map(str, c)) for c in GATHERS])
def test_cost_model_prices_gathers(accel_sim_sg, case) -> None:
    """Staged schedules whose packs the MM2S descriptors gather (one per row segment, down to two beats):
    no CPU copy, one chain pair, the prediction within 2% of the simulated cycles."""
    from accel.contract.costmodel import predict_program
    from accel.contract.scatter import chainable

    m, k, n, tk = case
    a, b = _operands(accel_sim_sg, np.random.default_rng(k), m, k, n)
    tn = min(n, 304)
    sched = Schedule(m, n, k, tile_m=16, tile_n=tn, tile_k=tk, stationarity="A" if tk == k else "C",
                     double_buffer=True, staging=True)
    prog = accel_sim_sg.program_for(m, n, k, sched)
    assert chainable(prog, accel_sim_sg.spec.lanes)
    c = accel_sim_sg.allocate((m, n), np.int32)
    r = accel_sim_sg.run(prog, a=a, b=b, c=c)
    np.testing.assert_array_equal(c, _ref(a, b))
    assert r.cpu_bytes_copied == 0 and r.chains == 1 and r.descriptors > r.dma_transfers
    pred = predict_program(accel_sim_sg.spec, prog)
    assert abs(pred.cycles - r.cycles) <= 0.02 * r.cycles, (pred.cycles, r.cycles)
